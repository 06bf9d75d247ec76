"""Xero's identity service: authorize with consent, token, revocation and connections.

Token rules (https://developer.xero.com/faq/oauth2, xero-api-facts §5): access tokens live 30
minutes; refresh tokens rotate; the refresh token just used stays usable for a 30-minute grace
period; a refresh token that is never used expires after 60 days; anything else is
`invalid_grant`. All lifetimes run on the sandbox clock.

The grace-period choice (Xero does not document what a retry returns): refreshing the previous
token within its grace period issues a fresh token set and makes that new refresh token the
chain's only live head; the head issued by the first refresh, if it was never used, dies. So a
client that lost a refresh response can recover, and a grant always has exactly one live chain
— two workers that refresh the same token concurrently and both store their result end with one
dead token, as they would against Xero if they did not serialise refreshes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import html
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.scopes import KNOWN_SCOPES
from integrations.xero.sandbox.wsgi import (
    Request,
    Response,
    html_response,
    json_response,
    not_found,
    oauth_error,
    redirect,
    unauthorized,
)

ACCESS_TOKEN_LIFETIME = dt.timedelta(minutes=30)
REFRESH_GRACE = dt.timedelta(minutes=30)
REFRESH_UNUSED_LIFETIME = dt.timedelta(days=60)
CODE_LIFETIME = dt.timedelta(minutes=5)
DEFAULT_USER = "demo@sandbox.test"
ISSUER = "https://identity.xero.com"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    # Registered redirect URIs, matched exactly as Xero does. Empty: any URI is accepted, a
    # convenience for the demo whose host and port vary.
    redirect_uris: tuple[str, ...] = ()

    def accepts_redirect(self, uri: str) -> bool:
        return not self.redirect_uris or uri in self.redirect_uris


DEFAULT_CLIENT = OAuthClient("sandbox-client-id", "sandbox-client-secret")


@dataclass
class Connection:
    connection_id: str
    tenant_id: str
    tenant_name: str
    auth_event_id: str
    created_utc: dt.datetime
    updated_utc: dt.datetime

    def as_json(self) -> dict[str, str]:
        return {
            "id": self.connection_id,
            "authEventId": self.auth_event_id,
            "tenantId": self.tenant_id,
            "tenantType": "ORGANISATION",
            "tenantName": self.tenant_name,
            "createdDateUtc": self.created_utc.isoformat(timespec="microseconds"),
            "updatedDateUtc": self.updated_utc.isoformat(timespec="microseconds"),
        }


@dataclass
class Grant:
    grant_id: str
    client_id: str
    user: str
    scopes: frozenset[str]
    auth_event_id: str
    revoked: bool = False
    head_refresh_token: str | None = None


@dataclass
class _RefreshToken:
    grant_id: str
    issued_at: dt.datetime
    used_at: dt.datetime | None = None
    dead: bool = False


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    user: str
    scopes: frozenset[str]
    auth_event_id: str
    expires_at: dt.datetime
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


@dataclass
class IdentityService:
    clock: SandboxClock
    organisations: list[SandboxOrganisation]
    clients: dict[str, OAuthClient]
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _codes: dict[str, _AuthCode] = field(default_factory=dict)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _refresh: dict[str, _RefreshToken] = field(default_factory=dict)
    _access: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)
    # (client_id, user) -> tenant_id -> Connection: Xero keeps connections per user and app.
    _connections: dict[tuple[str, str], dict[str, Connection]] = field(default_factory=dict)

    # --- authorize -------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        params = dict(request.form()) if request.method == "POST" else dict(request.query_items)
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        # Per RFC 6749 §4.1.2.1 a bad client or redirect URI is shown, never redirected to.
        if client is None:
            return html_response(400, _error_page("unauthorized_client", "Unknown client_id."))
        if not client.accepts_redirect(redirect_uri):
            return html_response(400, _error_page("invalid_request", "Invalid redirect_uri."))
        state = params.get("state")
        if params.get("response_type") != "code":
            return redirect(
                _with_query(redirect_uri, error="unsupported_response_type", state=state)
            )
        scopes = frozenset(params.get("scope", "").split())
        if not scopes or not scopes <= KNOWN_SCOPES:
            return redirect(_with_query(redirect_uri, error="invalid_scope", state=state))
        if request.method == "GET":
            return html_response(200, self._consent_page(params, message=""))
        if params.get("decision") != "approve":
            return redirect(_with_query(redirect_uri, error="access_denied", state=state))
        tenant_ids = [value for key, value in request.form() if key == "tenant"]
        known = {org.organisation_id: org for org in self.organisations}
        if not tenant_ids or any(tid not in known for tid in tenant_ids):
            message = "Choose at least one organisation."
            return html_response(400, self._consent_page(params, message=message))
        user = params.get("user") or DEFAULT_USER
        now = self.clock.now()
        auth_event_id = str(uuid.uuid4())
        code = secrets.token_urlsafe(24)
        with self._lock:
            tenants = self._connections.setdefault((client.client_id, user), {})
            for tenant_id in tenant_ids:
                existing = tenants.get(tenant_id)
                if existing:
                    existing.auth_event_id, existing.updated_utc = auth_event_id, now
                else:
                    tenants[tenant_id] = Connection(
                        str(uuid.uuid4()), tenant_id, known[tenant_id].name, auth_event_id, now, now
                    )
            self._codes[code] = _AuthCode(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                user=user,
                scopes=scopes,
                auth_event_id=auth_event_id,
                expires_at=now + CODE_LIFETIME,
                nonce=params.get("nonce"),
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method"),
            )
        return redirect(
            _with_query(redirect_uri, code=code, scope=" ".join(sorted(scopes)), state=state)
        )

    def _consent_page(self, params: dict[str, str], *, message: str) -> str:
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(params[name])}">'
            for name in (
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
            if name in params
        )
        boxes = "".join(
            f'<li><label><input type="checkbox" name="tenant" value="{org.organisation_id}"> '
            f"{html.escape(org.name)}</label></li>"
            for org in self.organisations
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split())
        error = f'<p class="error">{html.escape(message)}</p>' if message else ""
        return (
            "<!doctype html><html><head><title>Xero sandbox: allow access</title></head><body>"
            "<h1>Xero sandbox</h1><p>The app is asking for access to:</p>"
            f"<ul>{scopes}</ul>{error}"
            # Relative, so the form still works when the sandbox is mounted under a prefix.
            '<form method="post" action="authorize">'
            f"{hidden}"
            f'<label>User <input type="email" name="user" value="{html.escape(params.get("user", DEFAULT_USER))}"></label>'
            f"<h2>Organisations</h2><ul>{boxes}</ul>"
            '<button type="submit" name="decision" value="approve">Allow access</button> '
            '<button type="submit" name="decision" value="deny">Cancel</button>'
            "</form></body></html>"
        )

    # --- token -------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = dict(request.form())
        client = self._authenticate_client(request, form)
        if client is None:
            return oauth_error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh_grant(client, form.get("refresh_token", ""))
        return oauth_error("unsupported_grant_type")

    def _authenticate_client(self, request: Request, form: dict[str, str]) -> OAuthClient | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        client = self.clients.get(client_id)
        if client is None:
            return None
        if secret and hmac.compare_digest(secret, client.client_secret):
            return client
        # PKCE public clients send no secret; the code_verifier proves them at exchange time.
        if not secret and form.get("code_verifier"):
            return client
        return None

    def _exchange_code(self, client: OAuthClient, form: dict[str, str]) -> Response:
        now = self.clock.now()
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
            if (
                code is None
                or code.client_id != client.client_id
                or code.redirect_uri != form.get("redirect_uri")
                or code.expires_at < now
                or not _pkce_ok(code, form.get("code_verifier"))
            ):
                return oauth_error("invalid_grant")
            grant = Grant(
                str(uuid.uuid4()), client.client_id, code.user, code.scopes, code.auth_event_id
            )
            self._grants[grant.grant_id] = grant
            return json_response(200, self._issue(grant, client, now, nonce=code.nonce))

    def _refresh_grant(self, client: OAuthClient, token: str) -> Response:
        now = self.clock.now()
        with self._lock:
            record = self._refresh.get(token)
            grant = self._grants.get(record.grant_id) if record else None
            if (
                record is None
                or grant is None
                or grant.revoked
                or record.dead
                or grant.client_id != client.client_id
                or now > record.issued_at + REFRESH_UNUSED_LIFETIME
            ):
                return oauth_error("invalid_grant")
            if record.used_at is not None:
                if now > record.used_at + REFRESH_GRACE:
                    return oauth_error("invalid_grant")
                # A retry within the grace period: the head issued last time dies unless used.
                head = self._refresh.get(grant.head_refresh_token or "")
                if head is not None and head.used_at is None:
                    head.dead = True
            else:
                record.used_at = now
            return json_response(200, self._issue(grant, client, now, nonce=None))

    def _issue(
        self, grant: Grant, client: OAuthClient, now: dt.datetime, *, nonce: str | None
    ) -> dict[str, object]:
        access = secrets.token_urlsafe(32)
        self._access[access] = (grant.grant_id, now + ACCESS_TOKEN_LIFETIME)
        payload: dict[str, object] = {
            "access_token": access,
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes)),
        }
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = _RefreshToken(grant.grant_id, now)
            grant.head_refresh_token = refresh
            payload["refresh_token"] = refresh
        if "openid" in grant.scopes:
            payload["id_token"] = _id_token(grant, client, now, nonce)
        return payload

    # --- revocation and grants -----------------------------------------------------------------

    def revocation(self, request: Request) -> Response:
        form = dict(request.form())
        client = self._authenticate_client(request, form)
        if client is None:
            return oauth_error("invalid_client", 401)
        with self._lock:
            record = self._refresh.get(form.get("token", ""))
            grant = self._grants.get(record.grant_id) if record else None
            if grant is not None and grant.client_id == client.client_id:
                self._revoke(grant)
        # RFC 7009 §2.2: an unknown token is not an error.
        return Response(200)

    def revoke_grant(self, grant_id: str) -> None:
        """Revoke as if the user disconnected the app: tokens die, the grant's connections go."""
        with self._lock:
            grant = self._grants.get(grant_id)
            if grant is not None:
                self._revoke(grant)

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = True
        tenants = self._connections.get((grant.client_id, grant.user), {})
        for tenant_id in [t for t, c in tenants.items() if c.auth_event_id == grant.auth_event_id]:
            del tenants[tenant_id]

    def authenticate(self, request: Request) -> Grant | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        with self._lock:
            entry = self._access.get(header[7:].strip())
            if entry is None or entry[1] < self.clock.now():
                return None
            grant = self._grants.get(entry[0])
            return grant if grant is not None and not grant.revoked else None

    def tenant_connected(self, grant: Grant, tenant_id: str) -> bool:
        with self._lock:
            return tenant_id in self._connections.get((grant.client_id, grant.user), {})

    # --- connections -----------------------------------------------------------------------------

    def connections(self, request: Request) -> Response:
        grant = self.authenticate(request)
        if grant is None:
            return unauthorized()
        auth_event_id = request.param("authEventId")
        with self._lock:
            found = [
                c.as_json()
                for c in self._connections.get((grant.client_id, grant.user), {}).values()
                if auth_event_id is None or c.auth_event_id == auth_event_id
            ]
        return json_response(200, found)

    def delete_connection(self, request: Request, connection_id: str) -> Response:
        grant = self.authenticate(request)
        if grant is None:
            return unauthorized()
        with self._lock:
            tenants = self._connections.get((grant.client_id, grant.user), {})
            for tenant_id, connection in list(tenants.items()):
                if connection.connection_id == connection_id:
                    del tenants[tenant_id]
                    return Response(204)
        return not_found()


def _pkce_ok(code: _AuthCode, verifier: str | None) -> bool:
    if code.code_challenge is None:
        return True
    if verifier is None:
        return False
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        expected = verifier
    return hmac.compare_digest(expected, code.code_challenge)


def _id_token(grant: Grant, client: OAuthClient, now: dt.datetime, nonce: str | None) -> str:
    """An OpenID id_token signed HS256 with the client secret (OIDC Core §10.1)."""
    issued = int((now - dt.datetime(1970, 1, 1)).total_seconds())
    user_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-user:{grant.user}"))
    claims = {
        "iss": ISSUER,
        "aud": client.client_id,
        "sub": user_id.replace("-", ""),
        "iat": issued,
        "exp": issued + 300,
        "auth_time": issued,
        "xero_userid": user_id,
        "email": grant.user,
        "given_name": "Sandbox",
        "family_name": "User",
        "global_session_id": grant.auth_event_id.replace("-", ""),
        **({"nonce": nonce} if nonce else {}),
    }
    segments = [
        _b64url(json.dumps(part).encode()) for part in ({"alg": "HS256", "typ": "JWT"}, claims)
    ]
    signing_input = ".".join(segments).encode("ascii")
    signature = hmac.new(client.client_secret.encode(), signing_input, hashlib.sha256).digest()
    return ".".join([*segments, _b64url(signature)])


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _with_query(uri: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def _error_page(error: str, description: str) -> str:
    return (
        "<!doctype html><html><head><title>Xero sandbox: error</title></head><body>"
        f"<h1>{html.escape(error)}</h1><p>{html.escape(description)}</p></body></html>"
    )
