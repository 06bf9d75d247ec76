"""Tidemark Homewares after a real sync from the Xero sandbox: it buys stock in US dollars and
euros, and its variance report splits the stock variance into volume and rate effects that add
up to the variance to the cent, as the demo shows it."""

from decimal import Decimal

import pytest

from budgeting.currency.selectors import actual_rates, documents_first_month
from budgeting.currency.services import budget_rates_from_period
from budgeting.variance.selectors import variance_report_load, xero_organisation_get
from core.months import add_months, last_closed_month
from tests.sandbox import sync

pytestmark = pytest.mark.slow
TIDEMARK = "Tidemark Homewares"


def test_tidemarks_stock_variance_splits_into_volume_and_rate(connected_firm):
    firm, organisation = connected_firm.firm, connected_firm.linked[TIDEMARK]
    assert sync(connected_firm, TIDEMARK).state == "succeeded"
    profile = xero_organisation_get(firm=firm, organisation=organisation)
    assert profile.base_currency == "GBP"
    first = documents_first_month(firm=firm, organisation=organisation)
    rates = budget_rates_from_period(
        firm=firm,
        organisation=organisation,
        base_currency="GBP",
        first=first,
        last=add_months(first, 1),
    )
    assert {r.currency for r in rates} == {"USD", "EUR"}
    period = last_closed_month(profile.period_lock_date)

    view = variance_report_load(
        firm=firm, organisation=organisation, profile=profile, period=period, with_currency=True
    )
    by_code = {row.line.code: row for row in view.currency_rows}
    # Cost of Goods Sold (310) is bought in both currencies; the realised currency result (499)
    # is its own effect; sales in pounds have no split.
    assert "310" in by_code
    assert "499" in by_code
    assert "200" not in by_code
    stock = by_code["310"].currency.month
    assert {e.currency for e in stock.by_currency} == {"USD", "EUR"}
    assert stock.rate != 0
    assert stock.volume + stock.rate == stock.variance == by_code["310"].line.month.variance
    # The synced bills explain the whole month's actual: nothing hidden, nothing left.
    assert stock.remainder == Decimal("0.00")
    # Every split adds up to its variance to the cent.
    for row in view.currency_rows:
        for split in (row.currency.month, row.currency.year_to_date):
            assert split.volume + split.rate + split.gains_losses == split.variance
    assert by_code["499"].currency.month.gains_losses == by_code["499"].line.month.variance

    # The actual rates of the month, from the bills, against the seeded budget rates.
    month_rates = {
        r.currency: r
        for r in actual_rates(
            firm=firm, organisation=organisation, base_currency="GBP", first=period, last=period
        )
    }
    usd = next(e for e in stock.by_currency if e.currency == "USD")
    assert month_rates["USD"].budget_rate == usd.budget_rate
    assert month_rates["USD"].foreign == usd.foreign
