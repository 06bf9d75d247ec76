"""The security event log: who, when, from where, in the firm concerned; owners read and export
it; nobody edits or deletes it. Always two firms: firm B never sees firm A's events."""

import csv
import importlib
import io
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from integrations.models import XeroConnection
from tenants.models import ApiKey, SecurityEvent
from tenants.roles import Role
from tests.factories import PASSWORD, api_key_create, reauthenticated_login
from tests.sandbox import connect_firm_to_xero

Kind = SecurityEvent.Kind
# Behind one trusted proxy, the client is the last X-Forwarded-For entry; the first is forged.
BEHIND_PROXY = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7", "REMOTE_ADDR": "10.0.0.2"}


def _events(cast, kind=None) -> list[SecurityEvent]:
    events = SecurityEvent.objects.for_firm(cast.firm)
    return list(events.filter(kind=kind) if kind else events)


def _login(client, email, password=PASSWORD, **extra):
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def test_sign_ins_and_failures_are_recorded_with_the_client_address_behind_the_proxy(
    client, firm_a, firm_b, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    viewer = firm_a.member(Role.VIEWER).user
    assert _login(client, viewer.email, "not the password", **BEHIND_PROXY).status_code == 200
    assert _login(client, viewer.email, **BEHIND_PROXY).status_code == 302

    [failed] = _events(firm_a, Kind.SIGN_IN_FAILED)
    [signed_in] = _events(firm_a, Kind.SIGN_IN)
    for event in (failed, signed_in):
        assert (event.actor, event.actor_email, event.ip) == (viewer, viewer.email, "203.0.113.7")
    assert signed_in.created_at >= failed.created_at
    # Firm B's members did nothing, and firm B's log holds nothing of firm A's.
    assert _events(firm_b) == []


def test_without_a_trusted_proxy_the_forwarded_address_is_ignored(client, firm_a, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    viewer = firm_a.member(Role.VIEWER).user
    _login(client, viewer.email, **BEHIND_PROXY)
    assert [e.ip for e in _events(firm_a, Kind.SIGN_IN)] == ["10.0.0.2"]


def test_a_failed_sign_in_for_an_unknown_address_belongs_to_no_firm(client, firm_a, firm_b):
    _login(client, "nobody@example.com", "whatever it is")
    assert _events(firm_a) == [] and _events(firm_b) == []


def test_a_members_sign_in_is_in_each_of_their_firms(client, firm_a, firm_b):
    from tenants.models import Membership

    person = firm_a.member(Role.PREPARER).user
    Membership.objects.for_firm(firm_b.firm).create(firm=firm_b.firm, user=person, role=Role.VIEWER)
    _login(client, person.email)
    assert [e.actor for e in _events(firm_a, Kind.SIGN_IN)] == [person]
    assert [e.actor for e in _events(firm_b, Kind.SIGN_IN)] == [person]


def _code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


# allauth signals a new or removed second factor once its transaction commits: a transaction
# test, so the commit happens within the request, as in production.
@pytest.mark.django_db(transaction=True)
def test_two_factor_added_refused_and_removed_and_the_password_changed(client, firm_a, firm_b):
    admin = firm_a.member(Role.ADMIN).user
    reauthenticated_login(client, admin)
    secret = client.get(reverse("mfa_activate_totp")).context["form"].secret
    activated = client.post(reverse("mfa_activate_totp"), {"code": _code(secret)})
    assert activated.status_code == 302
    assert {e.detail for e in _events(firm_a, Kind.MFA_ADDED)} == {
        "authenticator app",
        "recovery codes",
    }

    client.post(reverse("account_logout"))
    _login(client, admin.email)
    client.post(reverse("mfa_authenticate"), {"code": "000000"})
    [refused] = _events(firm_a, Kind.MFA_FAILED)
    assert (refused.actor, refused.detail) == (admin, "authenticator app")

    reauthenticated_login(client, admin)
    assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    assert not Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()
    assert "authenticator app" in {e.detail for e in _events(firm_a, Kind.MFA_REMOVED)}

    new = "another long passphrase"
    client.post(
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": new, "password2": new},
    )
    assert [e.actor for e in _events(firm_a, Kind.PASSWORD_CHANGED)] == [admin]
    assert _events(firm_b) == []


def test_a_password_reset_by_email_is_recorded(client, firm_a, firm_b, mailoutbox):
    viewer = firm_a.member(Role.VIEWER).user
    client.post(reverse("account_reset_password"), {"email": viewer.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    new = "a reset passphrase here"
    client.post(form_page.redirect_chain[-1][0], {"password1": new, "password2": new})
    [reset] = _events(firm_a, Kind.PASSWORD_RESET)
    assert reset.actor == viewer
    assert _events(firm_b) == []


def test_api_keys_roles_and_removals_are_recorded_with_who_did_them(client, firm_a, firm_b):
    owner = firm_a.member(Role.OWNER)
    reauthenticated_login(client, owner.user)
    client.post(
        reverse("api_key_list", args=[firm_a.firm.slug]), {"name": "BI export", "scopes": ["read"]}
    )
    api_key = ApiKey.objects.for_firm(firm_a.firm).get(name="BI export")
    client.post(reverse("api_key_revoke", args=[firm_a.firm.slug, api_key.pk]))
    viewer = firm_a.member(Role.VIEWER)
    client.post(
        reverse("membership_change_role", args=[firm_a.firm.slug, viewer.pk]), {"role": "preparer"}
    )
    client.post(reverse("membership_remove", args=[firm_a.firm.slug, viewer.pk]))

    described = {e.kind: (e.actor, e.detail) for e in _events(firm_a)}
    key = f"BI export ({api_key.prefix}, read)"
    assert described[Kind.API_KEY_CREATED] == (owner.user, key)
    assert described[Kind.API_KEY_REVOKED] == (owner.user, key)
    assert described[Kind.MEMBER_ROLE_CHANGED] == (
        owner.user,
        f"{viewer.user.email}: Viewer to Preparer",
    )
    assert described[Kind.MEMBER_REMOVED] == (owner.user, f"{viewer.user.email} (Preparer)")
    assert {e.ip for e in _events(firm_a) if e.kind != Kind.SIGN_IN} == {"127.0.0.1"}

    # Firm B's owner cannot act on firm A's members, and nothing is recorded for it.
    reauthenticated_login(client, firm_b.member(Role.OWNER).user)
    other = firm_a.member(Role.APPROVER)
    url = reverse("membership_remove", args=[firm_b.firm.slug, other.pk])
    assert client.post(url).status_code == 404
    assert _events(firm_b) == []


def test_xero_connected_and_disconnected(client, firm_a, firm_b, xero_sandbox):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    client.post(reverse("xero_connection_disconnect", args=[firm_a.firm.slug, connection.pk]))
    owner = firm_a.member(Role.OWNER).user
    [connected] = _events(firm_a, Kind.XERO_CONNECTED)
    [disconnected] = _events(firm_a, Kind.XERO_DISCONNECTED)
    assert connected.actor == disconnected.actor == owner
    assert "Harbour Lane Café" in connected.detail
    assert disconnected.detail == connected.detail
    assert _events(firm_b) == []


def test_owners_read_and_export_their_firms_log_only(client, firm_a, firm_b):
    # A key named like a formula: the export guards it.
    api_key_create(firm=firm_a.firm, name='=HYPERLINK("http://evil")')
    api_key_create(firm=firm_b.firm, name="Firm B's own key")
    page_url = reverse("security_event_list", args=[firm_a.firm.slug])
    csv_url = reverse("security_event_list_csv", args=[firm_a.firm.slug])

    for role in (Role.ADMIN, Role.PREPARER, Role.APPROVER, Role.VIEWER):
        client.force_login(firm_a.member(role).user)
        assert client.get(page_url).status_code == 403
        assert client.get(csv_url).status_code == 403
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(page_url).status_code in (403, 404)
    assert client.get(csv_url).status_code in (403, 404)

    client.force_login(firm_a.member(Role.OWNER).user)
    page = client.get(page_url).content.decode()
    assert "API key created" in page and "HYPERLINK" in page
    assert "Firm B" not in page
    settings_page = client.get(reverse("firm_settings", args=[firm_a.firm.slug])).content.decode()
    assert page_url in settings_page

    response = client.get(csv_url)
    assert "security-events" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["When", "Event", "Who", "IP address", "Detail"]
    [created] = [row for row in rows[1:] if row[1] == "API key created"]
    assert created[2] == firm_a.member(Role.OWNER).user.email
    assert created[4].startswith("'=HYPERLINK")
    assert not any("Firm B" in cell for row in rows for cell in row)


def test_the_log_is_append_only(firm_a, admin_client):
    api_key_create(firm=firm_a.firm)
    [event] = _events(firm_a)
    recorded = event.detail
    event.detail = "rewritten"
    with pytest.raises(PermissionError, match="append-only"):
        event.save()
    with pytest.raises(PermissionError, match="append-only"):
        event.delete()

    # The database refuses an update that goes round the model too. (Test databases are made
    # from the models, --nomigrations: the migration's trigger is put in place here.)
    append_only = importlib.import_module("tenants.migrations.0005_security_event_append_only")
    with connection.schema_editor() as editor:
        append_only.create(apps, editor)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        SecurityEvent.objects.for_firm(firm_a.firm).update(detail="rewritten")

    # Staff can read it in the admin, but not add, change or delete.
    change = reverse("admin:tenants_securityevent_change", args=[event.pk])
    delete = reverse("admin:tenants_securityevent_delete", args=[event.pk])
    assert admin_client.get(reverse("admin:tenants_securityevent_changelist")).status_code == 200
    assert admin_client.post(change, {"detail": "rewritten"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:tenants_securityevent_add")).status_code == 403
    assert SecurityEvent.objects.for_firm(firm_a.firm).get().detail == recorded
