"""The pipeline beside the statistical forecast, per revenue account and month, blended with the
weight the client's past pipelines earned: a pipeline that was right gets the whole weight, one
that was wrong none, and a client with no past pipeline the default, said as untested."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.deals.maths import DEFAULT_WEIGHT
from budgeting.deals.selectors import sales_pipeline_comparison
from budgeting.deals.services import sales_pipeline_import_csv
from budgeting.models import ActualBalance
from core.money import money
from core.months import add_months, month_key

pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
NOVEMBER, DECEMBER, JANUARY = (dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1))
CURRENT = (
    "deal,amount,probability,close_month\n"
    "Harbour fit-out,80000,50,2026-12\n"
    "Marina catering,30000,100,2027-01\n"
    "Second marina,10000,25,2027-01\n"
)


def _import(cast, data: str, as_of=None):
    return sales_pipeline_import_csv(
        firm=cast.firm,
        organisation=cast.organisation,
        data=data.encode(),
        file_name="crm.csv",
        user=None,
        as_of=as_of,
    )


def _past_pipelines(cast, organisation, factor: Decimal):
    """Two past exports (June and August) whose won deals came to `factor` times what Sales
    then made, month by month, up to October."""
    actual = {
        b.period: b.amount
        for b in ActualBalance.objects.for_firm(cast.firm).filter(
            account=organisation.accounts["200"], tracking_option__isnull=True
        )
    }
    for as_of in (dt.date(2026, 6, 1), dt.date(2026, 8, 1)):
        months = [
            add_months(as_of, i)
            for i in range(0, 12)
            if add_months(as_of, i) <= dt.date(2026, 10, 1)
        ]
        rows = "".join(
            f"Deal {month_key(m)},{actual[m] * factor},Closed won,{month_key(m)}\n" for m in months
        )
        _import(cast, "deal,amount,stage,close_month\n" + rows, as_of=as_of)


def test_the_pipeline_stands_beside_the_statistical_forecast_month_by_month(firm_a, organisation_a):
    _past_pipelines(firm_a, organisation_a, Decimal(1))
    current = _import(firm_a, CURRENT)
    view = sales_pipeline_comparison(firm=firm_a.firm, organisation=firm_a.organisation)
    assert view.upload == current
    assert view.months == [NOVEMBER, DECEMBER, JANUARY]
    (sales,) = view.lines
    assert sales.account.code == "200"
    # Past pipelines that were exactly right earn the whole weight.
    assert sales.weight.tested and sales.weight.weight == Decimal("1.00")
    assert sales.weight.months == 5 + 3  # Jun-Oct of June's export, Aug-Oct of August's
    assert sales.weight.error_blended == Decimal("0.00")
    assert sales.weight.error_statistical > 0
    november, december, january = sales.months
    # No deal closes in November: it keeps the statistical figure.
    assert november.pipeline is None and november.blended == november.statistical
    assert 49000 < november.statistical < 51000
    assert december.pipeline == Decimal("40000.00") and december.blended == Decimal("40000.00")
    assert january.pipeline == Decimal("32500.00") and january.blended == Decimal("32500.00")


def test_past_pipelines_that_were_wrong_earn_no_weight(firm_a, organisation_a):
    _past_pipelines(firm_a, organisation_a, Decimal(3))
    _import(firm_a, CURRENT)
    (sales,) = sales_pipeline_comparison(firm=firm_a.firm, organisation=firm_a.organisation).lines
    assert sales.weight.weight == Decimal("0.00")
    assert [m.blended for m in sales.months] == [m.statistical for m in sales.months]


def test_without_a_past_pipeline_the_default_weight_is_used_and_said_untested(
    firm_a, organisation_a
):
    _import(firm_a, CURRENT)
    (sales,) = sales_pipeline_comparison(firm=firm_a.firm, organisation=firm_a.organisation).lines
    assert not sales.weight.tested and sales.weight.weight == DEFAULT_WEIGHT
    december = sales.months[1]
    assert december.blended == money((december.statistical + Decimal("40000.00")) / 2)


def test_no_pipeline_yet_shows_nothing_to_compare(firm_a, organisation_a):
    view = sales_pipeline_comparison(firm=firm_a.firm, organisation=firm_a.organisation)
    assert view.upload is None and view.lines == []
