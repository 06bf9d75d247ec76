"""The base of every partner API view: firm scope, pagination and ETags in one place."""

import hashlib
import json
from contextlib import ExitStack

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.utils.cache import patch_vary_headers
from django_scopes import scope
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.api.pagination import FirmCursorPagination
from tenants.roles import Action


def weak_etag(data) -> str:
    body = json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))
    return 'W/"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def etag_matches(etag: str, if_none_match: str) -> bool:
    # RFC 9110 §13.1.2: If-None-Match uses the weak comparison.
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


class FirmAPIView(APIView):
    """One operation of the partner API, acting on one firm.

    `firm_actions` says what each HTTP method does; FirmPermission resolves the firm and checks
    it. The handler then runs inside that firm's query scope, so firm-owned querysets are
    filtered to the firm, and a lookup of another firm's id finds nothing (404).
    """

    firm_actions: dict[str, Action] = {"GET": Action.VIEW}
    # ETag on 200 GET responses, and 304 for a matching If-None-Match: for large reads.
    etag = False
    pagination_class = FirmCursorPagination
    # No OPTIONS metadata: it would describe permissions without checking them.
    metadata_class = None

    def dispatch(self, request, *args, **kwargs):
        # Present on the session mount only; FirmPermission reads it, handlers never need it.
        self.firm_slug = kwargs.pop("firm_slug", None)
        with ExitStack() as self._firm_scope:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Authentication, permission (which set request.firm) and throttling have passed.
        self._firm_scope.enter_context(scope(firm=request.firm))
        # A method the view lacks gets its 405, whatever the parameters.
        if request.method.upper() in self.allowed_methods:
            self.check_query_params(request)

    def query_param_names(self) -> set[str]:
        """The query parameters this view takes: its FilterSerializer's fields, pagination's,
        and DRF's `format` (used by the browsable API)."""
        paginator = self.pagination_class
        names = {"format", paginator.cursor_query_param, paginator.page_size_query_param}
        filters = getattr(self, "FilterSerializer", None)
        if filters is not None:
            names |= set(filters().fields)
        return names

    def check_query_params(self, request) -> None:
        # A misspelt filter must not quietly return everything: name it.
        allowed = self.query_param_names()
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            takes = ", ".join(sorted(allowed - {"format"}))
            raise serializers.ValidationError(
                {name: [f"Unknown parameter. This endpoint takes: {takes}."] for name in unknown}
            )
        # `?page_size=` is a mistake, not a request for the default: say so.
        empty = sorted(name for name, values in request.query_params.lists() if "" in values)
        if empty:
            raise serializers.ValidationError(
                {name: ["Give a value, or leave the parameter out."] for name in empty}
            )

    def paginated_response(self, queryset: QuerySet, serializer: type[serializers.Serializer]):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer(page, many=True).data)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Responses differ by key and by session: shared caches must keep them apart.
        patch_vary_headers(response, ["Authorization", "Cookie"])
        if (
            self.etag
            and request.method in ("GET", "HEAD")
            and response.status_code == status.HTTP_200_OK
            and isinstance(response, Response)
        ):
            etag = weak_etag(response.data)
            response["ETag"] = etag
            if_none_match = request.headers.get("If-None-Match")
            if if_none_match and etag_matches(etag, if_none_match):
                not_modified = Response(status=status.HTTP_304_NOT_MODIFIED)
                not_modified["ETag"] = etag
                not_modified["Vary"] = response["Vary"]
                not_modified = super().finalize_response(request, not_modified, *args, **kwargs)
                return not_modified
        return response


def api_actor(request):
    """Who a write is recorded as: the signed-in person, the member a key acts for, or, for a key
    that names nobody, the person who created it (so segregation of duties still has a person).
    The one answer for every endpoint that records who did something."""
    if request.user and request.user.is_authenticated:
        return request.user
    api_key = getattr(request, "api_key", None)
    if api_key is not None and api_key.created_by_id:
        return api_key.created_by
    raise exceptions.PermissionDenied(
        "This key names no one its changes can be recorded as (its creator has left). Create a "
        "new key.",
        code="no_member",
    )
