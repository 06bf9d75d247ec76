"""Dates for the generator. A month is the date of its first day, as in the product; the month
arithmetic is core.months, the product's own."""

from __future__ import annotations

import datetime as dt

from core.months import month_start


def period_lock_date(today: dt.date) -> dt.date:
    # Firms close the books monthly: the previous month is locked, the current one is open.
    return month_start(today) - dt.timedelta(days=1)


def southern_season(month: dt.date) -> str:
    return ("Summer", "Autumn", "Winter", "Spring")[(month.month % 12) // 3]
