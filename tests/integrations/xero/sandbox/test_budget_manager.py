"""Budget Manager's "Add budget", as a Xero user does it, through the control API: a new, empty
budget the API then lists, into which a file is imported without touching any other budget."""

from __future__ import annotations

from integrations.xero.sandbox.app import SandboxApp
from tests.integrations.xero.sandbox.harness import (
    NORTH,
    OVERALL_BUDGET,
    SALES,
    Connected,
    http,
)

ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}


def _add(app: SandboxApp, body: dict, org: str = "cafe"):
    return http(app).post(f"/_sandbox/organisations/{org}/budgets", json=body, headers=ADMIN)


def _lines(api: Connected, budget_id: str) -> dict[str, dict[str, float]]:
    body = api.get(
        f"/api.xro/2.0/Budgets/{budget_id}", DateFrom="2026-01-01", DateTo="2026-06-30"
    ).json()
    return {
        line["AccountID"]: {b["Period"]: b["Amount"] for b in line["BudgetBalances"]}
        for line in body["Budgets"][0]["BudgetLines"]
    }


def test_an_added_budget_is_listed_empty_and_takes_an_import_alone(
    app: SandboxApp, api: Connected
) -> None:
    overall_before = _lines(api, OVERALL_BUDGET)
    response = _add(app, {"name": "Rolling Forecast"})
    assert response.status_code == 200, response.text
    added = response.json()
    assert added["type"] == "TRACKING" and added["description"] == "Rolling Forecast"
    assert added["tracking"] == []

    listed = api.get("/api.xro/2.0/Budgets").json()["Budgets"]
    assert {(b["Type"], b["Description"]) for b in listed} >= {
        ("OVERALL", "Overall Budget"),
        ("TRACKING", "Rolling Forecast"),
    }
    assert _lines(api, added["budgetId"]) == {}

    imported = http(app).post(
        f"/_sandbox/organisations/cafe/budgets/{added['budgetId']}/import",
        content=b"Account,Mar-2026\nSales (200),1234.5\n",
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200
    assert _lines(api, added["budgetId"]) == {SALES: {"2026-03": 1235}}
    # Only the budget chosen for the file changes, as in Xero.
    assert _lines(api, OVERALL_BUDGET) == overall_before


def test_an_added_budget_keeps_the_tracking_it_was_given(app: SandboxApp, api: Connected) -> None:
    response = _add(
        app,
        {
            "name": "Rolling Forecast: North",
            "tracking": [{"category": "Region", "option": "North"}],
        },
    )
    assert response.status_code == 200, response.text
    (tracking,) = response.json()["tracking"]
    assert (tracking["Name"], tracking["Option"], tracking["TrackingOptionID"]) == (
        "Region",
        "North",
        NORTH,
    )
    header = api.get(f"/api.xro/2.0/Budgets/{response.json()['budgetId']}").json()["Budgets"][0]
    assert header["Tracking"][0]["TrackingOptionID"] == NORTH


def test_add_budget_refuses_what_budget_manager_would(app: SandboxApp) -> None:
    assert _add(app, {"name": "Rolling Forecast"}).status_code == 200
    twice = _add(app, {"name": "rolling forecast"})
    assert twice.status_code == 400 and "already exists" in twice.json()["error"]
    assert _add(app, {"name": "  "}).status_code == 400
    assert _add(app, {}).status_code == 400
    unknown = _add(app, {"name": "X", "tracking": [{"category": "Region", "option": "East"}]})
    assert unknown.status_code == 400 and "unknown tracking" in unknown.json()["error"]
    assert _add(app, {"name": "X"}, org="nowhere").status_code == 404
    assert (
        http(app).post("/_sandbox/organisations/cafe/budgets", json={"name": "X"}).status_code
        == 401
    )
