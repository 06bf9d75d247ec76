"""Which lines of next year's budget a reviewer should look at twice, and what the firm's past
decisions on the same client say. Pure: numbers and months in, flags out; no Django, no ORM.

A line's history is its monthly actuals, oldest first, one value per month (zero when the month
was quiet). Every detector returns the months it is about, so the screen can mark them on the
line's chart:

- one-off months: far from the account's own seasonal pattern (a robust z-score of the
  residual once the local level and the month-of-year effect are taken out) and far from the
  local level itself, so a December peak seen every year is not flagged and neither is the
  ordinary year beside an unusual one;
- a level shift: the median level after a month differs from the median before it by much more
  than the month-to-month noise, on at least six months each side;
- an account that stopped (its last months are all zero) or started (its first months are);
- history shorter than a year;
- a draft whose year departs from the last twelve months' actuals by more than a threshold.

`tendency_of` reads the percentages by which approvers changed the same line's suggestions in
the client's earlier drafts (newest first) and says whether they lean one way.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from core.money import amount_in

# A robust z-score above this is a one-off month (3.5 is Iglewicz and Hoaglin's cut-off).
ONE_OFF_Z = 3.5
MAD_TO_SD = 1.4826
MEAN_DEVIATION_TO_SD = 1.2533
NOISE_FLOOR_SHARE = 0.05
# Half the window of the local level: thirteen months, so one month cannot move it.
LEVEL_HALF_WINDOW = 6
# A level shift needs this many months on each side, and a step this many noise units tall
# and at least this share of the larger level.
SHIFT_MIN_MONTHS = 6
SHIFT_NOISE_MULTIPLE = 4.0
SHIFT_MIN_SHARE = 0.2
# Zero months in a row at the end (stopped) or at the start (started).
QUIET_MONTHS = 3
SHORT_HISTORY_MONTHS = 12
DEFAULT_DEPARTURE_PERCENT = 25.0
# The firm's tendency: at least this many of the last drafts moved the line the same way,
# each by at least this many percent, and none the other way.
TENDENCY_LAST_DRAFTS = 5
TENDENCY_MIN_DRAFTS = 3
TENDENCY_MIN_PERCENT = 1.0

ONE_OFF = "one_off"
LEVEL_SHIFT = "level_shift"
STOPPED = "stopped"
STARTED = "started"
SHORT_HISTORY = "short_history"
DEPARTS = "departs"
TENDENCY = "tendency"
KINDS = (ONE_OFF, LEVEL_SHIFT, STOPPED, STARTED, SHORT_HISTORY, DEPARTS, TENDENCY)


@dataclass(frozen=True)
class Flag:
    """One reason to look at a line twice. `percent` is the departure or the tendency's."""

    kind: str
    reason: str
    months: tuple[dt.date, ...] = ()
    percent: float | None = None


@dataclass(frozen=True)
class Tendency:
    direction: str  # "lowered" or "raised"
    percent: float  # the median change, signed
    drafts: int  # how many of the last drafts moved the line that way
    considered: int  # how many of the last drafts had the line


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _floor(values: Sequence[float]) -> float:
    """The least noise a series is taken to have: 5% of its typical month (and one currency
    unit), so a near-constant series does not turn a few dollars into an outlier."""
    return max(NOISE_FLOOR_SHARE * _median([abs(v) for v in values]), 1.0)


def _scale(residuals: Sequence[float], values: Sequence[float]) -> float:
    """The noise of a series, robustly: MAD as a standard deviation, floored."""
    centre = _median(residuals)
    mad = _median([abs(r - centre) for r in residuals])
    return max(MAD_TO_SD * mad, _floor(values))


def local_level(values: Sequence[float], half_window: int = LEVEL_HALF_WINDOW) -> list[float]:
    """Each month's centred median over `half_window` months each side (fewer at the ends)."""
    n = len(values)
    return [
        _median(values[max(0, i - half_window) : min(n, i + half_window + 1)]) for i in range(n)
    ]


def seasonal_effects(
    values: Sequence[float], season_length: int = 12
) -> tuple[list[float], list[float]]:
    """(detrended, seasonal): each month less its local level, and the month-of-year effect
    read from the same month in the other years only (zero with one year of history)."""
    level = local_level(values)
    detrended = [v - lv for v, lv in zip(values, level, strict=True)]
    seasonal = []
    for i in range(len(values)):
        others = [
            detrended[j] for j in range(i % season_length, len(values), season_length) if j != i
        ]
        seasonal.append(_median(others) if others else 0.0)
    return detrended, seasonal


def one_off_months(
    values: Sequence[float], months: Sequence[dt.date], *, z: float = ONE_OFF_Z
) -> list[dt.date]:
    """Months far from both the line's local level and its usual month-of-year effect."""
    if len(values) < 6 or not any(values):
        return []
    detrended, seasonal = seasonal_effects(values)
    residual = [d - s for d, s in zip(detrended, seasonal, strict=True)]
    scale = _scale(residual, values)
    centre = _median(residual)
    return [
        month
        for month, r, d in zip(months, residual, detrended, strict=True)
        if abs(r - centre) / scale > z and abs(d) / scale > z
    ]


def level_shift(values: Sequence[float], months: Sequence[dt.date]) -> tuple[int, float, float]:
    """(index of the first month at the new level, level before, level after), or (-1, 0, 0).

    Seasonally adjusted first, so a recurring peak is not a step. The step is the split with
    the largest median difference against the noise within the two sides."""
    n = len(values)
    if n < 2 * SHIFT_MIN_MONTHS:
        return -1, 0.0, 0.0
    _detrended, seasonal = seasonal_effects(values) if n >= 24 else ([], [0.0] * n)
    adjusted = [v - s for v, s in zip(values, seasonal, strict=True)]
    best, best_score, before_level, after_level = -1, 0.0, 0.0, 0.0
    for k in range(SHIFT_MIN_MONTHS, n - SHIFT_MIN_MONTHS + 1):
        before, after = adjusted[:k], adjusted[k:]
        b, a = _median(before), _median(after)
        # Not robust on purpose: months of the other level on the wrong side of a split must
        # count as noise, or every split near the true one would look as good.
        deviations = [abs(x - b) for x in before] + [abs(x - a) for x in after]
        noise = MEAN_DEVIATION_TO_SD * sum(deviations) / n
        step = abs(a - b)
        if step <= SHIFT_NOISE_MULTIPLE * max(noise, _floor(values)):
            continue
        if step < SHIFT_MIN_SHARE * max(abs(a), abs(b)):
            continue
        # The floor decides whether there is a step; the noise itself says where it is.
        score = step / max(noise, 1e-9)
        if score > best_score:
            best, best_score, before_level, after_level = k, score, b, a
    return best, before_level, after_level


def quiet_run(values: Sequence[float], *, from_end: bool) -> int:
    """How many months in a row are zero at the end (or the start) of the history."""
    count = 0
    for value in reversed(values) if from_end else values:
        if value != 0:
            break
        count += 1
    return count


def _percent(new: float, old: float) -> float | None:
    return None if old == 0 else (new - old) / abs(old) * 100


def line_flags(
    *,
    values: Sequence[float],
    months: Sequence[dt.date],
    draft: Sequence[float],
    draft_months: Sequence[dt.date],
    currency: str = "",
    departure_percent: float = DEFAULT_DEPARTURE_PERCENT,
) -> list[Flag]:
    """Every flag of one line: its history (`values` over `months`, oldest first) and its
    draft (`draft` over `draft_months`, the year budgeted)."""
    if len(values) != len(months) or len(draft) != len(draft_months):
        raise ValueError("each value needs its month")
    flags: list[Flag] = []
    if not any(values):
        return flags
    ended = quiet_run(values, from_end=True)
    began = quiet_run(values, from_end=False)
    active = values[began : len(values) - ended]
    if ended >= QUIET_MONTHS:
        flags.append(
            Flag(
                STOPPED,
                f"No actuals since {months[-ended]:%B %Y} ({ended} months at zero): the account "
                "looks stopped. Budget it at zero unless it will start again.",
                (months[-ended],),
            )
        )
    if began >= QUIET_MONTHS:
        flags.append(
            Flag(
                STARTED,
                f"First actual in {months[began]:%B %Y}: the account started then, so it has "
                "no earlier year to repeat.",
                (months[began],),
            )
        )
    active_months = len(values) - began
    if active_months < SHORT_HISTORY_MONTHS:
        flags.append(
            Flag(
                SHORT_HISTORY,
                f"Only {active_months} months of history: less than a year, so the draft "
                "cannot know the account's seasons.",
                tuple(months[began:]),
            )
        )
    one_offs = one_off_months(active, months[began : len(values) - ended])
    if one_offs:
        by_month = dict(zip(months, values, strict=True))
        listed = ", ".join(f"{m:%b %Y} ({amount_in(by_month[m], currency)})" for m in one_offs)
        flags.append(
            Flag(
                ONE_OFF,
                f"One-off months against the account's own seasonal pattern: {listed}. The "
                "draft does not repeat them; budget them again only if they will recur.",
                tuple(one_offs),
            )
        )
    shift_at, before, after = level_shift(active, months[began : len(values) - ended])
    if shift_at >= 0:
        start = months[began + shift_at]
        change = _percent(after, before)
        change_words = f" ({change:+.0f}%)" if change is not None else ""
        flags.append(
            Flag(
                LEVEL_SHIFT,
                f"From {start:%B %Y} the level moved from about {amount_in(before, currency)} to "
                f"about {amount_in(after, currency)} a month{change_words}; the draft follows "
                "the new level.",
                (start,),
                change,
            )
        )
    departs = departure(
        values=values,
        months=months,
        draft=draft,
        draft_months=draft_months,
        currency=currency,
        departure_percent=departure_percent,
    )
    if departs is not None:
        flags.append(departs)
    return flags


def departure(
    *,
    values: Sequence[float],
    months: Sequence[dt.date],
    draft: Sequence[float],
    draft_months: Sequence[dt.date],
    currency: str = "",
    departure_percent: float = DEFAULT_DEPARTURE_PERCENT,
) -> Flag | None:
    """The draft's year against the last twelve months' actuals, when it departs by more than
    `departure_percent`; the months flagged are those that depart from the same month of the
    last twelve by more than that (every month when the year departs but no month does)."""
    if not draft:
        return None
    last_year = list(values[-12:])
    total_last, total_draft = sum(last_year), sum(draft)
    change = _percent(total_draft, total_last)
    if change is None:
        if total_draft == 0:
            return None
        return Flag(
            DEPARTS,
            f"The draft's year is {amount_in(total_draft, currency)} where the last twelve "
            "months had no actuals.",
            tuple(draft_months),
        )
    if abs(change) <= departure_percent:
        return None
    same_month = {m.month: v for m, v in zip(months[-12:], last_year, strict=True)}
    marked = []
    for month, figure in zip(draft_months, draft, strict=True):
        before = same_month.get(month.month)
        month_change = _percent(figure, before) if before is not None else None
        if month_change is None or abs(month_change) > departure_percent:
            marked.append(month)
    return Flag(
        DEPARTS,
        f"The draft's year is {amount_in(total_draft, currency)}, {change:+.0f}% against the "
        f"last twelve months' actuals of {amount_in(total_last, currency)} (more than "
        f"{departure_percent:g}% apart).",
        tuple(marked or draft_months),
        change,
    )


def decision_percent(*, suggested: float, decided: float) -> float | None:
    """How far a person moved a line's suggested total, in percent of it."""
    return _percent(decided, suggested)


def tendency_of(
    changes: Sequence[float],
    *,
    last: int = TENDENCY_LAST_DRAFTS,
    min_drafts: int = TENDENCY_MIN_DRAFTS,
    min_percent: float = TENDENCY_MIN_PERCENT,
) -> Tendency | None:
    """`changes`: the percent each earlier draft's decided figures moved the line's
    suggestion, newest first. A tendency when at least `min_drafts` of the last `last` moved
    it the same way by at least `min_percent` and none moved it the other way."""
    recent = list(changes)[:last]
    down = [c for c in recent if c <= -min_percent]
    up = [c for c in recent if c >= min_percent]
    if len(down) >= min_drafts and not up:
        return Tendency("lowered", round(_median(down), 1), len(down), len(recent))
    if len(up) >= min_drafts and not down:
        return Tendency("raised", round(_median(up), 1), len(up), len(recent))
    return None


def tendency_flag(tendency: Tendency) -> Flag:
    return Flag(
        TENDENCY,
        f"Approvers {tendency.direction} this line's suggestions in {tendency.drafts} of the "
        f"last {tendency.considered} drafts for this client, by a median of "
        f"{tendency.percent:+.1f}%.",
        (),
        tendency.percent,
    )
