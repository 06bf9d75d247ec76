"""Rolling-origin backtests of every candidate on the series' own history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from budgeting.forecasting.candidates import candidates_for

# Three origins keep the cost at four fits per candidate while giving each method a few dozen
# out-of-sample errors to be judged and calibrated on.
ORIGINS = 3
# Fewer months than this before an origin leave too little to fit a trend.
MIN_TRAIN = 6
LEVEL_SCALE_FLOOR = 1e-3


@dataclass(frozen=True)
class OriginResult:
    """One method's forecast from one origin, against what actually happened."""

    actual: np.ndarray
    error: np.ndarray
    spread: np.ndarray
    scale: float


@dataclass
class Backtest:
    origins: int = 0
    results: dict[str, list[OriginResult]] = field(default_factory=dict)

    def complete_methods(self) -> list[str]:
        """Methods scored at every origin; only these can be compared fairly."""
        return [m for m, found in self.results.items() if len(found) == self.origins]

    def scaled_errors(self, method: str) -> np.ndarray:
        """|error| / (history scale x model spread): one distribution for all origins and steps."""
        return np.concatenate(
            [np.abs(r.error) / (r.scale * r.spread) for r in self.results.get(method, [])]
            or [np.empty(0)]
        )

    def mase(self, method: str) -> float:
        """Mean absolute error over the history's mean absolute monthly change."""
        errors = [np.abs(r.error) / r.scale for r in self.results.get(method, [])]
        return float(np.mean(np.concatenate(errors))) if errors else math.nan

    def smape(self, method: str) -> float:
        found = self.results.get(method, [])
        if not found:
            return math.nan
        actual = np.concatenate([r.actual for r in found])
        error = np.concatenate([r.error for r in found])
        denominator = np.abs(actual) + np.abs(actual - error)
        ratio = np.divide(
            np.abs(error), denominator, out=np.zeros_like(actual), where=denominator > 0
        )
        return float(200 * np.mean(ratio))


# Months with activity an origin's training window needs before its errors are worth scaling.
MIN_NONZERO_TRAIN = 3


def history_scale(history: np.ndarray) -> float:
    """Mean absolute month-to-month change: a unit that exists for any sign and any level.

    Floored at 0.1% of the level: a fixed fee that never moved has no change to measure by, and
    a near-zero unit would turn its first small change into an enormous scaled error.
    """
    if len(history) < 2:
        # One month says nothing about how much months differ: assume as much as the month.
        return max(abs(float(history[-1])), 1.0)
    level = float(np.mean(np.abs(history)))
    change = float(np.mean(np.abs(np.diff(history))))
    return max(change, LEVEL_SCALE_FLOOR * level, 1e-9)


def backtest_origins(n: int, horizon: int, season_length: int) -> list[int]:
    """Origins spaced across the last `horizon` months (at least a season), each leaving
    enough history to fit.

    Two seasons of training where the series allows it, so the seasonal test runs at the
    origins as it does on the full history. A short horizon still spreads its origins over a
    season: origins bunched in the last few months share the same few shocks, and intervals
    calibrated on them came out too narrow.
    """
    min_train = max(MIN_TRAIN, min(2 * season_length, n // 2))
    span = min(max(horizon, season_length), n - min_train)
    if span < 1:
        return []
    gap = max(1, math.ceil(span / ORIGINS))
    return sorted({n - r * gap for r in range(1, ORIGINS + 1) if n - r * gap >= min_train})


def run_backtest(
    clean: np.ndarray,
    raw: np.ndarray,
    horizon: int,
    season_length: int,
    *,
    intermittent: bool,
) -> Backtest:
    origins = backtest_origins(len(clean), horizon, season_length)
    result = Backtest(origins=len(origins))
    for origin in origins:
        steps = min(horizon, len(clean) - origin)
        train = clean[:origin]
        if np.count_nonzero(train) < MIN_NONZERO_TRAIN:
            # (Almost) nothing but zeros before this origin (spend that started later): no
            # method can learn from it, and the scale of so few changes is no unit for its
            # errors; dividing by it turned them into astronomical interval widths.
            continue
        scale = history_scale(train)
        # Scored against the raw months: future spikes will happen too, and the intervals
        # should own up to them.
        actual = raw[origin : origin + steps]
        found = candidates_for(train, steps, season_length, intermittent=intermittent)
        for method, candidate in found.items():
            result.results.setdefault(method, []).append(
                OriginResult(actual, actual - candidate.point, candidate.spread, scale)
            )
    return result
