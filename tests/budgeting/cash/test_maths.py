"""The cash maths: terms from the client's own history, and three statements that tie."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from budgeting.cash.maths import (
    CashMonth,
    MonthActual,
    MonthPlan,
    cash_first_below,
    cash_project,
    cash_terms,
)
from core.months import add_months

D = Decimal


def _history(months=12, *, start=dt.date(2025, 1, 1)) -> list[MonthActual]:
    """A business selling 30,000 a month on 30-day terms, buying 18,000 on 15-day terms, with
    GST charged at 10% of revenue and paid every two months (in even months)."""
    out = []
    tax = D("3000.00")
    for i in range(months):
        period = add_months(start, i)
        days = D((add_months(period, 1) - period).days)
        debtors = (D(30) * D(30000) / days).quantize(D("0.01"))
        creditors = (D(15) * D(18000) / days).quantize(D("0.01"))
        tax = D("3000.00") if period.month % 2 == 0 else tax + D("3000.00")
        cash = D("50000.00") + i * D("1000.00")
        other = D("20000.00")
        assets = cash + debtors + other
        liabilities = creditors + tax + D("10000.00")
        out.append(
            MonthActual(
                period=period,
                revenue=D("30000.00"),
                costs=D("18000.00"),
                depreciation=D("500.00"),
                cash=cash,
                debtors=debtors,
                creditors=creditors,
                tax=tax,
                assets=assets,
                liabilities=liabilities,
                equity=assets - liabilities,
            )
        )
    return out


def test_terms_come_from_the_history():
    terms = cash_terms(_history())
    assert terms.debtor_days == D("30.0")
    assert terms.creditor_days == D("15.0")
    assert terms.tax_rate == D("0.1000")
    assert terms.tax_cycle == 2
    assert terms.last_settlement == dt.date(2025, 12, 1)


def test_a_history_without_settlements_says_what_it_assumed():
    flat = [
        MonthActual(dt.date(2025, m, 1), D(100), D(50), D(0), D(10), D(0), D(0), D(m * 10),
                    D(10), D(m * 10), D(10) - D(m * 10))
        for m in range(1, 5)
    ]  # fmt: skip
    terms = cash_terms(flat)
    assert terms.tax_cycle == 2 and terms.last_settlement is None
    assert "assumed every 2 months" in terms.notes[0]


def _plan(first: dt.date, revenue: list[int], costs=20000, depreciation=500) -> list[MonthPlan]:
    return [
        MonthPlan(add_months(first, i), D(str(r)), D(costs), D(depreciation))
        for i, r in enumerate(revenue)
    ]


def _tie(before: CashMonth, month: CashMonth) -> None:
    # The balance sheet balances.
    assert month.assets == month.liabilities + month.equity
    # Equity moves by the P&L's net profit.
    assert month.equity - before.equity == month.net_profit
    # Cash moves by the cash flow, and the cash flow is the P&L plus the balance sheet's moves.
    assert month.cash - before.cash == month.net_cash_flow
    assert month.net_cash_flow == (
        month.net_profit
        + month.depreciation
        - (month.debtors - before.debtors)
        + (month.creditors - before.creditors)
        + (month.tax - before.tax)
    )


@pytest.mark.parametrize(
    "revenue",
    [[30000] * 12, [45000, 12000, 0, 90000, "31000.55", 28000, 1, 0, 0, 50000, 60000, 70000]],
)
def test_the_three_statements_tie_every_month_to_the_cent(revenue):
    history = _history()
    projection = cash_project(history, _plan(dt.date(2026, 1, 1), revenue))
    months = projection.months
    assert [m.actual for m in months] == [True] * 12 + [False] * 12
    for before, month in itertools.pairwise(months[11:]):
        _tie(before, month)
        for value in (month.cash, month.debtors, month.creditors, month.tax, month.equity):
            assert value == value.quantize(D("0.01"))


def test_debtors_creditors_and_tax_follow_the_terms():
    projection = cash_project(_history(), _plan(dt.date(2026, 1, 1), [31000, 31000, 31000]))
    january, february, march = projection.projected
    assert january.debtors == D("30000.00")  # 30 days of a 31-day month's 31,000
    assert january.creditors == (D(15) * D(20000) / 31).quantize(D("0.01"))
    # December settled; January and March charge 3,100 each, February pays what January owed.
    assert january.tax_paid == 0 and january.tax == D("6100.00")
    assert february.tax_paid == D("6100.00") and february.tax == D("3100.00")
    assert march.tax_paid == 0 and march.tax == D("6200.00")


def test_the_low_point_and_the_first_month_below_the_threshold():
    plan = _plan(dt.date(2026, 1, 1), [30000, 5000, 0, 0, 40000, 60000])
    projection = cash_project(_history(), plan, threshold=D("50000.00"))
    cash = [m.cash for m in projection.projected]
    assert projection.low.cash == min(cash)
    # Sales come back in May but are collected in June (30 debtor days): May is the low.
    assert projection.low.period == dt.date(2026, 5, 1)
    # April is the first month under 50,000, before the low.
    assert projection.below.period == dt.date(2026, 4, 1)
    assert projection.below.cash == D("43322.58")
    assert all(m.cash >= D("50000.00") for m in projection.projected[:3])
    assert cash_first_below(projection.projected, None) is None
    assert cash_first_below(projection.projected, min(cash)) is None


def test_the_projection_starts_after_the_last_actual_month_and_stops_at_a_gap():
    history = _history()
    plan = _plan(dt.date(2025, 11, 1), [1, 1, 1, 1]) + _plan(dt.date(2026, 6, 1), [1])
    projection = cash_project(history, plan)
    assert [m.period for m in projection.projected] == [dt.date(2026, 1, 1), dt.date(2026, 2, 1)]
    assert cash_project([], plan).months == ()
