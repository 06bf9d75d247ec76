"""The date windows Xero's API needs. Pure: no ORM, no HTTP. Month arithmetic itself is
core.months, the one copy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from core.months import add_months, days_in_month, month_end, month_start


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
        base_days = days_in_month(month)
        periods = 0
        while periods < 11:
            previous = add_months(month, -(periods + 1))
            if previous < first or days_in_month(previous) > base_days:
                break
            periods += 1
        yield month, periods
        month = add_months(month, -(periods + 1))


def balance_sheet_calls(first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, int]]:
    """(newest month, periods) for the fewest BalanceSheet calls that give every month's end
    from first to last. A balance sheet is at a date, so month lengths do not matter: each call
    gives its month and up to 11 before it (docs: "periods" 1-11)."""
    month = month_start(last)
    first = month_start(first)
    while month >= first:
        periods = min(11, (month.year - first.year) * 12 + month.month - first.month)
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
