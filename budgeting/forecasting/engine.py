"""Forecast one monthly series: pick a method by backtest, calibrate its intervals, score it.

Pure numbers in, numbers out. Each series is fitted on its own history only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from budgeting.forecasting.backtest import Backtest, history_scale, run_backtest
from budgeting.forecasting.calibration import (
    confidence_label,
    confidence_score,
    interval_multipliers,
)
from budgeting.forecasting.candidates import COMBINED, Candidate, candidates_for
from budgeting.forecasting.preprocess import is_intermittent, spike_indices, winsorise

MAX_HORIZON = 24
SHORT_HISTORY = 24
# Another method replaces the combination only if its backtest error is 15% lower: three
# origins are a noisy judge, and taking the plain backtest winner did worse on M3 than
# requiring a clear win; but a clear win on the series' own history is worth taking (always
# using the combination gave 13.57 instead of 13.42 sMAPE at h=18).
SELECTION_MARGIN = 0.15
# Realised accuracy: how a method's kept forecasts of this very series did once their months
# closed. The backtest judges each method on only three origins of the past; realised errors
# are out-of-sample on the real future, so a method that keeps missing there should lose ground
# however well it backtests, and one that keeps hitting should gain. A few forecasts are noise
# (and the first ones scored are mostly one month ahead), so fewer than MIN_REALISED are
# ignored; each scored forecast then adds 1/REALISED_FULL_COUNT to the realised weight, never
# more than MAX_REALISED_WEIGHT, so the series' own backtest always keeps half the say.
MIN_REALISED = 3
REALISED_FULL_COUNT = 12
MAX_REALISED_WEIGHT = 0.5


@dataclass(frozen=True)
class RealisedAccuracy:
    """One method's scored past forecasts of this series: months ahead and absolute error.

    `abs_errors` are |actual - point| in the series' own units (money), one per scored forecast
    (a target month of one forecast run), and `steps` how many months ahead each was made. The
    engine puts them on the backtest's scale itself: divided by `history_scale` of the cleaned
    history (its mean absolute month-to-month change), the unit of the backtest MASE the
    selection compares, and set against the backtest's error at the same steps ahead.
    """

    steps: tuple[int, ...]
    abs_errors: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.steps) != len(self.abs_errors):
            raise ValueError("realised accuracy needs one step per error")
        if any(step < 1 for step in self.steps):
            raise ValueError("realised steps ahead start at 1")
        if any(not (math.isfinite(e) and e >= 0) for e in self.abs_errors):
            raise ValueError("realised errors must be finite and not negative")

    @classmethod
    def of(cls, scored: Iterable[tuple[int, float]]) -> RealisedAccuracy:
        """From (steps ahead, absolute error) pairs."""
        pairs = sorted((int(step), float(error)) for step, error in scored)
        return cls(tuple(s for s, _ in pairs), tuple(e for _, e in pairs))

    @property
    def count(self) -> int:
        return len(self.abs_errors)

    def scaled_error(self, scale: float) -> float:
        """Mean absolute error in units of the history's scale, like the backtest MASE."""
        return float(np.mean(self.abs_errors)) / scale if self.abs_errors else math.nan


@dataclass(frozen=True)
class Forecast:
    point: tuple[float, ...]
    intervals: Mapping[int, tuple[tuple[float, ...], tuple[float, ...]]]  # level -> (lo, hi)
    method: str
    confidence: int  # 0-100
    confidence_label: str  # high, medium or low
    # Backtest errors of the chosen method; None when the history was too short to backtest.
    # MASE here is scaled by the history's mean absolute month-to-month change.
    backtest_mase: float | None
    backtest_smape: float | None
    spikes: tuple[int, ...]  # indices into the history of flagged one-off months
    notes: tuple[str, ...]

    def lower(self, level: int) -> tuple[float, ...]:
        return self.intervals[level][0]

    def upper(self, level: int) -> tuple[float, ...]:
        return self.intervals[level][1]


def forecast_series(
    values: Sequence[float],
    *,
    horizon: int = 6,
    levels: Sequence[int] = (80, 95),
    season_length: int = 12,
    realised: Mapping[str, RealisedAccuracy] | None = None,
) -> Forecast:
    """`realised`, by method name, is how that method's past forecasts of this same series did
    once their months closed; it moves the choice of method (see `chosen_method`). Without it
    the forecast depends on the history alone."""
    history = validated_history(values)
    validate_options(horizon, levels, season_length)
    intermittent = is_intermittent(history)
    # Spike detection on mostly-zero spend would flag every purchase.
    spikes = np.empty(0, dtype=int) if intermittent else spike_indices(history, season_length)
    clean = winsorise(history, spikes)

    backtest = run_backtest(clean, history, horizon, season_length, intermittent=intermittent)
    candidates = candidates_for(clean, horizon, season_length, intermittent=intermittent)
    scale = history_scale(clean)
    method = chosen_method(candidates, backtest, realised, scale)
    chosen = candidates[method]

    half_widths = calibrated_half_widths(candidates, backtest, method, levels, scale)
    point, bounds = bounded(chosen.point, half_widths, non_negative=bool(np.all(history >= 0)))
    smape = backtest.smape(method)
    widest = max(levels)
    score = confidence_score(point, bounds[widest][0], bounds[widest][1], smape)
    return Forecast(
        point=tuple(point.tolist()),
        intervals={
            level: (tuple(lo.tolist()), tuple(hi.tolist())) for level, (lo, hi) in bounds.items()
        },
        method=method,
        confidence=score,
        confidence_label=confidence_label(score),
        backtest_mase=none_if_nan(backtest.mase(method)),
        backtest_smape=none_if_nan(smape),
        spikes=tuple(int(i) for i in spikes),
        notes=notes_for(history, intermittent, backtest, spikes)
        + realised_notes(candidates, backtest, realised),
    )


def none_if_nan(value: float) -> float | None:
    # None rather than NaN, so equal forecasts compare equal and the value stores as NULL.
    return None if math.isnan(value) else value


def validated_history(values: Sequence[float]) -> np.ndarray:
    history = np.asarray(values, dtype=float)
    if history.ndim != 1 or len(history) == 0:
        raise ValueError("values must be a non-empty sequence of numbers")
    if not np.all(np.isfinite(history)):
        raise ValueError("values must all be finite numbers")
    return history


def validate_options(horizon: int, levels: Sequence[int], season_length: int) -> None:
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be between 1 and {MAX_HORIZON} months, got {horizon}")
    if not levels or any(not 0 < level < 100 for level in levels):
        raise ValueError("levels must be percentages strictly between 0 and 100")
    if season_length < 1:
        raise ValueError("season_length must be at least 1")


def chosen_method(
    candidates: Mapping[str, Candidate],
    backtest: Backtest,
    realised: Mapping[str, RealisedAccuracy] | None = None,
    scale: float = 1.0,
) -> str:
    """The combination, unless another candidate's error is clearly lower.

    The error is the backtest MASE, moved by the method's realised accuracy on this series
    where there is enough of it (`realised_weighed`); `scale` is the history's scale.
    """
    scores = {
        method: backtest.mase(method)
        for method in backtest.complete_methods()
        if method in candidates
    }
    if realised:
        scores = {
            method: realised_weighed(score, backtest, method, realised.get(method), scale)
            for method, score in scores.items()
        }
    default = COMBINED if COMBINED in candidates else next(iter(candidates))
    if default not in scores:
        return default
    best = min(scores, key=lambda method: (scores[method], method))
    if scores[best] < (1 - SELECTION_MARGIN) * scores[default]:
        return best
    return default


def weighs(found: RealisedAccuracy | None) -> bool:
    return found is not None and found.count >= MIN_REALISED


def realised_weighed(
    score: float,
    backtest: Backtest,
    method: str,
    found: RealisedAccuracy | None,
    scale: float,
) -> float:
    """The backtest error blended with the realised one, weighted by how many were scored.

    The realised error is set against the backtest's own error at the same steps ahead: the
    first forecasts scored are mostly one or two months ahead, which any method gets closer
    than its backtest score, an average over the whole horizon. So the backtest score is multiplied by
    (1 - w) + w x realised / backtest-at-those-steps: a method whose real forecasts missed by
    twice what its backtest made at those steps scores (1 + w) times worse. Where the backtest
    has no error at those steps to compare with, it is the plain (1 - w) x backtest + w x
    realised.
    """
    if not weighs(found) or math.isnan(score):
        return score
    weight = min(MAX_REALISED_WEIGHT, found.count / REALISED_FULL_COUNT)
    realised = found.scaled_error(scale)
    expected = backtest_error_at_steps(backtest, method, found.steps)
    if not expected > 0:
        return (1 - weight) * score + weight * realised
    return score * ((1 - weight) + weight * realised / expected)


def backtest_error_at_steps(backtest: Backtest, method: str, steps: Sequence[int]) -> float:
    """The backtest's mean scaled error at these steps ahead (steps past its horizon count as
    its last one); NaN when the method has no backtest errors."""
    per_origin = [np.abs(r.error) / r.scale for r in backtest.results.get(method, [])]
    longest = max((len(errors) for errors in per_origin), default=0)
    if longest == 0:
        return math.nan
    by_step = [
        float(np.mean([errors[i] for errors in per_origin if len(errors) > i]))
        for i in range(longest)
    ]
    return float(np.mean([by_step[min(step, longest) - 1] for step in steps]))


def realised_notes(
    candidates: Mapping[str, Candidate],
    backtest: Backtest,
    realised: Mapping[str, RealisedAccuracy] | None,
) -> tuple[str, ...]:
    complete = backtest.complete_methods()
    default = COMBINED if COMBINED in candidates else next(iter(candidates))
    if not realised or default not in complete:
        return ()  # chosen_method had no backtest to weigh the realised errors against
    used = sum(
        found.count
        for method, found in realised.items()
        if method in candidates and method in complete and weighs(found)
    )
    if not used:
        return ()
    return (f"method chosen with the realised accuracy of {used} past forecast(s)",)


def calibrated_half_widths(
    candidates: Mapping[str, Candidate],
    backtest: Backtest,
    method: str,
    levels: Sequence[int],
    scale: float,
) -> dict[int, np.ndarray]:
    """Half-widths per level and step: calibrated on the chosen method's backtest errors, and
    never narrower than the combination's own calibrated half-widths.

    A method picked because it had the smallest backtest errors has, by that choice, errors
    that flatter it (the winner's curse); calibrating on them alone made intervals too narrow.
    """

    def calibrated(name: str) -> dict[int, np.ndarray]:
        if name == COMBINED and backtest.calibration:
            # The combination as the final forecast builds it (see Backtest.calibration).
            errors, draws = backtest.calibration_errors(), backtest.calibration_draws()
            multipliers = interval_multipliers(errors, levels, independent=draws)
        else:
            multipliers = interval_multipliers(backtest.scaled_errors(name), levels)
        return {level: q * scale * candidates[name].spread for level, q in multipliers.items()}

    widths = calibrated(method)
    if method == COMBINED or COMBINED not in backtest.results or COMBINED not in candidates:
        return widths
    reference = calibrated(COMBINED)
    return {level: np.maximum(widths[level], reference[level]) for level in widths}


def bounded(
    point: np.ndarray, half_widths: Mapping[int, np.ndarray], *, non_negative: bool
) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Symmetric intervals around the point, floored at zero for series that never go negative.

    Clipping the point first, then each bound, keeps lo_95 <= lo_80 <= point <= hi_80 <= hi_95.
    """
    if non_negative:
        point = np.maximum(point, 0.0)
    bounds = {}
    for level, half in half_widths.items():
        lower = point - half
        bounds[level] = (np.maximum(lower, 0.0) if non_negative else lower, point + half)
    return point, bounds


def notes_for(
    history: np.ndarray, intermittent: bool, backtest: Backtest, spikes: np.ndarray
) -> tuple[str, ...]:
    notes = []
    if len(history) < SHORT_HISTORY:
        notes.append("short history")
    if intermittent:
        notes.append("intermittent")
    if np.any(history < 0) and np.any(history > 0):
        notes.append("changes sign")
    if len(spikes):
        notes.append(f"{len(spikes)} one-off spike(s) replaced by the local median before fitting")
    if backtest.origins == 0:
        notes.append("too short to backtest; intervals use a cautious default")
    return tuple(notes)
