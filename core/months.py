"""Month arithmetic, the one copy. The product's period type is the first day of a month.

Pure: no Django, no ORM. The Xero sandbox uses it too.
"""

from __future__ import annotations

import calendar
import datetime as dt

Period = dt.date


def month_start(day: dt.date) -> Period:
    return day.replace(day=1)


def days_in_month(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=days_in_month(month))


def add_months(month: Period, count: int) -> Period:
    """The first day of the month `count` months after (or before) `month`'s month."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months_to_date(day: dt.date, count: int) -> dt.date:
    """The same day `count` months later (or earlier), clamped to the end of a shorter month,
    as Xero moves a report's date range back by whole periods."""
    month = add_months(day, count)
    return month.replace(day=min(day.day, days_in_month(month)))


def months_between(first: dt.date, last: dt.date) -> list[Period]:
    """Every month from first's to last's, both included."""
    months, month, end = [], month_start(first), month_start(last)
    while month <= end:
        months.append(month)
        if month == end:
            break  # not one month further: after December 9999 there is no date
        month = add_months(month, 1)
    return months


def month_key(month: dt.date) -> str:
    """'2026-10', the key of a month in URLs, CSV headers and the API."""
    return f"{month.year:04d}-{month.month:02d}"


def parse_month(value: str | None) -> Period | None:
    """'2026-10' (or a whole ISO date, '2026-10-31') -> 2026-10-01; None for anything else, so
    '2026-13', '2026-10-99' or '2026-10junk' is refused by the caller, never read as October."""
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) == 7:
            return dt.datetime.strptime(text, "%Y-%m").date()
        return month_start(dt.date.fromisoformat(text[:10])) if len(text) == 10 else None
    except ValueError:
        return None


def financial_year_start(day: dt.date, *, end_month: int) -> Period:
    """First month of the financial year containing `day`, for a year ending in end_month."""
    start_month = end_month % 12 + 1
    year = day.year if day.month >= start_month else day.year - 1
    return dt.date(year, start_month, 1)


def last_closed_month(period_lock_date: dt.date | None) -> Period | None:
    """The last whole month on or before Xero's PeriodLockDate (a lock on the 15th closes only
    the month before)."""
    if period_lock_date is None:
        return None
    if (period_lock_date + dt.timedelta(days=1)).day == 1:
        return month_start(period_lock_date)
    return add_months(month_start(period_lock_date), -1)
