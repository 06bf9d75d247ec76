"""The one clock. "Now" is Django's timezone.now(); "today" depends on where: the firm's
TIME_ZONE for the firm's own day (digests, file names), the organisation's time zone for its
months, since a New Zealand client's month ends eleven hours before UTC's does.

Tests move this clock with time-machine (tests/clock.py); nothing here reads the real date in
another way.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.months import Period, add_months, last_closed_month, month_start

# Xero's Organisation.Timezone holds Windows time-zone names in capitals without spaces
# ("NEWZEALANDSTANDARDTIME"; the TimeZone enum in xero_accounting.yaml). The CLDR mapping of
# Windows names to IANA zones ships with tzlocal (a Celery dependency); two of Xero's names are
# older Windows names that the mapping no longer lists.
_XERO_EXTRA = {
    "KAMCHATKASTANDARDTIME": "Asia/Kamchatka",
    "MIDATLANTICSTANDARDTIME": "Etc/GMT+2",
}


@functools.cache
def _xero_zones() -> dict[str, str]:
    from tzlocal.windows_tz import win_tz

    zones = {re.sub(r"[^A-Z0-9]", "", name.upper()): zone for name, zone in win_tz.items()}
    return {**zones, **_XERO_EXTRA}


def xero_zone(name: str | None) -> dt.tzinfo:
    """The zone of a Xero Timezone name (or an IANA name); TIME_ZONE when it is unknown."""
    if name:
        zone = _xero_zones().get(re.sub(r"[^A-Z0-9]", "", name.upper()))
        if zone is None and "/" in name:
            zone = name
        if zone is not None:
            try:
                return zoneinfo.ZoneInfo(zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                pass
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def today(zone_name: str | None = None) -> dt.date:
    """Today where the organisation is (its Xero Timezone), or in TIME_ZONE."""
    return timezone.localdate(timezone.now(), timezone=xero_zone(zone_name))


@dataclass(frozen=True)
class MonthWindow:
    """An organisation's months as every grid, chart, CSV and API response shows them.

    `open_month` is the month it is now where the organisation is: its actuals are partial.
    `last_closed` is the last month Xero's PeriodLockDate closes (None before any lock), and
    `last_complete` the month before the open one, which screens show when nothing is locked.
    """

    open_month: Period
    last_closed: Period | None

    @property
    def last_complete(self) -> Period:
        return add_months(self.open_month, -1)

    @property
    def reporting_month(self) -> Period:
        """The month a report opens on: the last closed month, else the last complete one."""
        return self.last_closed or self.last_complete

    def months(self, count: int) -> list[Period]:
        """The last `count` months, ending with the open month."""
        return [add_months(self.open_month, offset) for offset in range(1 - count, 1)]


def month_window(*, zone_name: str | None, period_lock_date: dt.date | None) -> MonthWindow:
    return MonthWindow(
        open_month=month_start(today(zone_name)),
        last_closed=last_closed_month(period_lock_date),
    )
