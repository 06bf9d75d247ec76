"""The sandbox serving the generator's organisations: spec-valid, and reports that add up."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.ratelimit import SandboxLimits
from tests.integrations.xero.sandbox.contract import validate
from tests.integrations.xero.sandbox.harness import CLIENT, Connected, connect

API = "/api.xro/2.0"
TODAY = dt.date(2026, 6, 15)
KEYS = ["cafe", "saas", "construction", "importer", "group"]
CREDIT_TYPES = {"ACCREC", "RECEIVE", "ACCPAYCREDIT"}


@pytest.fixture(scope="module")
def sandbox() -> SandboxApp:
    return create_app(
        today=TODAY, clients=[CLIENT], limits=SandboxLimits(minute=100_000, day=100_000)
    )


@pytest.fixture(scope="module")
def api(sandbox: SandboxApp) -> Iterator[Connected]:
    connected = connect(
        sandbox, tenants=tuple(o.organisation_id for o in sandbox.state.organisations)
    )
    yield connected
    connected.client.close()


def _org(sandbox: SandboxApp, key: str) -> SandboxOrganisation:
    org = sandbox.state.organisation(key)
    assert org is not None
    return org


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    return response.json()


@pytest.mark.parametrize("key", KEYS)
def test_every_endpoint_is_spec_valid(sandbox: SandboxApp, api: Connected, key: str) -> None:
    org = _org(sandbox, key)
    tenant = org.organisation_id
    calls: list[tuple[str, dict[str, Any], str]] = [
        ("Organisation", {}, "Organisations"),
        ("Accounts", {}, "Accounts"),
        ("TrackingCategories", {}, "TrackingCategories"),
        ("Currencies", {}, "Currencies"),
        ("Budgets", {}, "Budgets"),
        (
            "Reports/ProfitAndLoss",
            {
                "fromDate": "2026-03-01",
                "toDate": "2026-03-31",
                "periods": 11,
                "standardLayout": "true",
            },
            "ReportWithRows",
        ),
        (
            "Reports/BudgetSummary",
            {"date": "2026-01-01", "periods": 12, "timeframe": 1},
            "ReportWithRows",
        ),
        ("Reports/BalanceSheet", {"date": "2026-05-31"}, "ReportWithRows"),
        ("Reports/TrialBalance", {"date": "2026-05-31"}, "ReportWithRows"),
        ("Invoices", {"page": 1}, "Invoices"),
        ("CreditNotes", {"page": 1}, "CreditNotes"),
        ("BankTransactions", {"page": 1}, "BankTransactions"),
    ]
    calls += [
        (f"Budgets/{b.budget_id}", {"DateFrom": "2025-07-01", "DateTo": "2026-06-30"}, "Budgets")
        for b in org.budgets
    ]
    if org.tracking_categories:
        category = org.tracking_categories[0]
        calls.append(
            (
                "Reports/ProfitAndLoss",
                {
                    "fromDate": "2026-03-01",
                    "toDate": "2026-03-31",
                    "trackingCategoryID": category.category_id,
                },
                "ReportWithRows",
            )
        )
    for path, params, schema in calls:
        validate(_ok(api.get(f"{API}/{path}", tenant=tenant, **params)), schema)


def _expected_month(org: SandboxOrganisation, year: int, month: int) -> dict[str, Decimal]:
    """Independently of the sandbox: the model's sign convention applied to the documents."""
    accounts = {a.account_id: a for a in org.accounts if a.on_profit_and_loss}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for doc in org.documents:
        if doc.status not in ("AUTHORISED", "PAID") or (doc.date.year, doc.date.month) != (
            year,
            month,
        ):
            continue
        for line in doc.lines:
            account = accounts.get(line.account_id)
            if account is None:
                continue
            credit = doc.type in CREDIT_TYPES
            revenue = account.account_class == "REVENUE"
            totals[line.account_id] += line.base_amount if credit == revenue else -line.base_amount
    return {k: v for k, v in totals.items() if v}


def _by_account(report: dict[str, Any], column: int) -> dict[str, Decimal]:
    found = {}
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            attributes = row["Cells"][0].get("Attributes") or []
            if row["RowType"] == "Row" and attributes:
                value = Decimal(row["Cells"][column]["Value"])
                if value:
                    found[attributes[0]["Value"]] = value
    return found


@pytest.mark.parametrize("key", KEYS)
def test_monthly_profit_and_loss_adds_up_to_the_documents(
    sandbox: SandboxApp, api: Connected, key: str
) -> None:
    org = _org(sandbox, key)
    # A 31-day base month, so the 11 prior periods are whole months (Xero's documented advice);
    # in a shorter month the 31 days stop at the month's end rather than run into the next.
    report = _ok(
        api.get(
            f"{API}/Reports/ProfitAndLoss",
            tenant=org.organisation_id,
            fromDate="2026-05-01",
            toDate="2026-05-31",
            periods=11,
        )
    )["Reports"][0]
    months = [(2026, 5 - i) if i < 5 else (2025, 17 - i) for i in range(12)]
    for column, (year, month) in enumerate(months, start=1):
        assert _by_account(report, column) == _expected_month(org, year, month), (key, year, month)


@pytest.mark.parametrize("key", KEYS)
def test_balance_sheet_and_trial_balance_balance(
    sandbox: SandboxApp, api: Connected, key: str
) -> None:
    tenant = _org(sandbox, key).organisation_id
    sheet = _ok(api.get(f"{API}/Reports/BalanceSheet", tenant=tenant, date="2026-05-31"))[
        "Reports"
    ][0]
    trial = _ok(api.get(f"{API}/Reports/TrialBalance", tenant=tenant, date="2026-05-31"))[
        "Reports"
    ][0]

    def labelled(report: dict[str, Any], label: str) -> list[str]:
        return next(
            [c["Value"] for c in r["Cells"][1:]]
            for s in report["Rows"]
            for r in s.get("Rows", [])
            if r["Cells"][0]["Value"] == label
        )

    assert labelled(sheet, "Net Assets") == labelled(sheet, "Total Equity")
    debit, credit, ytd_debit, ytd_credit = labelled(trial, "Total")
    assert (debit, ytd_debit) == (credit, ytd_credit)


def test_two_tracking_categories_give_combination_columns_that_sum_to_the_total(
    sandbox: SandboxApp, api: Connected
) -> None:
    org = _org(sandbox, "group")
    first, second = org.tracking_categories[:2]

    report = _ok(
        api.get(
            f"{API}/Reports/ProfitAndLoss",
            tenant=org.organisation_id,
            fromDate="2026-05-01",
            toDate="2026-05-31",
            trackingCategoryID=first.category_id,
            trackingCategoryID2=second.category_id,
        )
    )["Reports"][0]

    header = [c["Value"] for c in report["Rows"][0]["Cells"]]
    assert len(header) == 1 + (len(first.options) + 1) * (len(second.options) + 1) + 1
    assert header[-1] == "Total"
    net = next(
        r["Cells"][1:]
        for s in report["Rows"]
        for r in s.get("Rows", [])
        if r["Cells"][0]["Value"] == "NET PROFIT"
    )
    values = [Decimal(c["Value"]) for c in net]
    assert sum(values[:-1]) == values[-1]
    untracked = _ok(
        api.get(
            f"{API}/Reports/ProfitAndLoss",
            tenant=org.organisation_id,
            fromDate="2026-05-01",
            toDate="2026-05-31",
        )
    )["Reports"][0]
    assert _by_account(report, len(header) - 1) == _by_account(untracked, 1)


def _labelled_row(report: dict[str, Any], label: str) -> list[Decimal]:
    return next(
        [Decimal(c["Value"]) for c in r["Cells"][1:]]
        for s in report["Rows"]
        for r in s.get("Rows", [])
        if r["Cells"][0]["Value"] == label
    )


@pytest.mark.parametrize("key", KEYS)
def test_monthly_balance_sheet_ties_to_the_profit_and_loss(
    sandbox: SandboxApp, api: Connected, key: str
) -> None:
    """Twelve month-ends in one call (date + periods=11 + timeframe=MONTH), newest first, each
    balancing, with Current Year Earnings equal to the P&L's year to date net profit."""
    org = _org(sandbox, key)
    sheet = _ok(
        api.get(
            f"{API}/Reports/BalanceSheet",
            tenant=org.organisation_id,
            date="2026-05-31",
            periods=11,
            timeframe="MONTH",
        )
    )["Reports"][0]
    header = [c["Value"] for c in sheet["Rows"][0]["Cells"]][1:]
    assert header[:3] == ["31 May 2026", "30 Apr 2026", "31 Mar 2026"] and len(header) == 12
    assets = _labelled_row(sheet, "Total Assets")
    liabilities = _labelled_row(sheet, "Total Liabilities")
    equity = _labelled_row(sheet, "Total Equity")
    assert all(a == li + e for a, li, e in zip(assets, liabilities, equity, strict=True))
    earnings = _labelled_row(sheet, "Current Year Earnings")
    fy_start_month = org.financial_year_end_month % 12 + 1
    for column, label in enumerate(header):
        end = dt.datetime.strptime(label, "%d %b %Y").date()
        start_year = end.year if end.month >= fy_start_month else end.year - 1
        year_to_date = _ok(
            api.get(
                f"{API}/Reports/ProfitAndLoss",
                tenant=org.organisation_id,
                fromDate=dt.date(start_year, fy_start_month, 1).isoformat(),
                toDate=end.isoformat(),
            )
        )["Reports"][0]
        net = next(
            Decimal(r["Cells"][1]["Value"])
            for s in year_to_date["Rows"]
            for r in s.get("Rows", [])
            if r["Cells"][0]["Value"].lower() == "net profit"
        )
        assert earnings[column] == net, (key, label)
