"""Month arithmetic and the windows Xero's API needs. Pure: no ORM, no HTTP."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(month: dt.date) -> dt.date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from first to last inclusive, as first-of-month dates."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def days_in(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def profit_and_loss_calls(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, int]]:
    """(base month, periods) for the fewest P&L calls that give whole months from first to last.

    Xero applies the base month's date range to every prior period ("if the specified date range
    is for a 30 day month, each prior period will only include the first 30 days"), so one call
    covers the base month and up to 11 earlier months only while none of them is longer than the
    base. A 31-day base month gives 12 whole months per call.
    """
    month = month_start(last)
    first = month_start(first)
    while month >= first:
        base_days = days_in(month)
        periods = 0
        while periods < 11:
            previous = add_months(month, -(periods + 1))
            if previous < first or days_in(previous) > base_days:
                break
            periods += 1
        yield month, periods
        month = add_months(month, -(periods + 1))


def budget_windows(
    first: dt.date, last: dt.date, *, months: int = 24
) -> Iterator[tuple[dt.date, dt.date]]:
    """(DateFrom, DateTo) windows of at most `months` months covering first..last."""
    start = month_start(first)
    while start <= last:
        end = min(add_months(start, months) - dt.timedelta(days=1), month_end(last))
        yield start, end
        start = add_months(start, months)


def financial_year_start(today: dt.date, *, end_month: int) -> dt.date:
    """First month of the financial year containing `today`, for a year ending in end_month."""
    start_month = end_month % 12 + 1
    year = today.year if today.month >= start_month else today.year - 1
    return dt.date(year, start_month, 1)
