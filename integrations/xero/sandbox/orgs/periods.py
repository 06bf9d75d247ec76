"""Month arithmetic for the generator. A month is the date of its first day, as in the product."""

from __future__ import annotations

import calendar
import datetime as dt


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def month_key(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def days_in_month(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def months_from(start: dt.date, count: int) -> list[dt.date]:
    return [add_months(start, offset) for offset in range(count)]


def financial_year_start(month: dt.date, year_end_month: int) -> dt.date:
    """First month of the financial year that contains `month`."""
    first_month = year_end_month % 12 + 1
    year = month.year if month.month >= first_month else month.year - 1
    return dt.date(year, first_month, 1)


def period_lock_date(today: dt.date) -> dt.date:
    # Firms close the books monthly: the previous month is locked, the current one is open.
    return month_start(today) - dt.timedelta(days=1)


def southern_season(month: dt.date) -> str:
    return ("Summer", "Autumn", "Winter", "Spring")[(month.month % 12) // 3]
