"""OAuth 2.0 as Xero runs it: consent, codes, rotating refresh tokens, revocation, scopes."""

from __future__ import annotations

import base64
import hashlib
import re

from integrations.xero.sandbox.app import SandboxApp
from tests.integrations.xero.sandbox.harness import (
    CAFE_ID,
    CLIENT,
    REDIRECT_URI,
    SAAS_ID,
    code_from,
    connect,
    consent,
    exchange,
    http,
    refresh,
)

API = "/api.xro/2.0"


def test_consent_page_lists_the_organisations_with_approve_and_deny(app: SandboxApp) -> None:
    page = http(app).get(
        "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid accounting.settings.read",
            "state": "s1",
        },
    )

    assert page.status_code == 200
    assert "Harbour Lane Café" in page.text and "Cloudline Software" in page.text
    assert f'name="tenant" value="{CAFE_ID}"' in page.text
    assert 'value="approve"' in page.text and 'value="deny"' in page.text


def test_approved_consent_redirects_with_code_and_state_and_the_code_buys_tokens(
    app: SandboxApp,
) -> None:
    client = http(app)
    query = code_from(consent(client, state="abc"))

    assert query["state"] == ["abc"]
    tokens = exchange(client, query["code"][0]).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 1800
    assert tokens["refresh_token"] and tokens["id_token"].count(".") == 2
    # A code is single-use.
    assert exchange(client, query["code"][0]).json() == {"error": "invalid_grant"}


def test_denied_consent_redirects_with_access_denied(app: SandboxApp) -> None:
    response = consent(http(app), decision="deny", state="st")

    assert code_from(response) == {"error": ["access_denied"], "state": ["st"]}


def test_unknown_redirect_uri_is_shown_not_redirected_to(app: SandboxApp) -> None:
    response = http(app).get(
        "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": "https://evil.test/cb",
            "scope": "openid",
        },
    )

    assert response.status_code == 400
    assert "location" not in response.headers


def test_wrong_client_secret_is_invalid_client(app: SandboxApp) -> None:
    client = http(app)
    code = code_from(consent(client))["code"][0]

    response = client.post(
        "/identity/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT.client_id, "wrong"),
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_the_old_token_works_only_within_the_grace_period(
    app: SandboxApp,
) -> None:
    api = connect(app)
    first = api.tokens["refresh_token"]

    second = refresh(api.client, first).json()
    assert second["refresh_token"] != first
    # Within 30 minutes the previous token can be retried: a fresh set, and the unused head dies.
    app.clock.advance(29 * 60)
    retried = refresh(api.client, first).json()
    assert retried["refresh_token"] not in (first, second["refresh_token"])
    assert refresh(api.client, second["refresh_token"]).json() == {"error": "invalid_grant"}
    # Past the grace period the old token is dead; the chain continues from the live head.
    app.clock.advance(2 * 60)
    assert refresh(api.client, first).json() == {"error": "invalid_grant"}
    assert "access_token" in refresh(api.client, retried["refresh_token"]).json()


def test_access_token_expires_after_30_minutes(app: SandboxApp) -> None:
    api = connect(app)
    assert api.get(f"{API}/Organisation").status_code == 200

    app.clock.advance(30 * 60 + 1)
    response = api.get(f"{API}/Organisation")

    assert response.status_code == 401
    assert response.json()["Detail"] == "AuthenticationUnsuccessful"
    assert response.json()["Title"] == "Unauthorized"


def test_unused_refresh_token_expires_after_60_days(app: SandboxApp) -> None:
    api = connect(app)

    app.clock.advance(60 * 86400 + 1)

    assert refresh(api.client, api.tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revocation_kills_the_refresh_token_access_and_connections(app: SandboxApp) -> None:
    api = connect(app)

    response = api.client.post(
        "/identity/connect/revocation",
        data={"token": api.tokens["refresh_token"]},
        auth=(CLIENT.client_id, CLIENT.client_secret),
    )

    assert response.status_code == 200
    assert refresh(api.client, api.tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert api.get(f"{API}/Organisation").status_code == 401


def test_request_outside_granted_scopes_is_forbidden(app: SandboxApp) -> None:
    api = connect(
        app, scope="offline_access accounting.settings.read accounting.reports.profitandloss.read"
    )

    assert api.get(f"{API}/Accounts").status_code == 200
    assert api.get(f"{API}/Reports/ProfitAndLoss").status_code == 200
    forbidden = api.get(f"{API}/Budgets")
    assert forbidden.status_code == 403
    assert forbidden.json()["Detail"] == "AuthorizationUnsuccessful"
    assert api.get(f"{API}/Reports/TrialBalance").status_code == 403
    assert api.get(f"{API}/Invoices").status_code == 403


def test_granular_transaction_scopes_open_their_endpoints_only(app: SandboxApp) -> None:
    api = connect(app, scope="accounting.invoices.read")

    assert api.get(f"{API}/Invoices").status_code == 200
    assert api.get(f"{API}/CreditNotes").status_code == 200
    assert api.get(f"{API}/BankTransactions").status_code == 403


def test_unknown_or_missing_tenant_is_forbidden(app: SandboxApp) -> None:
    api = connect(app, tenants=(CAFE_ID,))

    assert api.get(f"{API}/Organisation", tenant=SAAS_ID).status_code == 403
    assert api.get(f"{API}/Organisation", tenant="not-a-tenant").status_code == 403
    assert api.get(f"{API}/Organisation", tenant="").status_code == 403


def test_missing_token_is_unauthorised(app: SandboxApp) -> None:
    response = http(app).get(f"{API}/Organisation", headers={"xero-tenant-id": CAFE_ID})

    assert response.status_code == 401


def test_connections_list_and_delete(app: SandboxApp) -> None:
    api = connect(app)
    auth = {"Authorization": f"Bearer {api.tokens['access_token']}"}
    connections = api.client.get("/connections", headers=auth).json()

    assert {c["tenantId"] for c in connections} == {CAFE_ID, SAAS_ID}
    assert {c["tenantType"] for c in connections} == {"ORGANISATION"}
    removed = next(c for c in connections if c["tenantId"] == SAAS_ID)

    assert api.client.delete(f"/connections/{removed['id']}", headers=auth).status_code == 204
    assert [c["tenantId"] for c in api.client.get("/connections", headers=auth).json()] == [CAFE_ID]
    assert api.get(f"{API}/Organisation", tenant=SAAS_ID).status_code == 403
    assert api.client.delete(f"/connections/{removed['id']}", headers=auth).status_code == 404


def _pkce_code(app: SandboxApp, challenge: str) -> str:
    client = http(app)
    page = client.get(
        "/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    response = client.post(
        "/identity/connect/authorize", data={**hidden, "decision": "approve", "tenant": CAFE_ID}
    )
    return code_from(response)["code"][0]


def test_pkce_public_client_proves_itself_with_the_verifier(app: SandboxApp) -> None:
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    data = {
        "grant_type": "authorization_code",
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT.client_id,
    }
    client = http(app)

    wrong = client.post(
        "/identity/connect/token",
        data={**data, "code": _pkce_code(app, challenge), "code_verifier": "w" * 50},
    )
    right = client.post(
        "/identity/connect/token",
        data={**data, "code": _pkce_code(app, challenge), "code_verifier": verifier},
    )

    assert wrong.json() == {"error": "invalid_grant"}
    assert "access_token" in right.json()
