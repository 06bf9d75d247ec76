"""Interval widths from backtest errors, and the confidence score shown to users."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm

# With no out-of-sample error at all we assume an error as large as a typical monthly change
# grown by half again: a short history has also not shown us its bad months yet.
PRIOR_SCALED_SD = 1.5
# Fewer backtest errors than this are not trusted to make intervals narrower than the prior.
MIN_ERRORS = 6
# Confidence labels: the score is 100 minus twice the typical error in percent of the forecast.
HIGH_CONFIDENCE = 70
MEDIUM_CONFIDENCE = 40


def interval_multipliers(scaled_errors: np.ndarray, levels: Sequence[int]) -> dict[int, float]:
    """Half-width multipliers per level from pooled scaled backtest errors.

    Split-conformal rule: the ceil((N+1)p)-th smallest of N exchangeable scaled errors covers a
    new one with probability at least p, whatever their distribution. Backtests rarely give
    enough errors for the far tail, so past the largest observed error we extrapolate with a
    normal tail fitted to that largest error. A handful of errors can all be lucky, so below
    MIN_ERRORS the cautious prior is a floor.
    """
    errors = np.sort(scaled_errors[np.isfinite(scaled_errors)])
    count = len(errors)
    multipliers = {}
    for level in sorted(levels):
        p = level / 100
        prior = float(norm.ppf(0.5 + p / 2) * PRIOR_SCALED_SD)
        if count == 0:
            multipliers[level] = prior
            continue
        rank = math.ceil((count + 1) * p)
        if rank <= count:
            multiplier = float(errors[rank - 1])
        else:
            largest_level = count / (count + 1)
            multiplier = float(
                errors[-1] * norm.ppf(0.5 + p / 2) / norm.ppf(0.5 + largest_level / 2)
            )
        multipliers[level] = max(multiplier, prior) if count < MIN_ERRORS else multiplier
    # Ranks can tie; force nested intervals so a wider level is never narrower.
    previous = 0.0
    for level in sorted(multipliers):
        multipliers[level] = max(multipliers[level], previous)
        previous = multipliers[level]
    return multipliers


def confidence_score(
    point: np.ndarray, lower: np.ndarray, upper: np.ndarray, backtest_smape: float
) -> int:
    """0-100: 100 minus twice the typical error as a percent of the forecast.

    The typical error is the mean of what the backtests missed by (sMAPE) and what the interval
    admits (half-width over the forecast), so a score of 80 reads as "usually within about 10%".
    """
    magnitude = float(np.mean(np.abs(point)))
    half_width = float(np.mean(upper - lower)) / 2
    width_pct = 200.0 if magnitude == 0 else min(200.0, 100 * half_width / magnitude)
    error_pct = width_pct if math.isnan(backtest_smape) else (width_pct + backtest_smape) / 2
    return round(min(100.0, max(0.0, 100 - 2 * error_pct)))


def confidence_label(score: int) -> str:
    if score >= HIGH_CONFIDENCE:
        return "high"
    if score >= MEDIUM_CONFIDENCE:
        return "medium"
    return "low"
