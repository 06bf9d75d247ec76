"""Xero OAuth 2.0: the connect flow, token refresh serialised per connection, revocation.

Facts (https://developer.xero.com/faq/oauth2, xero-api-facts §5): access tokens live 30 minutes;
refresh tokens rotate, the previous one stays usable for a 30-minute grace period, and an unused
one expires after 60 days. The token endpoint takes the client id and secret as HTTP Basic.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core.history import history_note
from integrations.models import XeroConnection, XeroTenant
from integrations.xero.errors import XeroAuthError, XeroHttpError
from integrations.xero.http import xero_http_client
from tenants.models import ClientOrganisation, Firm, SecurityEvent, User
from tenants.security_events import security_event_record

logger = logging.getLogger(__name__)

STATE_SALT = "integrations.xero.oauth-state"
STATE_MAX_AGE = 15 * 60


@dataclass(frozen=True)
class OAuthState:
    firm_id: int
    user_id: int
    nonce: str
    # Where the user started ("http://127.0.0.1:8000"): their session lives on that host, and
    # Xero answers at SITE_URL, the one registered callback, which may be another host.
    origin: str = ""


def xero_redirect_uri() -> str:
    return settings.SITE_URL + reverse("xero_callback")


def xero_authorize_url(*, firm: Firm, user: User, origin: str = "") -> tuple[str, str]:
    """The consent URL and the nonce to keep in the user's session against CSRF.

    The firm travels in the signed state, because Xero only redirects to registered callback
    URLs (no wildcards), so the firm cannot be in the callback's path; so does the `origin`
    the app was opened on, for the callback to send the reply back there.
    """
    nonce = secrets.token_urlsafe(16)
    state = signing.dumps({"f": firm.pk, "u": user.pk, "n": nonce, "o": origin}, salt=STATE_SALT)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.XERO_CLIENT_ID,
            "redirect_uri": xero_redirect_uri(),
            "scope": settings.XERO_SCOPES,
            "state": state,
        }
    )
    return f"{settings.XERO_AUTHORIZE_URL}?{query}", nonce


def xero_state_read(*, state: str) -> OAuthState:
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise XeroAuthError("The Xero sign-in took too long. Start Connect Xero again.") from exc
    except signing.BadSignature as exc:
        raise XeroAuthError("The reply from Xero could not be verified. Start again.") from exc
    return OAuthState(
        firm_id=data["f"], user_id=data["u"], nonce=data["n"], origin=data.get("o", "")
    )


def _token_request(data: dict[str, str]) -> dict:
    with xero_http_client() as http:
        response = http.post(
            settings.XERO_TOKEN_URL,
            data=data,
            auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
        )
    if response.status_code == 400 and _oauth_error(response) == "invalid_grant":
        raise XeroAuthError("invalid_grant")
    if response.status_code >= 400:
        raise XeroHttpError("identity/connect/token", response.status_code, response.text[:300])
    return response.json()


def _oauth_error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", ""))
    except ValueError:
        return ""


def _expiry(token: dict) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=int(token.get("expires_in", 1800)))


def _connections(access_token: str) -> list[dict]:
    with xero_http_client() as http:
        response = http.get(
            settings.XERO_CONNECTIONS_URL, headers={"Authorization": f"Bearer {access_token}"}
        )
    if response.status_code == 401:
        raise XeroAuthError("Xero refused the access token when listing connections.")
    if response.status_code >= 400:
        raise XeroHttpError("connections", response.status_code, response.text[:300])
    return [c for c in response.json() if c.get("tenantType", "ORGANISATION") == "ORGANISATION"]


@transaction.atomic
def xero_connection_create_from_code(*, firm: Firm, user: User, code: str) -> XeroConnection:
    token = _token_request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": xero_redirect_uri()}
    )
    connection = XeroConnection.objects.for_firm(firm).create(
        firm=firm,
        connected_by=user,
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token", ""),
        access_token_expires_at=_expiry(token),
        scopes=token.get("scope", ""),
    )
    history_note(connection, reason=f"Connected to Xero by {user.email}")
    tenants = xero_tenants_refresh(connection=connection)
    security_event_record(
        firm=firm,
        kind=SecurityEvent.Kind.XERO_CONNECTED,
        actor=user,
        detail=_organisations_named(tenants),
    )
    return connection


def xero_tenants_refresh(*, connection: XeroConnection) -> list[XeroTenant]:
    """Re-read /connections: new organisations are added, removed ones marked as removed."""
    rows = _connections(
        xero_connection_access_token(connection_id=connection.pk, firm=connection.firm)
    )
    firm = connection.firm
    seen = set()
    tenants = []
    for row in rows:
        seen.add(row["tenantId"])
        tenant, _created = XeroTenant.objects.for_firm(firm).update_or_create(
            firm=firm,
            tenant_id=row["tenantId"],
            defaults={
                "connection": connection,
                "tenant_name": row.get("tenantName") or row["tenantId"],
                "xero_connection_id": row.get("id", ""),
                "status": XeroTenant.Status.CONNECTED,
            },
        )
        tenants.append(tenant)
    removed = (
        XeroTenant.objects.for_firm(firm).filter(connection=connection).exclude(tenant_id__in=seen)
    )
    for tenant in removed:
        tenant.status = XeroTenant.Status.REMOVED
        history_note(tenant, reason="No longer in Xero's /connections: removed in Xero")
        tenant.save()
    return tenants


def xero_connection_access_token(*, connection_id: int, firm: Firm) -> str:
    """A valid access token, refreshing it if needed.

    The connection row is locked for the refresh, so of many workers wanting a token at once
    exactly one spends the refresh token; the others wait and then read the new pair.
    """
    with transaction.atomic():
        connection = XeroConnection.objects.for_firm(firm).select_for_update().get(pk=connection_id)
        if connection.status != XeroConnection.Status.CONNECTED:
            raise XeroAuthError(
                f"The Xero connection needs re-authorisation: {connection.status_detail or connection.get_status_display()}. "
                "Use Connect Xero on the firm dashboard."
            )
        if connection.access_token_fresh():
            return connection.access_token
        try:
            token = _token_request(
                {"grant_type": "refresh_token", "refresh_token": connection.refresh_token}
            )
        except XeroAuthError:
            # Commit the status (no raise inside this block), then tell the caller.
            _connection_needs_reauth(
                connection, "Xero no longer accepts the saved sign-in (invalid_grant)."
            )
        else:
            connection.access_token = token["access_token"]
            # Rotation: the new refresh token replaces the old one in the same transaction.
            connection.refresh_token = token.get("refresh_token", connection.refresh_token)
            connection.access_token_expires_at = _expiry(token)
            connection.refreshed_at = timezone.now()
            history_note(connection, reason="Access token refreshed")
            connection.save()
            return connection.access_token
    raise XeroAuthError(
        "Xero no longer accepts this connection's sign-in. Someone at the firm needs to use "
        "Connect Xero again; no data has been lost."
    )


def _connection_needs_reauth(connection: XeroConnection, detail: str) -> None:
    connection.status = XeroConnection.Status.NEEDS_REAUTH
    connection.status_detail = detail
    history_note(connection, reason=detail)
    connection.save()
    from integrations.xero.notifications import xero_connection_notify_reauth

    transaction.on_commit(
        lambda: xero_connection_notify_reauth(
            firm_id=connection.firm_id, connection_id=connection.pk
        )
    )


def xero_connection_mark_needs_reauth(*, connection: XeroConnection, detail: str) -> None:
    with transaction.atomic():
        _connection_needs_reauth(connection, detail)


def xero_tenant_link(
    *, tenant: XeroTenant, client_organisation: ClientOrganisation | None, create_name: str = ""
) -> ClientOrganisation:
    """Link a Xero organisation to a client organisation of the firm, or to a new one."""
    from tenants.services import client_organisation_create

    with transaction.atomic():
        if client_organisation is None:
            client_organisation = client_organisation_create(
                firm=tenant.firm, name=create_name or tenant.tenant_name
            )
        # One Xero organisation per client, and one client per Xero organisation.
        XeroTenant.objects.for_firm(tenant.firm).filter(
            client_organisation=client_organisation
        ).exclude(pk=tenant.pk).update(client_organisation=None)
        tenant.client_organisation = client_organisation
        history_note(tenant, reason=f"Linked to {client_organisation.name}")
        tenant.save()
    return client_organisation


def xero_connection_revoke(*, connection: XeroConnection) -> bool:
    """Disconnect: revoke the refresh token at Xero, and stop using it here whatever Xero says.

    The firm asked to disconnect, so a Xero that cannot be reached or refuses must not keep the
    connection alive: it is marked revoked and its tokens are erased here all the same. Returns
    whether Xero confirmed the revocation; when it did not, the grant ends when the unused
    refresh token expires, or sooner when the firm removes the app in Xero's Connected Apps."""
    try:
        with xero_http_client() as http:
            response = http.post(
                settings.XERO_REVOCATION_URL,
                data={"token": connection.refresh_token},
                auth=(settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET),
            )
        revoked = response.status_code == 200
    except httpx.HTTPError:
        logger.warning("Revoking Xero connection %s: Xero could not be reached", connection.pk)
        revoked = False
    connection.status = XeroConnection.Status.REVOKED
    connection.status_detail = (
        "Disconnected by the firm."
        if revoked
        else "Disconnected by the firm; Xero could not be told, so remove the app in Xero's "
        "Connected Apps to end its access there too."
    )
    connection.access_token = ""
    connection.refresh_token = ""
    history_note(connection, reason="Disconnected")
    connection.save()
    # The person is the request's: disconnecting is a signed-in member's click.
    security_event_record(
        firm=connection.firm,
        kind=SecurityEvent.Kind.XERO_DISCONNECTED,
        detail=_organisations_named(
            XeroTenant.objects.for_firm(connection.firm).filter(connection=connection)
        )
        + ("" if revoked else "; Xero could not be told"),
    )
    return revoked


def _organisations_named(tenants) -> str:
    names = sorted(tenant.tenant_name for tenant in tenants)
    return ", ".join(names) or "no organisations"
