"""Every P&L line lands somewhere: the FXGROUPID row becomes an "FX gains and losses" line that
reconciles to the report, with budgets on the currency accounts counted on it; and an option a
report leaves out without proof of zero is read on its own with trackingOptionID."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.models import Account, ActualBalance, Reconciliation, SyncRun, XeroOrganisation
from budgeting.variance.selectors import variance_data_load
from core.months import add_months, month_key, month_start
from integrations.xero.http import use_transport
from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_option
from tests.integrations.xero.expectations import expected_calls
from tests.integrations.xero.transports import Mutating, drop_option_columns
from tests.sandbox import SANDBOX_ADMIN, minute_in_a_second, sandbox_http, sync

CURRENCY_ACCOUNTS = {"REALISEDCURRENCYGAIN", "UNREALISEDCURRENCYGAIN", "BANKCURRENCYGAIN"}


def _account_id(row) -> str | None:
    attributes = row["Cells"][0].get("Attributes") or []
    return attributes[0]["Value"] if attributes else None


def group_currency_rows(currency_ids: set[str]):
    """What Xero's standard layout does outside the US: the currency system accounts' rows
    become one row whose account attribute is FXGROUPID (xero-api-facts §2)."""

    def spoil(body):
        for section in body["Reports"][0]["Rows"]:
            rows = section.get("Rows", [])
            grouped = [r for r in rows if _account_id(r) in currency_ids]
            if not grouped:
                continue
            width = len(grouped[0]["Cells"])
            sums = [
                sum((Decimal(r["Cells"][i]["Value"] or "0") for r in grouped), Decimal("0.00"))
                for i in range(1, width)
            ]
            attributes = [{"Value": "FXGROUPID", "Id": "account"}]
            fx = {
                "RowType": "Row",
                "Cells": [
                    {"Value": v, "Attributes": attributes}
                    for v in ["Foreign Currency Gains and Losses", *(f"{s:.2f}" for s in sums)]
                ],
            }
            at = rows.index(grouped[0])
            section["Rows"] = [r for r in rows if r not in grouped]
            section["Rows"].insert(at, fx)
        return body

    return spoil


@pytest.mark.mutable_sandbox
def test_the_fx_group_row_is_an_fx_line_that_reconciles_and_carries_the_currency_budgets(
    connected_firm, xero_sandbox, sandbox_organisations
):
    importer = next(o for o in sandbox_organisations if o.key == "importer")
    currency = {a.account_id: a for a in importer.accounts if a.system_account in CURRENCY_ACCOUNTS}
    realised = next(a for a in currency.values() if a.system_account == "REALISEDCURRENCYGAIN")
    lock = importer.period_lock_date
    last_closed = month_start(lock)
    # The firm budgets 150 of realised currency gains (an expense account) for the last closed
    # month, by a Budget Manager import.
    overall = next(b for b in importer.budgets if b.type == "OVERALL")
    with sandbox_http(xero_sandbox) as http:
        imported = http.post(
            f"/_sandbox/organisations/importer/budgets/{overall.budget_id}/import",
            content=f"Account,{last_closed:%b-%Y}\n{realised.name} ({realised.code}),150\n",
            headers=SANDBOX_ADMIN,
        )
    assert imported.status_code == 200, imported.text

    with use_transport(
        Mutating(xero_sandbox, "Reports/ProfitAndLoss", group_currency_rows(set(currency)))
    ):
        run = sync(connected_firm, importer.name)
    firm, organisation = connected_firm.firm, connected_firm.linked[importer.name]
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    # Net profit per month equals the report's NET PROFIT to the cent, and so do income and
    # expenses: the FX line is counted.
    checks = Reconciliation.objects.for_firm(firm).filter(
        sync_run=run, kind=Reconciliation.Kind.ACTUALS
    )
    assert checks.filter(line="net_profit").count() == 37
    assert run.reconciled is True and all(c.difference == 0 for c in checks)

    accounts = Account.objects.for_firm(firm).filter(organisation=organisation)
    fx = accounts.get(account_id="FXGROUPID")
    assert (fx.name, fx.type, fx.account_class) == ("FX gains and losses", "OVERHEADS", "EXPENSE")
    assert set(accounts.filter(report_group=fx).values_list("account_id", flat=True)) == set(
        currency
    )
    # The FX line holds the currency accounts' figures; they hold none of their own.
    from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_month

    ledger = profit_and_loss_by_month(importer.accounts, importer.documents)
    months = sorted({c.period for c in checks})
    expected = {}
    for account_id in currency:
        for key, amount in ledger.get(account_id, {}).items():
            month = dt.date(int(key[:4]), int(key[5:7]), 1)
            if months[0] <= month <= months[-1]:
                expected[month] = expected.get(month, Decimal("0.00")) + amount
    stored = ActualBalance.objects.for_firm(firm).filter(organisation=organisation)
    assert {a.period: a.amount for a in stored.filter(account=fx)} == {
        m: v for m, v in expected.items() if v
    }
    assert any(expected.values())
    assert not stored.filter(account__account_id__in=currency).exists()

    # Variance: the budget on realised currency gains is measured against the FX line.
    data = variance_data_load(
        firm=firm,
        organisation=organisation,
        period=last_closed,
        profile=XeroOrganisation.objects.for_firm(firm).get(organisation=organisation),
    )
    line = data.balances_of("FXGROUPID")
    assert line.budgets[last_closed] == Decimal("150.00")
    assert line.actuals[last_closed] == expected.get(last_closed, Decimal("0.00"))
    assert data.balances_of(realised.account_id) is None


def test_an_option_left_out_without_proof_of_zero_is_read_with_its_own_request(
    connected_firm, xero_sandbox, shared_organisations, settings
):
    group = next(o for o in shared_organisations if o.key == "group")
    region = next(c for c in group.tracking_categories if c.name == "Region")
    wa = next(o for o in region.options if o.name == "WA")
    behaviour = Behaviour(pl_unassigned_column=False)
    xero_sandbox.behaviour = behaviour
    minute_in_a_second(xero_sandbox, settings)

    class OnlyCategoryReports(Mutating):
        # The by-option request (trackingOptionID) is answered as Xero answers it.
        def handle_request(self, request):
            if "trackingOptionID" in str(request.url):
                return self.inner.handle_request(request)
            return super().handle_request(request)

    with use_transport(
        OnlyCategoryReports(xero_sandbox, "Reports/ProfitAndLoss", drop_option_columns("WA"))
    ):
        run = sync(connected_firm, group.name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled is True
    assert "option-months left out of the reports were read one option per request" in run.error

    firm, organisation = connected_firm.firm, connected_firm.linked[group.name]
    months = sorted(
        set(
            Reconciliation.objects.for_firm(firm)
            .filter(sync_run=run, kind=Reconciliation.Kind.ACTUALS, tracking_option=None)
            .values_list("period", flat=True)
        )
    )
    keys = {month_key(m): m for m in months}
    wa_ledger = profit_and_loss_by_option(group.accounts, group.documents)[wa.option_id]
    expected = {
        (account_id, keys[key]): amount
        for account_id, by_key in wa_ledger.items()
        for key, amount in by_key.items()
        if amount and key in keys
    }
    stored = {
        (a.account.account_id, a.period): a.amount
        for a in ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, tracking_option__option_id=wa.option_id)
        .select_related("account")
    }
    assert stored == expected
    # One more request per month WA has figures in, on top of the plan without the gap.
    wa_months = len({period for _account, period in expected})
    minimum = expected_calls(group, behaviour, months[-1], settings.XERO_ACTUALS_MONTHS)
    assert run.calls_planned == minimum + wa_months
    assert run.calls_used <= 1.1 * run.calls_planned
    assert add_months(months[0], 36) == months[-1]


@pytest.mark.slow
def test_a_new_zealand_organisation_budgets_its_currency_gains_on_the_fx_line(extra_firm):
    # Alpine (NZ): Xero's report groups the currency accounts under FXGROUPID, and the firm
    # budgets realised currency gains (account 499).
    org = next(o for o in extra_firm.organisations if o.key == "alpine")
    run = sync(extra_firm, org.name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled is True
    firm, organisation = extra_firm.firm, extra_firm.linked[org.name]
    fx = Account.objects.for_firm(firm).get(organisation=organisation, account_id="FXGROUPID")
    currency = {a.account_id for a in org.accounts if a.system_account in CURRENCY_ACCOUNTS}
    grouped = Account.objects.for_firm(firm).filter(organisation=organisation, report_group=fx)
    assert set(grouped.values_list("account_id", flat=True)) == currency

    last_closed = month_start(org.period_lock_date)
    overall = next(b for b in org.budgets if b.type == "OVERALL")
    budgeted = sum(
        (overall.lines.get(a, {}).get(month_key(last_closed), Decimal(0)) for a in currency),
        Decimal(0),
    )
    assert budgeted
    data = variance_data_load(
        firm=firm,
        organisation=organisation,
        period=last_closed,
        profile=XeroOrganisation.objects.for_firm(firm).get(organisation=organisation),
    )
    assert data.balances_of("FXGROUPID").budgets[last_closed] == budgeted
    assert all(data.balances_of(a) is None for a in currency)
