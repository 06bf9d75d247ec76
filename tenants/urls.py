from django.urls import path

from tenants import views

urlpatterns = [
    path("firms/new/", views.firm_create, name="firm_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("f/<slug:firm_slug>/mfa-required/", views.mfa_required, name="mfa_required"),
    path("f/<slug:firm_slug>/settings/", views.firm_settings, name="firm_settings"),
    path(
        "f/<slug:firm_slug>/settings/security-events/",
        views.security_event_list,
        name="security_event_list",
    ),
    path(
        "f/<slug:firm_slug>/settings/security-events.csv",
        views.security_event_list_csv,
        name="security_event_list_csv",
    ),
    path(
        "f/<slug:firm_slug>/clients/new/",
        views.client_organisation_create,
        name="client_organisation_create",
    ),
    path("f/<slug:firm_slug>/members/", views.member_list, name="member_list"),
    path("f/<slug:firm_slug>/members.csv", views.member_list_csv, name="member_list_csv"),
    path("f/<slug:firm_slug>/members/invite/", views.invitation_create, name="invitation_create"),
    path(
        "f/<slug:firm_slug>/members/<int:membership_id>/role/",
        views.membership_change_role,
        name="membership_change_role",
    ),
    path(
        "f/<slug:firm_slug>/members/<int:membership_id>/remove/",
        views.membership_remove,
        name="membership_remove",
    ),
    path(
        "f/<slug:firm_slug>/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]

urlpatterns += [
    path("f/<slug:firm_slug>/api-keys/", views.api_key_list, name="api_key_list"),
    path("f/<slug:firm_slug>/api-keys.csv", views.api_key_list_csv, name="api_key_list_csv"),
    path(
        "f/<slug:firm_slug>/api-keys/<int:api_key_id>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
]
