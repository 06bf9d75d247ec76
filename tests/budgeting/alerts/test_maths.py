"""The alert maths: the intra-month pattern, the band, the pace, the severity steps."""

from decimal import Decimal as D

import pytest

from budgeting.alerts import maths
from budgeting.alerts.maths import DailyHistory, Interval


def test_no_history_spreads_the_month_evenly():
    assert maths.pattern_share([], day=15, days=30) == pytest.approx(0.5)
    assert maths.pattern_share([], day=30, days=30) == pytest.approx(1.0)


def test_rent_on_the_first_is_expected_in_full_from_the_first():
    rent = [DailyHistory(days=31, amounts={1: D("3000")}) for _ in range(6)]
    share = maths.pattern_share(rent, day=2, days=30)
    # Six months of "all on the 1st" weigh 6/8; the even spread 2/8 of 2/30.
    assert share == pytest.approx(0.75 * 1.0 + 0.25 * (2 / 30))


def test_a_day_is_read_at_the_same_point_of_a_shorter_month():
    february = DailyHistory(days=28, amounts={14: D("100"), 28: D("100")})
    # Day 15 of 30 is day 14 of February: half the month's total was in by then.
    assert maths.month_share(february, day=15, days=30) == pytest.approx(0.5)


def test_a_month_with_nothing_teaches_nothing():
    empty = DailyHistory(days=30, amounts={})
    refunds = DailyHistory(days=30, amounts={3: D("-50")})
    assert maths.pattern_share([empty, refunds], day=10, days=30) == pytest.approx(10 / 30)


def test_the_forecast_interval_is_laid_around_the_budget_and_scaled_by_the_share():
    interval = Interval(
        point=D("1100"), lo_80=D("900"), hi_80=D("1400"), lo_95=D("800"), hi_95=D("1600")
    )
    e = maths.expectation(budget=D("1000"), share=0.5, interval=interval)
    assert e.expected == D("500.00")
    assert (e.lo_80, e.hi_80) == (D("400.00"), D("650.00"))
    assert (e.lo_95, e.hi_95) == (D("350.00"), D("750.00"))


def test_without_a_forecast_the_band_is_a_share_of_the_expected_figure():
    e = maths.expectation(budget=D("1000"), share=0.5, interval=None)
    assert (e.lo_80, e.hi_80, e.lo_95, e.hi_95) == (
        D("425.00"),
        D("575.00"),
        D("350.00"),
        D("650.00"),
    )


def test_the_pace_projects_the_month_end_and_the_first_morning_is_not_multiplied_by_a_hundred():
    assert maths.projection(D("600"), 0.5) == D("1200.00")
    assert maths.projection(D("600"), 0.01) == D("6000.00")


@pytest.mark.parametrize(
    ("actual", "severity", "by"),
    [
        ("560", maths.NONE, "0.00"),
        ("600", maths.WARNING, "25.00"),
        ("700", maths.CRITICAL, "50.00"),
    ],
)
def test_an_expense_breaks_the_band_upwards(actual, severity, by):
    e = maths.expectation(budget=D("1000"), share=0.5, interval=None)
    breach = maths.band_breach(actual=D(actual), expectation=e, revenue=False)
    assert (breach.severity, breach.by) == (severity, D(by))


def test_revenue_breaks_the_band_downwards_and_never_upwards():
    e = maths.expectation(budget=D("1000"), share=0.5, interval=None)
    assert maths.band_breach(actual=D("900"), expectation=e, revenue=True).severity == maths.NONE
    low = maths.band_breach(actual=D("300"), expectation=e, revenue=True)
    assert (low.severity, low.by, low.edge) == (maths.CRITICAL, D("50.00"), D("350.00"))


def test_a_limit_warns_on_the_pace_and_is_critical_once_passed():
    assert maths.limit_breach(actual=D("400"), projected=D("900"), limit=D("1000")).severity == 0
    warn = maths.limit_breach(actual=D("600"), projected=D("1200"), limit=D("1000"))
    assert (warn.severity, warn.by) == (maths.WARNING, D("200.00"))
    over = maths.limit_breach(actual=D("1100"), projected=D("2200"), limit=D("1000"))
    assert (over.severity, over.by) == (maths.CRITICAL, D("100.00"))
