"""Reports add up to the documents, and behave as Xero's docs say they do."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integrations.xero.sandbox.harness import (
    COGS,
    NORTH,
    OTHER_INCOME,
    REGION,
    RENT,
    SALES,
    WAGES,
    Connected,
    cafe,
)

PL = "/api.xro/2.0/Reports/ProfitAndLoss"


def _report(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["Reports"][0]


def _account_rows(report: dict[str, Any]) -> dict[str, list[str]]:
    """AccountID -> column values, the way the product parses a P&L (by Attributes, not titles)."""
    found = {}
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            cells = row["Cells"]
            attributes = cells[0].get("Attributes") or []
            if row["RowType"] == "Row" and attributes and attributes[0]["Id"] == "account":
                found[attributes[0]["Value"]] = [c["Value"] for c in cells[1:]]
    return found


def _labelled(report: dict[str, Any], label: str) -> list[str]:
    for section in report["Rows"]:
        for row in section.get("Rows", []):
            if row["Cells"][0]["Value"] == label:
                return [c["Value"] for c in row["Cells"][1:]]
    raise AssertionError(f"no row {label}")


def test_profit_and_loss_equals_the_document_sums(api: Connected) -> None:
    report = _report(api.get(PL, fromDate="2026-02-01", toDate="2026-02-28"))
    rows = _account_rows(report)

    # Feb: sales 1000 + 500 - 50 credit note (the VOIDED 999 is not counted).
    assert rows[SALES] == ["1450.00"]
    assert rows[OTHER_INCOME] == ["25.50"]
    assert rows[COGS] == ["400.00"]
    assert rows[RENT] == ["800.00"]
    assert rows[WAGES] == ["300.00"]
    assert _labelled(report, "Gross Profit") == ["1050.00"]
    # 1450 + 25.50 - 400 - 800 - 300
    assert _labelled(report, "NET PROFIT") == ["-24.50"]
    assert report["Rows"][0]["Cells"][1]["Value"] == "28 Feb 26"


def test_report_figures_match_the_documents_for_every_account() -> None:
    from integrations.xero.sandbox.ledger import natural_amount

    org = cafe()
    accounts = {a.account_id: a for a in org.accounts if a.on_profit_and_loss}
    expected: dict[str, Decimal] = {}
    for doc in org.documents:
        if doc.status in ("AUTHORISED", "PAID") and doc.date.year == 2026 and doc.date.month == 3:
            for line in doc.lines:
                if line.account_id in accounts:
                    value = natural_amount(doc, line, accounts[line.account_id].account_class)
                    expected[line.account_id] = expected.get(line.account_id, Decimal(0)) + value
    from tests.integrations.xero.sandbox.harness import connect, make_app

    api = connect(make_app())
    rows = _account_rows(_report(api.get(PL, fromDate="2026-03-01", toDate="2026-03-31")))

    assert {k: Decimal(v[0]) for k, v in rows.items()} == expected


def test_periods_with_a_30_day_base_range_truncate_prior_periods(api: Connected) -> None:
    # Base 1-28 Feb (28 days); the prior period is 1-28 Jan, so the 77.00 sale on 31 Jan is out.
    report = _report(
        api.get(PL, fromDate="2026-02-01", toDate="2026-02-28", periods=1, timeframe="MONTH")
    )
    full_january = _report(api.get(PL, fromDate="2026-01-01", toDate="2026-01-31"))

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == ["", "28 Feb 26", "28 Jan 26"]
    assert _account_rows(report)[SALES] == ["1450.00", "1500.00"]
    assert _account_rows(full_january)[SALES] == ["1577.00"]


def test_periods_from_a_31_day_month_cover_whole_prior_months(api: Connected) -> None:
    report = _report(
        api.get(PL, fromDate="2026-03-01", toDate="2026-03-31", periods=2, timeframe="MONTH")
    )

    assert [c["Value"] for c in report["Rows"][0]["Cells"]][1:] == [
        "31 Mar 26",
        "28 Feb 26",
        "31 Jan 26",
    ]
    assert _account_rows(report)[SALES] == ["1500.00", "1450.00", "1577.00"]


def test_tracking_category_gives_a_column_per_option(api: Connected) -> None:
    report = _report(
        api.get(PL, fromDate="2026-03-01", toDate="2026-03-31", trackingCategoryID=REGION)
    )

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == [
        "",
        "North",
        "South",
        "Unassigned",
        "Total",
    ]
    rows = _account_rows(report)
    assert rows[SALES] == ["1000.00", "500.00", "0.00", "1500.00"]
    assert rows[RENT] == ["0.00", "0.00", "800.00", "800.00"]


def test_tracking_option_gives_one_column(api: Connected) -> None:
    report = _report(
        api.get(
            PL,
            fromDate="2026-03-01",
            toDate="2026-03-31",
            trackingCategoryID=REGION,
            trackingOptionID=NORTH,
        )
    )

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == ["", "North"]
    assert _account_rows(report)[SALES] == ["1000.00"]
    assert RENT not in _account_rows(report)


def test_invalid_report_parameters_are_validation_errors(api: Connected) -> None:
    assert api.get(PL, fromDate="2026-03-31", toDate="2026-03-01").status_code == 400
    assert api.get(PL, periods=13).status_code == 400
    assert api.get(PL, timeframe="WEEK").status_code == 400
    assert api.get(PL, fromDate="March").status_code == 400


def test_budget_summary_sums_the_overall_budget_by_quarter(api: Connected) -> None:
    report = _report(
        api.get("/api.xro/2.0/Reports/BudgetSummary", date="2026-01-01", periods=2, timeframe=3)
    )

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == ["Account", "Mar-26", "Jun-26"]
    assert _account_rows(report)[SALES] == ["4500.00", "0.00"]
    assert _labelled(report, "Net Profit") == ["2100.00", "0.00"]


def test_balance_sheet_balances(api: Connected) -> None:
    report = _report(api.get("/api.xro/2.0/Reports/BalanceSheet", date="2026-02-10"))

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == ["", "28 Feb 2026", "28 Feb 2025"]
    net_assets = _labelled(report, "Net Assets")
    assert net_assets == _labelled(report, "Total Equity")
    assert net_assets[0] != "0.00"


def test_trial_balance_debits_equal_credits(api: Connected) -> None:
    report = _report(api.get("/api.xro/2.0/Reports/TrialBalance", date="2026-02-28"))

    assert [c["Value"] for c in report["Rows"][0]["Cells"]] == [
        "Account",
        "Debit",
        "Credit",
        "YTD Debit",
        "YTD Credit",
    ]
    debit, credit, ytd_debit, ytd_credit = _labelled(report, "Total")
    assert debit == credit and ytd_debit == ytd_credit
    rows = _account_rows(report)
    assert rows[SALES][:2] == ["", "1450.00"]
    first_cell = next(
        r["Cells"][0]["Value"]
        for s in report["Rows"]
        for r in s.get("Rows", [])
        if r["Cells"][0].get("Attributes")
    )
    assert first_cell.endswith(")")
