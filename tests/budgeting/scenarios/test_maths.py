"""The scenario maths: adjustments on a base, and the P&L they give. Pure: no database."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgeting.scenarios.maths import (
    Adjustment,
    Change,
    ChartAccount,
    Group,
    Per,
    ScenarioError,
    Target,
    allocate,
    pnl_by_month,
    scenario_apply,
    scenario_result,
)
from core.months import months_between

JULY = dt.date(2026, 7, 1)
MONTHS = months_between(JULY, dt.date(2027, 6, 1))
SALES = ChartAccount(1, "200", "Sales", "REVENUE", "REVENUE")
CATERING = ChartAccount(2, "210", "Catering Sales", "REVENUE", "REVENUE")
INTEREST = ChartAccount(3, "270", "Interest Income", "OTHERINCOME", "REVENUE")
COGS = ChartAccount(4, "310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE")
RENT = ChartAccount(5, "469", "Rent", "OVERHEADS", "EXPENSE")
WAGES = ChartAccount(6, "477", "Wages and Salaries", "EXPENSE", "EXPENSE")
KIWISAVER = ChartAccount(7, "478", "KiwiSaver Employer Contributions", "EXPENSE", "EXPENSE")
BANK = ChartAccount(8, "090", "Business Bank Account", "BANK", "ASSET")
CHART = [SALES, CATERING, INTEREST, COGS, RENT, WAGES, KIWISAVER, BANK]
NORTH = 50

money_values = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("1000000"), places=2, allow_nan=False
)
signed_amounts = st.decimals(
    min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2, allow_nan=False
)
percents = st.decimals(
    min_value=Decimal("-100"), max_value=Decimal("500"), places=1, allow_nan=False
)


def _base(figures: dict[int, list[Decimal]]):
    return {(key, None): dict(zip(MONTHS, values, strict=False)) for key, values in figures.items()}


bases = st.fixed_dictionaries(
    {account.key: st.lists(money_values, min_size=12, max_size=12) for account in CHART[:7]}
).map(_base)
spans = st.tuples(st.integers(0, 11), st.integers(0, 11)).map(
    lambda t: (MONTHS[min(t)], MONTHS[max(t)])
)


def _total(figures, keys, months=MONTHS):
    return sum(
        (figures.get((k, None), {}).get(p, Decimal(0)) for k in keys for p in months), Decimal(0)
    )


def _apply(base, *adjustments):
    return scenario_apply(base=base, chart=CHART, adjustments=adjustments, months=MONTHS)


@given(total=signed_amounts, weights=st.lists(signed_amounts, min_size=1, max_size=12))
def test_an_amount_is_spread_to_the_cent_and_adds_up_exactly(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert all(part == part.quantize(Decimal("0.01")) for part in parts)
    # No part is more than a cent away from its exact share.
    whole = sum(abs(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = total * abs(weight) / whole if whole else total / len(weights)
        assert abs(part - exact) < Decimal("0.01")


@given(base=bases, percent=percents, span=spans)
def test_a_percent_moves_only_the_target_in_its_months(base, percent, span):
    first, last = span
    adjusted = _apply(
        base, Adjustment(Target(group=Group.REVENUE), Change.PERCENT, percent, first, last)
    )
    for (key, option), row in base.items():
        for period, before in row.items():
            after = adjusted[(key, option)][period]
            if key in (SALES.key, CATERING.key) and first <= period <= last:
                expected = (before * (1 + percent / 100)).quantize(Decimal("0.01"))
                assert abs(after - expected) <= Decimal("0.01")
            else:
                assert after == before


@given(base=bases, amount=signed_amounts, span=spans)
def test_an_amount_in_total_changes_the_target_by_exactly_that_amount(base, amount, span):
    first, last = span
    adjusted = _apply(
        base,
        Adjustment(
            Target(group=Group.OPERATING_EXPENSES), Change.AMOUNT, amount, first, last, Per.TOTAL
        ),
    )
    opex = (RENT.key, WAGES.key, KIWISAVER.key)
    assert _total(adjusted, opex) - _total(base, opex) == amount
    assert _total(adjusted, (SALES.key, COGS.key)) == _total(base, (SALES.key, COGS.key))


@given(base=bases, amount=signed_amounts, span=spans)
def test_an_amount_per_month_adds_it_to_every_month_of_the_span(base, amount, span):
    first, last = span
    adjusted = _apply(
        base, Adjustment(Target(group=Group.WAGES), Change.AMOUNT, amount, first, last, Per.MONTH)
    )
    for period in MONTHS:
        change = _total(adjusted, (WAGES.key, KIWISAVER.key), [period]) - _total(
            base, (WAGES.key, KIWISAVER.key), [period]
        )
        assert change == (amount if first <= period <= last else 0)


@given(base=bases, value=money_values, span=spans, per=st.sampled_from([Per.MONTH, Per.TOTAL]))
def test_set_to_leaves_the_target_at_that_figure(base, value, span, per):
    first, last = span
    adjusted = _apply(
        base,
        Adjustment(
            Target(account_keys=frozenset({RENT.key})), Change.SET_TO, value, first, last, per
        ),
    )
    span_months = [p for p in MONTHS if first <= p <= last]
    if per == Per.MONTH:
        assert {adjusted[(RENT.key, None)][p] for p in span_months} == {value}
    else:
        assert _total(adjusted, (RENT.key,), span_months) == value


@given(base=bases, percent=percents)
@settings(max_examples=60)
def test_cost_of_sales_following_revenue_keeps_the_gross_margin(base, percent):
    adjusted = _apply(
        base,
        Adjustment(
            Target(group=Group.REVENUE),
            Change.PERCENT,
            percent,
            MONTHS[0],
            MONTHS[-1],
            cost_follows=True,
        ),
    )
    before = pnl_by_month(base, CHART, MONTHS)
    after = pnl_by_month(adjusted, CHART, MONTHS)
    for period in MONTHS:
        if before[period].revenue == 0 or after[period].revenue == 0:
            continue
        margin_before = before[period].cost_of_sales / before[period].revenue
        margin_after = after[period].cost_of_sales / after[period].revenue
        # To the cent on each figure: the margin may differ by the rounding of two cents.
        assert abs(margin_after - margin_before) * after[period].revenue <= Decimal("0.02")


@given(base=bases)
def test_the_profit_lines_add_up(base):
    for pnl in pnl_by_month(base, CHART, MONTHS).values():
        assert pnl.gross_profit == pnl.revenue - pnl.cost_of_sales
        assert pnl.net_profit == pnl.gross_profit + pnl.other_income - pnl.operating_expenses


def test_the_question_on_the_call_sales_up_15_percent_and_cogs_up_5():
    base = _base(
        {
            SALES.key: [Decimal("10000.00")] * 12,
            COGS.key: [Decimal("4000.00")] * 12,
            RENT.key: [Decimal("2000.00")] * 12,
        }
    )
    result = scenario_result(
        base=base,
        actuals={},
        chart=CHART,
        adjustments=[
            Adjustment(Target(group=Group.REVENUE), Change.PERCENT, Decimal(15), JULY, MONTHS[-1]),
            Adjustment(
                Target(group=Group.COST_OF_SALES), Change.PERCENT, Decimal(5), JULY, MONTHS[-1]
            ),
        ],
        first=JULY,
        last=MONTHS[-1],
        last_closed=None,
        year_end_month=6,
    )
    # Net profit a month: 11,500 - 4,200 - 2,000 = 5,300, against 4,000 in the base.
    assert result.months[0].scenario.net_profit == Decimal("5300.00")
    assert result.months[0].against_base.net_profit == Decimal("1300.00")
    (year,) = result.years
    assert year.start == JULY
    assert year.scenario.net_profit == Decimal("63600.00")
    assert year.base.net_profit == Decimal("48000.00")


def test_closed_months_are_compared_with_their_actuals_and_split_by_financial_year():
    base = _base({SALES.key: [Decimal("100.00")] * 12})
    actuals = _base({SALES.key: [Decimal("90.00")] * 12})
    result = scenario_result(
        base=base,
        actuals=actuals,
        chart=CHART,
        adjustments=[],
        first=JULY,
        last=MONTHS[-1],
        last_closed=dt.date(2026, 8, 1),
        year_end_month=12,
    )
    assert [m.actual is not None for m in result.months[:3]] == [True, True, False]
    assert result.months[0].against_actual.revenue == Decimal("10.00")
    assert [y.start for y in result.years] == [dt.date(2026, 1, 1), dt.date(2027, 1, 1)]
    assert [y.closed_months for y in result.years] == [2, 0]
    assert result.years[0].actual.revenue == Decimal("180.00")


def test_a_tracking_option_change_also_moves_the_overall_line():
    base = {
        (SALES.key, None): {JULY: Decimal("1000.00")},
        (SALES.key, NORTH): {JULY: Decimal("400.00")},
    }
    adjusted = _apply(
        base,
        Adjustment(
            Target(group=Group.REVENUE, tracking_option=NORTH),
            Change.PERCENT,
            Decimal(50),
            JULY,
            JULY,
        ),
    )
    assert adjusted[(SALES.key, NORTH)][JULY] == Decimal("600.00")
    assert adjusted[(SALES.key, None)][JULY] == Decimal("1200.00")


def test_targets_by_xero_class_and_type():
    base = _base({key: [Decimal("100.00")] * 12 for key in (1, 2, 3, 4, 5, 6)})
    by_class = _apply(
        base, Adjustment(Target(account_class="REVENUE"), Change.PERCENT, Decimal(10), JULY, JULY)
    )
    assert [by_class[(k, None)][JULY] for k in (1, 2, 3, 4)] == [
        Decimal("110.00"),
        Decimal("110.00"),
        Decimal("110.00"),
        Decimal("100.00"),
    ]
    by_type = _apply(
        base, Adjustment(Target(account_type="OVERHEADS"), Change.PERCENT, Decimal(10), JULY, JULY)
    )
    assert [by_type[(k, None)][JULY] for k in (5, 6)] == [Decimal("110.00"), Decimal("100.00")]


def test_an_amount_for_an_account_with_no_figures_gives_it_a_line():
    adjusted = _apply(
        {},
        Adjustment(
            Target(account_keys=frozenset({RENT.key})), Change.AMOUNT, Decimal(500), JULY, JULY
        ),
    )
    assert adjusted[(RENT.key, None)][JULY] == Decimal("500.00")


@pytest.mark.parametrize(
    ("adjustment", "message"),
    [
        (Adjustment(Target(), Change.PERCENT, Decimal(5), JULY, JULY), "which accounts"),
        (
            Adjustment(Target(group=Group.REVENUE), Change.PERCENT, Decimal(-101), JULY, JULY),
            "at most 100%",
        ),
        (
            Adjustment(
                Target(group=Group.REVENUE), Change.PERCENT, Decimal(5), JULY, dt.date(2027, 7, 1)
            ),
            "outside the scenario's months",
        ),
        (
            Adjustment(Target(group=Group.REVENUE), Change.PERCENT, Decimal(5), MONTHS[3], JULY),
            "reversed",
        ),
    ],
)
def test_an_adjustment_that_cannot_apply_applies_nothing(adjustment, message):
    with pytest.raises(ScenarioError, match=message):
        _apply(_base({SALES.key: [Decimal(1)] * 12}), adjustment)
