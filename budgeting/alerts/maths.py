"""Alert maths, pure: what an account should have reached by this day of the month, the band
around it, the month's end at the present pace, and which severity step a figure has passed.

Numbers in, numbers out: no Django, no ORM. Amounts are in the P&L's natural sign (revenue and
expenses both positive), as budgeting.ledger stores them.

- The intra-month pattern: an account's spend is not spread evenly over a month (rent on the
  1st, wages on the 20th). For each past month the share of the month's total booked by the
  same point of the month (a day scaled to that month's length) is read, and the shares are
  averaged. Few months say little, so the average is pulled toward the even spread: with n
  months of history the pattern weighs n / (n + PRIOR_MONTHS). No history: the even spread.
- Expected by this day = the month's budget x the pattern's share. The band is the forecast's
  prediction interval for the month, scaled by the same share (its width grows through the
  month as the total does). With no forecast kept, the band is DEFAULT_BAND_80 / _95 of the
  expected figure either side.
- Which side is bad: an expense above the band, revenue below it.
- The projection: the month-to-date divided by the pattern's share (at least MIN_SHARE, so a
  figure on the first morning is not multiplied by a hundred).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.money import money

ZERO = Decimal("0.00")
PRIOR_MONTHS = 2
MIN_SHARE = 0.1
DEFAULT_BAND_80 = Decimal("0.15")
DEFAULT_BAND_95 = Decimal("0.30")

# Severity steps: each is alerted at most once per rule, account (and option) and month.
NONE = 0
WARNING = 1
CRITICAL = 2


@dataclass(frozen=True)
class DailyHistory:
    """One past month of an account: amount per day of the month, and the month's length."""

    days: int
    amounts: Mapping[int, Decimal]


@dataclass(frozen=True)
class Expectation:
    share: float  # of the month's total expected by this day, 0..1
    expected: Decimal
    lo_80: Decimal
    hi_80: Decimal
    lo_95: Decimal
    hi_95: Decimal


@dataclass(frozen=True)
class Interval:
    """A forecast of the month's total with its prediction intervals."""

    point: Decimal
    lo_80: Decimal
    hi_80: Decimal
    lo_95: Decimal
    hi_95: Decimal


@dataclass(frozen=True)
class Breach:
    severity: int  # NONE, WARNING or CRITICAL
    by: Decimal  # how far past the edge that set the severity (positive), ZERO for NONE
    edge: Decimal  # the band's edge or the limit that was passed


def even_share(day: int, days: int) -> float:
    return min(1.0, max(0.0, day / days))


def month_share(history: DailyHistory, *, day: int, days: int) -> float | None:
    """The share of `history`'s month total booked by the same point of its month; None when the
    month's total is not positive (nothing to learn a pattern from)."""
    total = sum(history.amounts.values(), ZERO)
    if total <= 0:
        return None
    # Day 15 of a 30-day month is day 14 of February (15/30 * 28 = 14): the same point.
    scaled = math.ceil(day / days * history.days - 1e-9)
    by_then = sum((a for d, a in history.amounts.items() if d <= scaled), ZERO)
    return min(1.0, max(0.0, float(by_then / total)))


def pattern_share(history: Sequence[DailyHistory], *, day: int, days: int) -> float:
    """The share of the month expected by `day` from the account's own past months, pulled
    toward the even spread when there are few of them."""
    even = even_share(day, days)
    shares = [s for s in (month_share(h, day=day, days=days) for h in history) if s is not None]
    if not shares:
        return even
    weight = len(shares) / (len(shares) + PRIOR_MONTHS)
    return weight * (sum(shares) / len(shares)) + (1 - weight) * even


def _scaled(amount: Decimal, share: float) -> Decimal:
    return money(amount * Decimal(str(share)))


def expectation(*, budget: Decimal, share: float, interval: Interval | None) -> Expectation:
    """What the month-to-date should be by now, with its 80% and 95% bands."""
    expected = _scaled(budget, share)
    if interval is None:
        w80, w95 = abs(expected) * DEFAULT_BAND_80, abs(expected) * DEFAULT_BAND_95
        return Expectation(
            share=share,
            expected=expected,
            lo_80=money(expected - w80),
            hi_80=money(expected + w80),
            lo_95=money(expected - w95),
            hi_95=money(expected + w95),
        )
    # The interval's distances from its point, laid around the budget: the budget is what the
    # firm agreed, the forecast says how far a month of this account usually strays.
    return Expectation(
        share=share,
        expected=expected,
        lo_80=_scaled(budget - (interval.point - interval.lo_80), share),
        hi_80=_scaled(budget + (interval.hi_80 - interval.point), share),
        lo_95=_scaled(budget - (interval.point - interval.lo_95), share),
        hi_95=_scaled(budget + (interval.hi_95 - interval.point), share),
    )


def projection(month_to_date: Decimal, share: float) -> Decimal:
    """The month's end if the pace so far holds."""
    return (month_to_date / Decimal(str(max(share, MIN_SHARE)))).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def band_breach(*, actual: Decimal, expectation: Expectation, revenue: bool) -> Breach:
    """WARNING past the 80% band on the bad side, CRITICAL past the 95% band."""
    if revenue:
        if actual < expectation.lo_95:
            return Breach(CRITICAL, money(expectation.lo_95 - actual), expectation.lo_95)
        if actual < expectation.lo_80:
            return Breach(WARNING, money(expectation.lo_80 - actual), expectation.lo_80)
    else:
        if actual > expectation.hi_95:
            return Breach(CRITICAL, money(actual - expectation.hi_95), expectation.hi_95)
        if actual > expectation.hi_80:
            return Breach(WARNING, money(actual - expectation.hi_80), expectation.hi_80)
    return Breach(NONE, ZERO, ZERO)


def limit_breach(*, actual: Decimal, projected: Decimal, limit: Decimal) -> Breach:
    """CRITICAL once the month-to-date is over the limit; WARNING while only the month's end at
    this pace is."""
    if actual > limit:
        return Breach(CRITICAL, money(actual - limit), limit)
    if projected > limit:
        return Breach(WARNING, money(projected - limit), limit)
    return Breach(NONE, ZERO, ZERO)


def disconnected_reason(count: int) -> str:
    """Why changed documents were not fetched, as the alerts screen and the batch say it."""
    documents = "document" if count == 1 else "documents"
    return f"Xero disconnected: {count} changed {documents} not fetched; reconnect and sync"
