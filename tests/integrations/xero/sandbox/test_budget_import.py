"""A Budget Manager CSV import, as a Xero user does it, through the control API."""

from __future__ import annotations

from decimal import Decimal

from integrations.xero.sandbox.app import SandboxApp
from tests.integrations.xero.sandbox.harness import (
    NORTH_BUDGET,
    OVERALL_BUDGET,
    RENT,
    SALES,
    Connected,
    http,
)

ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}


def _import(app: SandboxApp, content: str, budget_id: str = OVERALL_BUDGET) -> tuple[int, dict]:
    response = http(app).post(
        f"/_sandbox/organisations/cafe/budgets/{budget_id}/import",
        content=content.encode(),
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    return response.status_code, response.json()


def _balances(api: Connected, budget_id: str = OVERALL_BUDGET) -> dict[str, dict[str, float]]:
    body = api.get(
        f"/api.xro/2.0/Budgets/{budget_id}", DateFrom="2026-01-01", DateTo="2026-06-30"
    ).json()
    return {
        line["AccountID"]: {b["Period"]: b["Amount"] for b in line["BudgetBalances"]}
        for line in body["Budgets"][0]["BudgetLines"]
    }


def test_import_replaces_given_months_rounds_and_leaves_blanks_alone(
    app: SandboxApp, api: Connected
) -> None:
    before = api.get(f"/api.xro/2.0/Budgets/{OVERALL_BUDGET}").json()["Budgets"][0][
        "UpdatedDateUTC"
    ]
    csv = "Account,Feb-2026,03-2026,Apr-2026\nSales (200),2000.50,,1700.49\nRent (469),-10.4,900,\n"

    status, body = _import(app, csv)

    assert status == 200 and body["valuesImported"] == 4
    balances = _balances(api)
    assert balances[SALES] == {"2026-01": 1400, "2026-02": 2001, "2026-03": 1600, "2026-04": 1700}
    assert balances[RENT] == {"2026-01": 800, "2026-02": -10, "2026-03": 900}
    # Xero does not move UpdatedDateUTC for a file import.
    after = api.get(f"/api.xro/2.0/Budgets/{OVERALL_BUDGET}").json()["Budgets"][0]["UpdatedDateUTC"]
    assert after == before


def test_import_into_a_tracking_budget(app: SandboxApp, api: Connected) -> None:
    status, _ = _import(app, "Account,Mar-2026\nSales (200),950\n", NORTH_BUDGET)

    assert status == 200
    assert _balances(api, NORTH_BUDGET)[SALES] == {"2026-02": 900, "2026-03": 950}


def test_unknown_account_is_rejected_and_nothing_changes(app: SandboxApp, api: Connected) -> None:
    status, body = _import(app, "Account,Feb-2026\nSales (200),1\nMarketing (999),5\n")

    assert status == 400
    assert "Marketing (999)" in body["error"]
    assert _balances(api)[SALES]["2026-02"] == 1500


def test_unreadable_month_is_rejected(app: SandboxApp) -> None:
    status, body = _import(app, "Account,Febuary 2026\nSales (200),1\n")

    assert status == 400
    assert "month" in body["error"]


def test_rounding_is_half_up_to_whole_units() -> None:
    from integrations.xero.sandbox.budget_import import budget_import_file
    from tests.integrations.xero.sandbox.harness import cafe

    org = cafe()
    budget = org.budgets[0]
    budget_import_file(org, budget, "Account,Jan-2026,Feb-2026\nSales (200),10.50,10.49\n")

    assert budget.lines[SALES]["2026-01"] == Decimal(11)
    assert budget.lines[SALES]["2026-02"] == Decimal(10)
