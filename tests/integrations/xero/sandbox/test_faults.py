"""Injected faults: per organisation and endpoint, by count or seeded probability."""

from __future__ import annotations

import json

import pytest

from integrations.xero.sandbox.app import SandboxApp
from integrations.xero.sandbox.faults import FaultSpec
from tests.integrations.xero.sandbox.harness import CAFE_ID, SAAS_ID, Connected, connect, refresh

API = "/api.xro/2.0"


def test_next_n_calls_get_a_5xx_then_recover(app: SandboxApp, api: Connected) -> None:
    app.faults.add(
        FaultSpec("status", organisation="cafe", endpoint="Budgets", count=2, status=503)
    )

    statuses = [api.get(f"{API}/Budgets").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_faults_are_scoped_to_organisation_and_endpoint(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("status", organisation=CAFE_ID, endpoint="Reports", count=10))

    assert api.get(f"{API}/Reports/ProfitAndLoss").status_code == 500
    assert api.get(f"{API}/Reports/ProfitAndLoss", tenant=SAAS_ID).status_code == 200
    assert api.get(f"{API}/Accounts").status_code == 200


def test_probability_faults_are_deterministic_for_a_seed() -> None:
    def run() -> list[int]:
        from tests.integrations.xero.sandbox.harness import make_app

        app = make_app()
        api = connect(app)
        app.faults.add(FaultSpec("status", probability=0.3, seed=11))
        return [api.get(f"{API}/Organisation").status_code for _ in range(40)]

    first, second = run(), run()

    assert first == second
    assert 3 < first.count(500) < 25


def test_injected_429_carries_retry_after(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("rate_limit", count=1, retry_after=7))

    response = api.get(f"{API}/Accounts")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["X-Rate-Limit-Problem"] == "minute"


def test_malformed_and_truncated_json(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("malformed_json", endpoint="Accounts", count=1))
    app.faults.add(FaultSpec("truncated_json", endpoint="Currencies", count=1))

    for path in ("Accounts", "Currencies"):
        response = api.get(f"{API}/{path}")
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.content)
        assert api.get(f"{API}/{path}").json()["Status"] == "OK"


def test_timeout_holds_the_call_then_answers_504(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("timeout", count=1, delay_ms=150))

    response = api.get(f"{API}/Organisation")

    assert response.status_code == 504
    assert response.elapsed.total_seconds() >= 0.15


def test_latency_delays_but_answers(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("latency", count=1, delay_ms=120))

    response = api.get(f"{API}/Organisation")

    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 0.12


def test_token_revoked_mid_run(app: SandboxApp, api: Connected) -> None:
    app.faults.add(FaultSpec("revoke_token", organisation="cafe", after=3))

    statuses = [api.get(f"{API}/Organisation").status_code for _ in range(5)]

    assert statuses == [200, 200, 200, 401, 401]
    assert refresh(api.client, api.tokens["refresh_token"]).json() == {"error": "invalid_grant"}


def test_fault_spec_needs_a_frequency() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        FaultSpec("status")
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultSpec("explode", count=1)
