"""The partner API's routes, mounted twice with the same views (see tenants/api/__init__.py):

- `/api/v1/...` (namespace `api`): the firm is the API key's firm.
- `/f/<firm_slug>/api/v1/...` (namespace `firm_api`): signed-in people; the firm is the URL's.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tenants.api.errors import api_not_found
from tenants.api.members import MemberListApi
from tenants.api.organisations import OrganisationDetailApi, OrganisationListApi

# Every endpoint, once. Add new ones here; both mounts and the schema follow.
ENDPOINTS = [
    path("organisations/", OrganisationListApi.as_view(), name="organisation_list"),
    path(
        "organisations/<uuid:organisation_public_id>/",
        OrganisationDetailApi.as_view(),
        name="organisation_detail",
    ),
    path("members/", MemberListApi.as_view(), name="member_list"),
]

# Last in each mount: an unknown API URL answers in the API's error format.
_NOT_FOUND = re_path(r"^", api_not_found)

_key_routes = [
    *ENDPOINTS,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    _NOT_FOUND,
]

urlpatterns = [
    path("api/v1/", include((_key_routes, "api"))),
    path("f/<slug:firm_slug>/api/v1/", include(([*ENDPOINTS, _NOT_FOUND], "firm_api"))),
]
