"""The month-end balance sheet comes with every sync: one call per 12 months, read by its
headers, stored per line, and reconciled (it balances; current year earnings tie to the P&L)."""

from decimal import Decimal

import pytest

from budgeting.models import BalanceSheetBalance, Reconciliation, SyncRun
from tests.sandbox import ORGANISATIONS, sync


@pytest.mark.parametrize("name", ORGANISATIONS)
def test_the_balance_sheet_is_synced_and_balances_every_month(connected_firm, name):
    run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled is True, run.error
    firm = connected_firm.firm
    organisation = connected_firm.linked[name]
    checks = Reconciliation.objects.for_firm(firm).filter(
        sync_run=run, kind=Reconciliation.Kind.BALANCE_SHEET
    )
    months = run.counts["months"]
    by_line = {line: checks.filter(line=line).count() for line in ("balance", "assets")}
    assert by_line == {"balance": months, "assets": months}
    # Current year earnings tie to the P&L's year to date for every month whose whole
    # financial year was synced (all but the first year's).
    earnings = checks.filter(line="current_year_earnings")
    assert months - 12 <= earnings.count() <= months
    assert not checks.exclude(difference=Decimal("0.00")).exists()
    lines = BalanceSheetBalance.objects.for_firm(firm).filter(organisation=organisation)
    latest = lines.order_by("-period").values_list("period", flat=True).first()
    month = {line.row_key: line for line in lines.filter(period=latest)}
    assets = sum(v.amount for v in month.values() if v.account_class == "ASSET")
    others = sum(v.amount for v in month.values() if v.account_class != "ASSET")
    assert assets == others != 0
    banks = [v for v in month.values() if v.account_id and v.account.type == "BANK"]
    assert banks and all(v.section == "Bank" for v in banks)
    assert "Current Year Earnings" in month
    # 37 months in 12-month calls: four.
    assert run.counts["calls_planned_balance_sheet"] == -(-months // 12)


def _spoil_first_bank_row(body):
    """A balance sheet whose first bank account reads 100.00 more than its total says."""
    for section in body["Reports"][0]["Rows"]:
        if section.get("Title") == "Bank":
            cells = section["Rows"][0]["Cells"]
            for cell in cells[1:]:
                cell["Value"] = f"{Decimal(cell['Value']) + 100:.2f}"
            return body
    raise AssertionError("no Bank section")


def test_a_balance_sheet_that_does_not_add_up_is_stored_and_its_differences_shown(
    client, connected_firm, xero_sandbox, firm_b
):
    from django.urls import reverse

    from integrations.xero.http import use_transport
    from tenants.roles import Role
    from tests.budgeting.screens import login
    from tests.integrations.xero.transports import Mutating

    name = "Harbour Lane Café"
    with use_transport(Mutating(xero_sandbox, "Reports/BalanceSheet", _spoil_first_bank_row)):
        run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled is False and run.step == "Done, with reconciliation differences"
    checks = Reconciliation.objects.for_firm(connected_firm.firm).filter(
        sync_run=run, kind=Reconciliation.Kind.BALANCE_SHEET
    )
    wrong = checks.exclude(difference=0)
    # Every month: our assets are 100.00 over the report's total, and over liabilities and
    # equity (the balance check: liabilities + equity against assets).
    assert set(wrong.values_list("line", "difference")) == {
        ("assets", Decimal("100.00")),
        ("balance", Decimal("-100.00")),
    }
    assert wrong.count() == 2 * run.counts["months"]
    organisation = connected_firm.linked[name]
    login(client, connected_firm, Role.PREPARER)
    url = reverse("organisation_detail", args=[connected_firm.firm.slug, organisation.pk])
    page = client.get(url + "?tab=history")
    assert page.status_code == 200
    assert "does not balance or tie to the P&amp;L" in page.content.decode()
    assert "Balance sheet</td>" in page.content.decode()
    # Another firm's member gets nothing.
    login(client, firm_b, Role.OWNER)
    assert client.get(url + "?tab=history").status_code == 404


def test_a_balance_sheet_xero_refuses_fails_alone(connected_firm, xero_sandbox):
    from integrations.xero.http import use_transport
    from tests.integrations.xero.transports import Mutating

    name = "Tidepool Software"
    with use_transport(Mutating(xero_sandbox, "Reports/BalanceSheet", lambda body: b"{}")):
        run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert [f["key"] for f in run.failed_scopes] == ["balance_sheet"]
    assert "Balance sheet, because Xero Reports/BalanceSheet" in run.error
    organisation = connected_firm.linked[name]
    assert (
        not BalanceSheetBalance.objects.for_firm(connected_firm.firm)
        .filter(organisation=organisation)
        .exists()
    )
    # The next sync fetches it again, over the full range.
    again = sync(connected_firm, name)
    assert again.failed_scopes == [] and again.reconciled is True
    assert (
        BalanceSheetBalance.objects.for_firm(connected_firm.firm)
        .filter(organisation=organisation)
        .count()
        > 0
    )


def _drop_oldest_column_of_long_reports(body):
    """A Xero that leaves the oldest month out of a 12-month balance sheet (a one-month answer,
    two columns, is left as it is)."""
    rows = body["Reports"][0]["Rows"]
    if len(rows[0]["Cells"]) <= 3:
        return body
    for row in [rows[0], *(r for s in rows[1:] for r in s.get("Rows", []))]:
        row["Cells"] = row["Cells"][:-1]
    return body


def test_columns_that_are_not_the_months_asked_for_are_read_one_month_a_call(
    connected_firm, xero_sandbox
):
    from integrations.xero.http import use_transport
    from tests.integrations.xero.transports import Mutating

    name = "Harbour Lane Café"
    spoil = _drop_oldest_column_of_long_reports
    with use_transport(Mutating(xero_sandbox, "Reports/BalanceSheet", spoil)):
        run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.failed_scopes == [] and run.reconciled is True, run.error
    months = run.counts["months"]
    assert "Balance sheet: one month per request, because the report's columns" in run.error
    assert run.counts["calls_planned_balance_sheet"] == months
    lines = BalanceSheetBalance.objects.for_firm(connected_firm.firm).filter(
        organisation=connected_firm.linked[name]
    )
    assert lines.values("period").distinct().count() == months
