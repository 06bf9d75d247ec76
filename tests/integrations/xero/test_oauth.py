"""Connect Xero end to end against the sandbox, through the product's own views and client."""

import datetime as dt
import threading
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.conf import settings
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from integrations.models import XeroConnection, XeroTenant
from integrations.xero import oauth
from integrations.xero.errors import XeroAuthError
from integrations.xero.http import use_transport
from tenants.models import ClientOrganisation
from tests.sandbox import SANDBOX_ADMIN, connect_firm_to_xero, sandbox_http, xero_consent


def _tenant_ids(app, *keys):
    with sandbox_http(app) as http:
        organisations = http.get("/_sandbox/organisations", headers=SANDBOX_ADMIN).json()
    by_key = (
        {o["key"]: o["tenantId"] for o in organisations["organisations"]}
        if isinstance(organisations, dict)
        else {o["key"]: o["tenantId"] for o in organisations}
    )
    return [by_key[k] for k in keys]


def test_connect_links_chosen_organisations_to_clients(client, firm_a, firm_b, xero_sandbox):
    cafe, saas = _tenant_ids(xero_sandbox, "cafe", "saas")
    response = connect_firm_to_xero(client, firm_a, xero_sandbox, tenant_ids=[cafe, saas])
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    assert response.status_code == 302
    assert response.url == reverse("xero_connection_link", args=["alder", connection.pk])
    tenants = XeroTenant.objects.for_firm(firm_a.firm)
    assert {t.tenant_id for t in tenants} == {cafe, saas}
    assert not XeroTenant.objects.for_firm(firm_b.firm).exists()

    page = client.get(response.url)
    assert "Harbour Lane Café" in page.content.decode()
    # The existing client "Harbour Lane Café" is offered for the café; the SaaS gets a new client.
    form = {
        f"tenant_{t.pk}": ("__new__" if t.tenant_id == saas else str(firm_a.organisation.pk))
        for t in tenants
    }
    client.post(response.url, form)
    assert (
        XeroTenant.objects.for_firm(firm_a.firm).get(tenant_id=cafe).client_organisation
        == firm_a.organisation
    )
    linked = XeroTenant.objects.for_firm(firm_a.firm).get(tenant_id=saas).client_organisation
    assert linked.name == "Tidepool Software"
    assert ClientOrganisation.objects.for_firm(firm_a.firm).count() == 2

    dashboard = client.get(reverse("firm_dashboard", args=["alder"])).content.decode()
    assert "Connected" in dashboard


def test_tokens_are_encrypted_at_rest(client, firm_a, xero_sandbox):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM integrations_xeroconnection WHERE id = %s",
            [connection.pk],
        )
        stored_access, stored_refresh = cursor.fetchone()
    assert connection.access_token and connection.refresh_token
    assert connection.access_token not in stored_access
    assert connection.refresh_token not in stored_refresh
    assert stored_access.startswith("gAAAA")  # Fernet


def test_denied_consent_changes_nothing(client, firm_a, xero_sandbox):
    owner = firm_a.member("owner").user
    client.force_login(owner)
    start = client.post(reverse("xero_connect", args=["alder"]))
    callback = xero_consent(xero_sandbox, start["Location"], approve=False)
    assert parse_qs(urlparse(callback).query)["error"] == ["access_denied"]
    parsed = urlparse(callback)
    response = client.get(f"{parsed.path}?{parsed.query}", follow=True)
    assert "cancelled" in response.content.decode()
    assert not XeroConnection.objects.for_firm(firm_a.firm).exists()


def test_callback_from_another_users_flow_is_refused(client, firm_a, xero_sandbox):
    client.force_login(firm_a.member("owner").user)
    start = client.post(reverse("xero_connect", args=["alder"]))
    callback = xero_consent(xero_sandbox, start["Location"])
    parsed = urlparse(callback)
    client.force_login(firm_a.member("admin").user)  # a different session: no nonce
    response = client.get(f"{parsed.path}?{parsed.query}", follow=True)
    assert "another sign-in" in response.content.decode()
    assert not XeroConnection.objects.for_firm(firm_a.firm).exists()


def test_viewer_cannot_start_a_connection(client, firm_a, xero_sandbox):
    client.force_login(firm_a.member("viewer").user)
    assert client.post(reverse("xero_connect", args=["alder"])).status_code == 403


def test_tenant_removed_in_xero_shows_as_revoked(client, firm_a, xero_sandbox):
    cafe, saas = _tenant_ids(xero_sandbox, "cafe", "saas")
    connect_firm_to_xero(client, firm_a, xero_sandbox, tenant_ids=[cafe, saas])
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    removed = XeroTenant.objects.for_firm(firm_a.firm).get(tenant_id=saas)
    with sandbox_http(xero_sandbox) as http:
        answer = http.delete(
            f"/connections/{removed.xero_connection_id}",
            headers={"Authorization": f"Bearer {connection.access_token}"},
        )
    assert answer.status_code == 204

    oauth.xero_tenants_refresh(connection=connection)
    removed.refresh_from_db()
    assert removed.status == XeroTenant.Status.REMOVED
    assert removed.state == XeroConnection.Status.REVOKED
    assert XeroTenant.objects.for_firm(firm_a.firm).get(tenant_id=cafe).state == "connected"


def _expire(connection):
    connection.access_token_expires_at = timezone.now() - dt.timedelta(minutes=1)
    connection.save()


def test_invalid_grant_marks_needs_reauth_and_tells_the_firm(
    client, firm_a, xero_sandbox, mailoutbox, django_capture_on_commit_callbacks
):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    with sandbox_http(xero_sandbox) as http:
        http.post(
            "/identity/connect/revocation",
            data={"token": connection.refresh_token},
            auth=("sandbox-client-id", "sandbox-client-secret"),
        )
    _expire(connection)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(XeroAuthError):
        oauth.xero_connection_access_token(connection_id=connection.pk, firm=firm_a.firm)
    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.NEEDS_REAUTH
    assert any("sign in again" in m.subject for m in mailoutbox)
    dashboard = client.get(reverse("firm_dashboard", args=["alder"])).content.decode()
    assert "Needs re-authorisation" in dashboard


@pytest.mark.django_db(transaction=True)
def test_twenty_workers_refreshing_at_once_keep_one_token_chain(client, firm_a, xero_sandbox):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    _expire(connection)

    token_calls = []
    inner = httpx.WSGITransport(app=xero_sandbox)

    class Counting(httpx.BaseTransport):
        def handle_request(self, request):
            if request.url.path.endswith("/connect/token"):
                token_calls.append(request)
            return inner.handle_request(request)

    from integrations.xero.http import use_transport

    results, errors = [], []
    barrier = threading.Barrier(20)

    def worker():
        from django.db import connection as thread_db

        try:
            barrier.wait()
            results.append(
                oauth.xero_connection_access_token(connection_id=connection.pk, firm=firm_a.firm)
            )
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            thread_db.close()

    with use_transport(Counting()):
        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert errors == []
    assert len(token_calls) == 1  # exactly one worker spent the refresh token
    assert len(set(results)) == 1
    # The chain continues: the stored refresh token is the live one.
    connection.refresh_from_db()
    _expire(connection)
    fresh = oauth.xero_connection_access_token(connection_id=connection.pk, firm=firm_a.firm)
    assert fresh not in results


def _disconnect(client, firm_cast, connection):
    client.force_login(firm_cast.member("owner").user)
    url = reverse("xero_connection_disconnect", args=[firm_cast.firm.slug, connection.pk])
    return client.post(url, follow=True)


def test_disconnect_revokes_the_grant_at_xero_and_erases_the_tokens(
    client, firm_a, firm_b, xero_sandbox
):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    refresh_token = connection.refresh_token
    # Firm B's owner cannot disconnect firm A's connection.
    assert _disconnect(client, firm_b, connection).status_code == 404
    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.CONNECTED

    response = _disconnect(client, firm_a, connection)
    assert "Disconnected from Xero. Synced data is kept." in response.content.decode()
    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.REVOKED
    assert (connection.access_token, connection.refresh_token) == ("", "")
    # Xero no longer honours the old refresh token.
    with sandbox_http(xero_sandbox) as http:
        answer = http.post(
            "/identity/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
        )
    assert answer.status_code == 400, answer.text


def test_disconnect_when_xero_cannot_be_reached_still_disconnects_and_says_what_to_do(
    client, firm_a, firm_b, xero_sandbox
):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    connection = XeroConnection.objects.for_firm(firm_a.firm).get()

    def unreachable(request):
        raise httpx.ConnectError("Name or service not known", request=request)

    with use_transport(httpx.MockTransport(unreachable)):
        response = _disconnect(client, firm_a, connection)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Xero could not be reached to revoke access" in page
    assert "Connected Apps" in page
    connection.refresh_from_db()
    assert connection.status == XeroConnection.Status.REVOKED
    assert connection.refresh_token == ""
    assert "Xero could not be told" in connection.status_detail
