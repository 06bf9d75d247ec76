"""Record exchanges to JSON Lines and replay them, as a support engineer reproduces a problem."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from integrations.xero.sandbox.replay import ExchangeWriter, RecordingApp, ReplayApp
from tests.integrations.xero.sandbox.harness import CAFE_ID, connect, http, make_app

TENANT = "11111111-1111-4111-8111-111111111111"


def _write(path: Path, *lines: dict) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_first_matching_line_answers_with_case_insensitive_query_names(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "capture.jsonl",
        {
            "method": "GET",
            "path": "/api.xro/2.0/Budgets",
            "query": {"DateFrom": "2025-01-01"},
            "tenant": TENANT,
            "status": 200,
            "headers": {"X-MinLimit-Remaining": "12"},
            "body": {"Budgets": [{"BudgetID": "a"}]},
        },
        {
            "method": "GET",
            "path": "/api.xro/2.0/Budgets",
            "query": {},
            "tenant": TENANT,
            "status": 200,
            "headers": {},
            "body": {"Budgets": []},
        },
    )
    client = http(ReplayApp(path))

    exact = client.get(
        "/api.xro/2.0/Budgets",
        params={"datefrom": "2025-01-01", "DateTo": "2025-03-31"},
        headers={"xero-tenant-id": TENANT},
    )
    other = client.get(
        "/api.xro/2.0/Budgets",
        params={"DateFrom": "2024-01-01"},
        headers={"xero-tenant-id": TENANT},
    )

    assert exact.json() == {"Budgets": [{"BudgetID": "a"}]}
    assert exact.headers["X-MinLimit-Remaining"] == "12"
    assert other.json() == {"Budgets": []}


def test_anything_else_is_a_404_in_xeros_shape(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "capture.jsonl",
        {
            "method": "GET",
            "path": "/api.xro/2.0/Accounts",
            "query": {},
            "tenant": TENANT,
            "status": 200,
            "headers": {},
            "body": {},
        },
    )
    client = http(ReplayApp(path))

    wrong_tenant = client.get("/api.xro/2.0/Accounts", headers={"xero-tenant-id": CAFE_ID})
    wrong_path = client.get("/api.xro/2.0/Invoices", headers={"xero-tenant-id": TENANT})

    assert wrong_tenant.status_code == 404 and wrong_path.status_code == 404
    assert set(wrong_path.json()) == {"ErrorNumber", "Type", "Message"}


def test_replayed_errors_and_malformed_bodies_come_back_as_recorded(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "capture.jsonl",
        {
            "method": "GET",
            "path": "/api.xro/2.0/Organisation",
            "query": {},
            "tenant": TENANT,
            "status": 429,
            "headers": {"Retry-After": "30", "X-Rate-Limit-Problem": "minute"},
            "body": None,
        },
        {
            "method": "GET",
            "path": "/api.xro/2.0/Currencies",
            "query": {},
            "tenant": TENANT,
            "status": 200,
            "headers": {"Content-Type": "application/json"},
            "body": '{"Currencies": [',
        },
    )
    client = http(ReplayApp(path))

    limited = client.get("/api.xro/2.0/Organisation", headers={"xero-tenant-id": TENANT})
    broken = client.get("/api.xro/2.0/Currencies", headers={"xero-tenant-id": TENANT})

    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"
    assert broken.text == '{"Currencies": ['


def test_identity_accepts_any_grant_and_connections_come_from_the_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "capture.jsonl",
        {
            "method": "GET",
            "path": "/api.xro/2.0/Accounts",
            "query": {},
            "tenant": TENANT,
            "status": 200,
            "headers": {},
            "body": {},
        },
    )
    client = http(ReplayApp(path))

    authorize = client.get(
        "/identity/connect/authorize",
        params={"redirect_uri": "https://app.test/cb", "state": "s", "scope": "openid"},
    )
    token = client.post(
        "/identity/connect/token", data={"grant_type": "authorization_code", "code": "anything"}
    )
    connections = client.get("/connections", headers={"Authorization": "Bearer whatever"})

    assert authorize.status_code == 302 and "state=s" in authorize.headers["location"]
    assert token.json()["expires_in"] == 1800 and token.json()["refresh_token"]
    assert [c["tenantId"] for c in connections.json()] == [TENANT]


def test_recording_then_replaying_gives_the_same_answers(tmp_path: Path) -> None:
    path = tmp_path / "recorded.jsonl"
    app = make_app()
    api = connect(RecordingApp(app, path))  # identity calls are not recorded
    budgets = api.get("/api.xro/2.0/Budgets", DateFrom="2026-01-01")
    report = api.get(
        "/api.xro/2.0/Reports/ProfitAndLoss", fromDate="2026-02-01", toDate="2026-02-28"
    )

    recorded = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["path"] for r in recorded] == [
        "/api.xro/2.0/Budgets",
        "/api.xro/2.0/Reports/ProfitAndLoss",
    ]
    assert recorded[0]["tenant"] == CAFE_ID and "access_token" not in path.read_text()
    replay = http(ReplayApp(path))
    replayed = replay.get(
        "/api.xro/2.0/Reports/ProfitAndLoss",
        params={"fromDate": "2026-02-01", "toDate": "2026-02-28"},
        headers={"xero-tenant-id": CAFE_ID},
    )
    assert replayed.json() == report.json()
    assert (
        replay.get(
            "/api.xro/2.0/Budgets",
            params={"DateFrom": "2026-01-01"},
            headers={"xero-tenant-id": CAFE_ID},
        ).json()
        == budgets.json()
    )


def test_httpx_hook_records_a_clients_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "client.jsonl"
    app = make_app()
    api = connect(app)
    writer = ExchangeWriter(path)
    client = httpx.Client(
        transport=httpx.WSGITransport(app=app),
        base_url="https://sandbox.test",
        event_hooks={"response": [writer.httpx_hook]},
    )

    client.get(
        "/api.xro/2.0/Currencies",
        headers={
            "Authorization": f"Bearer {api.tokens['access_token']}",
            "xero-tenant-id": CAFE_ID,
        },
    )

    line = json.loads(path.read_text())
    assert line["path"] == "/api.xro/2.0/Currencies" and line["status"] == 200
    assert line["body"]["Currencies"][0]["Code"] == "NZD"


def test_command_line_builds_a_replay_or_a_recording_sandbox(tmp_path: Path) -> None:
    from integrations.xero.sandbox.__main__ import build_app, build_parser

    capture = _write(
        tmp_path / "capture.jsonl",
        {
            "method": "GET",
            "path": "/connections",
            "query": {},
            "tenant": None,
            "status": 200,
            "headers": {},
            "body": [],
        },
    )

    replay = build_app(build_parser().parse_args(["serve", "--replay", str(capture)]))

    assert isinstance(replay, ReplayApp)
    assert http(replay).get("/connections").json() == []
