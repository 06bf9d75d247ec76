"""The candidate forecasts for one history, on the original scale, ready to compare."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from budgeting.forecasting import models
from budgeting.forecasting.preprocess import SeasonalAdjustment, seasonal_adjustment

SEASONAL_NAIVE = "seasonal_naive"
THETA = "theta"
DAMPED = "damped_trend"
COMBINED = "combination"
CROSTON = "croston_sba"
SEASONAL_SUFFIX = "_seasonal"
# Weight of last year's months beside Theta and the damped trend (1 each) in the combination.
SEASONAL_NAIVE_WEIGHT = float(__import__("os").environ.get("SNW", "0.5"))


@dataclass(frozen=True)
class Candidate:
    point: np.ndarray  # forecast for steps 1..h
    spread: np.ndarray  # error standard deviation at each step relative to the one-step one


def candidates_for(
    history: np.ndarray, horizon: int, season_length: int, *, intermittent: bool
) -> dict[str, Candidate]:
    """Every candidate that suits this history, keyed by method name."""
    if intermittent:
        return {CROSTON: on_original_scale(models.croston_fit(history, horizon))}
    adjustment = seasonal_adjustment(history, season_length)
    found = adjusted_candidates(history, horizon, adjustment)
    members = [(found[THETA + suffix_of(adjustment)], 1.0), (found[DAMPED + suffix_of(adjustment)], 1.0)]
    # Last year's months compete, and join the combination, once two full seasons show that
    # the series has a year to repeat; with less history a yearly pattern is a guess.
    if len(history) >= 2 * season_length:
        naive = seasonal_naive(history, horizon, season_length)
        found[SEASONAL_NAIVE] = naive
        if adjustment.indices is None or len(history) < int(__import__("os").environ.get("LN", "100000")):
            members.append((naive, SEASONAL_NAIVE_WEIGHT))
    found[COMBINED] = combination(members)
    return found


def suffix_of(adjustment: SeasonalAdjustment) -> str:
    return "" if adjustment.indices is None else SEASONAL_SUFFIX


def combination(members: list[tuple[Candidate, float]]) -> Candidate:
    """Weighted mean of member forecasts; the spread is averaged with the same weights."""
    weights = np.array([weight for _, weight in members])
    weights = weights / weights.sum()
    point = sum(w * member.point for (member, _), w in zip(members, weights, strict=True))
    spread = sum(w * member.spread for (member, _), w in zip(members, weights, strict=True))
    return Candidate(np.asarray(point), np.asarray(spread))


def adjusted_candidates(
    history: np.ndarray, horizon: int, adjustment: SeasonalAdjustment
) -> dict[str, Candidate]:
    n = len(history)
    adjusted = adjustment.remove(history)
    suffix = suffix_of(adjustment)

    def restored(fit: models.ModelFit) -> Candidate:
        return Candidate(
            adjustment.restore(fit.point, n),
            np.sqrt(fit.growth) * adjustment.spread(n, horizon),
        )

    return {
        THETA + suffix: restored(models.theta_fit(adjusted, horizon)),
        DAMPED + suffix: restored(models.damped_fit(adjusted, horizon)),
    }


def on_original_scale(fit: models.ModelFit) -> Candidate:
    return Candidate(fit.point, np.sqrt(fit.growth))


def seasonal_naive(history: np.ndarray, horizon: int, season_length: int) -> Candidate:
    steps = np.arange(horizon)
    last_season = history[-season_length:]
    # Each extra year ahead adds one more seasonal difference's worth of error.
    return Candidate(last_season[steps % season_length], np.sqrt(1 + steps // season_length))
