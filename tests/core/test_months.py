"""Month arithmetic at its edges."""

import datetime as dt

from core.months import months_between


def test_months_between_reaches_the_last_month_a_date_can_hold():
    # Found by the API's schema tests: a scenario ending in December 9999 (no month after it).
    months = months_between(dt.date(9999, 1, 1), dt.date(9999, 12, 1))
    assert (len(months), months[-1]) == (12, dt.date(9999, 12, 1))


def test_months_between_takes_any_day_of_the_first_and_last_months():
    assert months_between(dt.date(2026, 1, 15), dt.date(2026, 3, 10)) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
    assert months_between(dt.date(2026, 3, 1), dt.date(2026, 2, 1)) == []
