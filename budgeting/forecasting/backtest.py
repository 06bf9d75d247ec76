"""Rolling-origin backtests of every candidate on the series' own history."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from budgeting.forecasting.candidates import COMBINED, candidates_for
from budgeting.forecasting.preprocess import seasonal_adjustment

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
    origin: int = 0


@dataclass
class Backtest:
    origins: int = 0
    results: dict[str, list[OriginResult]] = field(default_factory=dict)
    # The combination as the final forecast builds it, at every origin: where an origin has
    # fewer than two seasons of its own, it borrows the whole history's seasonal structure
    # (`borrowed` counts those origins). Only the intervals are calibrated on these; choosing
    # the method stays with the origins' own fits (`results`), which judge honestly.
    calibration: list[OriginResult] = field(default_factory=list)
    borrowed: int = 0
    # Months of history and the season, for `calibration_draws`.
    months: int = 0
    season_length: int = 12

    def complete_methods(self) -> list[str]:
        """Methods scored at every origin; only these can be compared fairly."""
        return [m for m, found in self.results.items() if len(found) == self.origins]

    def scaled_errors(self, method: str) -> np.ndarray:
        """|error| / (history scale x model spread): one distribution for all origins and steps."""
        return np.concatenate(
            [np.abs(r.error) / (r.scale * r.spread) for r in self.results.get(method, [])]
            or [np.empty(0)]
        )

    def calibration_errors(self) -> np.ndarray:
        """Scaled errors of the combination the final forecast uses (see `calibration`)."""
        return np.concatenate(
            [np.abs(r.error) / (r.scale * r.spread) for r in self.calibration] or [np.empty(0)]
        )

    def calibration_months(self) -> int:
        """Distinct months the calibration errors fall on: errors of several origins on the
        same month share its shock, so this, not their number, is how many independent
        errors they hold at most."""
        found = set()
        for r in self.calibration:
            found.update(range(r.origin, r.origin + len(r.error)))
        return len(found)

    def calibration_draws(self) -> float | None:
        """How many independent errors the calibration holds, when every origin borrowed the
        seasonal structure (None otherwise: the errors are out of sample and many).

        Borrowed indices were estimated on the very months the origins forecast, so the
        errors flatter the model. Each month counts once (`calibration_months`), less the
        share of a degree of freedom the season's indices took from it: s - 1 free indices
        fitted on the whole history take (s - 1) / n of each month's, as residual degrees of
        freedom go in a regression. Two years: 12 months x (1 - 11/24) = 6.5 draws.
        """
        if not self.borrowed or self.borrowed < self.origins:
            return None
        kept = 1 - (self.season_length - 1) / self.months
        return self.calibration_months() * kept

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
    result = Backtest(origins=len(origins), months=len(clean), season_length=season_length)
    # The final forecast's seasonal structure, for origins too short to find it themselves.
    structure = None
    if not intermittent and len(clean) >= 2 * season_length:
        structure = seasonal_adjustment(clean, season_length)
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
                OriginResult(actual, actual - candidate.point, candidate.spread, scale, origin)
            )
        mirrored = found.get(COMBINED)
        if structure is not None and origin < 2 * season_length:
            result.borrowed += 1
            mirrored = candidates_for(
                train, steps, season_length, intermittent=False, structure=structure
            ).get(COMBINED)
        if mirrored is not None:
            result.calibration.append(
                OriginResult(actual, actual - mirrored.point, mirrored.spread, scale, origin)
            )
    return result
