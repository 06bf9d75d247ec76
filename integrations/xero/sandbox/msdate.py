"""Xero's date formats: Microsoft JSON dates and the few text formats reports use."""

from __future__ import annotations

import datetime as dt
import email.utils
import re

_EPOCH = dt.datetime(1970, 1, 1)


def ms_date(value: dt.date | dt.datetime) -> str:
    """`/Date(1573755038314+0000)/`, as Xero writes dates and timestamps (spec x-is-msdate)."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    millis = int((value - _EPOCH).total_seconds() * 1000)
    return f"/Date({millis}+0000)/"


_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_ms_date(value: str) -> dt.datetime:
    """The inverse of ms_date: a naive UTC datetime."""
    match = _MS_DATE.match(value)
    if match is None:
        raise ValueError(f"not a Microsoft JSON date: {value!r}")
    return _EPOCH + dt.timedelta(milliseconds=int(match.group(1)))


def iso_date_string(value: dt.date) -> str:
    """Xero's `DateString`: the date with a midnight time and no zone, e.g. 2026-01-31T00:00:00."""
    return f"{value.isoformat()}T00:00:00"


def iso_utc(value: dt.datetime) -> str:
    """Webhook `eventDateUtc` style: 2024-06-21T01:15:39.902 (milliseconds, no zone)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def parse_if_modified_since(value: str) -> dt.datetime | None:
    """Accept the spec's ISO example (2020-02-06T12:17:43.202-08:00) and RFC 1123 HTTP dates."""
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def parse_query_date(value: str) -> dt.date:
    """Query-string dates (fromDate, DateFrom, date): YYYY-MM-DD, ValueError otherwise."""
    return dt.date.fromisoformat(value.strip()[:10])


def long_date(value: dt.date) -> str:
    """'14 April 2026', the ReportDate and ReportTitles style."""
    return f"{value.day} {value.strftime('%B %Y')}"


def short_column_date(value: dt.date) -> str:
    """'28 Feb 26', the P&L column header style in Xero's docs example."""
    return f"{value.day} {value.strftime('%b %y')}"


def period_key(value: dt.date) -> str:
    """Budget periods are months written 'YYYY-MM' (spec BudgetBalance.Period)."""
    return f"{value.year:04d}-{value.month:02d}"
