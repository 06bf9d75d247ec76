"""The flags of next year's draft and the firm's tendency, on constructed series. Pure."""

import datetime as dt

import pytest

from budgeting.annual.maths import (
    DEPARTS,
    LEVEL_SHIFT,
    ONE_OFF,
    SHORT_HISTORY,
    STARTED,
    STOPPED,
    decision_percent,
    departure,
    level_shift,
    line_flags,
    one_off_months,
    tendency_flag,
    tendency_of,
)
from core.months import add_months

JULY_2023 = dt.date(2023, 7, 1)
# A café's sales: a December peak and a quiet winter, the same every year.
PATTERN = [100, 95, 90, 100, 110, 180, 105, 95, 100, 110, 100, 85]


def months(count: int, first: dt.date = JULY_2023) -> list[dt.date]:
    return [add_months(first, i) for i in range(count)]


def seasonal(years: int = 3, growth: float = 0.0) -> list[float]:
    return [
        round(PATTERN[i % 12] * 10 * (1 + growth * (i // 12)) + (i % 5) * 3, 2)
        for i in range(12 * years)
    ]


def kinds(flags) -> list[str]:
    return [f.kind for f in flags]


NEXT_YEAR = months(12, dt.date(2026, 7, 1))


def test_a_recurring_december_peak_is_not_a_one_off():
    values = seasonal()
    assert one_off_months(values, months(36)) == []


def test_a_single_spike_is_a_one_off_and_the_ordinary_years_beside_it_are_not():
    values = seasonal()
    values[20] = values[20] * 4  # March 2025
    assert one_off_months(values, months(36)) == [dt.date(2025, 3, 1)]


def test_a_spike_with_only_two_years_of_history_flags_the_unusual_year_only():
    values = seasonal(years=2)
    values[3] = 5000  # October 2023; October 2024 is ordinary
    assert one_off_months(values, months(24)) == [dt.date(2023, 10, 1)]


def test_a_level_shift_is_found_at_the_month_it_began():
    values = [1000.0 + (i % 3) * 10 for i in range(18)] + [1600.0 + (i % 3) * 10 for i in range(18)]
    at, before, after = level_shift(values, months(36))
    assert at == 18
    assert before == pytest.approx(1010, abs=10)
    assert after == pytest.approx(1610, abs=10)
    flags = line_flags(
        values=values, months=months(36), draft=[1610.0] * 12, draft_months=NEXT_YEAR
    )
    shift = next(f for f in flags if f.kind == LEVEL_SHIFT)
    assert shift.months == (dt.date(2025, 1, 1),)
    assert shift.percent == pytest.approx(59.4, abs=1)
    assert "From January 2025" in shift.reason
    # A step is not a string of one-off months.
    assert ONE_OFF not in kinds(flags)


def test_steady_seasonal_growth_is_neither_a_shift_nor_a_departure():
    values = seasonal(growth=0.05)
    draft = [v * 1.05 for v in values[-12:]]
    assert line_flags(values=values, months=months(36), draft=draft, draft_months=NEXT_YEAR) == []


def test_an_account_that_stopped_is_flagged_from_its_first_quiet_month():
    values = [500.0] * 30 + [0.0] * 6
    flags = line_flags(values=values, months=months(36), draft=[0.0] * 12, draft_months=NEXT_YEAR)
    stopped = next(f for f in flags if f.kind == STOPPED)
    assert stopped.months == (dt.date(2026, 1, 1),)
    assert "No actuals since January 2026 (6 months at zero)" in stopped.reason


def test_an_account_that_started_eight_months_ago_is_started_and_short():
    values = [0.0] * 28 + [700.0, 710, 690, 705, 720, 700, 715, 705]
    flags = line_flags(values=values, months=months(36), draft=[705.0] * 12, draft_months=NEXT_YEAR)
    assert kinds(flags)[:2] == [STARTED, SHORT_HISTORY]
    assert flags[0].months == (dt.date(2025, 11, 1),)
    assert "Only 8 months of history" in flags[1].reason
    assert flags[1].months == tuple(months(8, dt.date(2025, 11, 1)))


def test_a_draft_far_from_last_year_is_flagged_with_the_months_that_depart():
    values = [1000.0] * 36
    draft = [1000.0] * 9 + [2500.0] * 3
    flag = departure(
        values=values, months=months(36), draft=draft, draft_months=NEXT_YEAR, currency="NZD"
    )
    assert flag is not None and flag.kind == DEPARTS
    assert flag.percent == pytest.approx(37.5)
    assert flag.months == tuple(NEXT_YEAR[9:])
    assert "NZ$16,500.00, +38% against the last twelve months' actuals of NZ$12,000.00" in (
        flag.reason
    )
    # Within the threshold: no flag; a higher threshold (the setting) is respected.
    assert (
        departure(values=values, months=months(36), draft=[1100.0] * 12, draft_months=NEXT_YEAR)
        is None
    )
    assert (
        departure(
            values=values,
            months=months(36),
            draft=draft,
            draft_months=NEXT_YEAR,
            departure_percent=40,
        )
        is None
    )


def test_a_line_with_no_history_has_no_flags_and_mismatched_months_are_refused():
    assert (
        line_flags(values=[0.0] * 24, months=months(24), draft=[0.0] * 12, draft_months=NEXT_YEAR)
        == []
    )
    with pytest.raises(ValueError, match="each value needs its month"):
        line_flags(values=[1.0] * 3, months=months(2), draft=[], draft_months=[])


def test_tendency_needs_three_of_the_last_drafts_the_same_way_and_none_the_other():
    assert decision_percent(suggested=1000, decided=900) == pytest.approx(-10)
    assert decision_percent(suggested=0, decided=900) is None
    lowered = tendency_of([-10.0, -8.0, 0.0, -12.0])
    assert lowered is not None
    assert (lowered.direction, lowered.percent, lowered.drafts, lowered.considered) == (
        "lowered",
        -10.0,
        3,
        4,
    )
    assert tendency_flag(lowered).reason == (
        "Approvers lowered this line's suggestions in 3 of the last 4 drafts for this client, "
        "by a median of -10.0%."
    )
    assert tendency_of([5.0, 6.0, 7.5]).direction == "raised"
    assert tendency_of([-10.0, -8.0]) is None  # only twice
    assert tendency_of([-10.0, -8.0, -9.0, 4.0]) is None  # once the other way
    assert tendency_of([-0.5, -0.4, -0.6]) is None  # too small to be a decision
    # Only the last five drafts count: older decisions the other way are forgotten.
    assert tendency_of([-10.0, -8.0, -9.0, 0.0, 0.0, 20.0, 25.0]).direction == "lowered"
