"""Interval widths from backtest errors, and the confidence score shown to users."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import norm, t

# With no out-of-sample error at all we assume an error as large as a typical monthly change
# grown by half again: a short history has also not shown us its bad months yet.
PRIOR_SCALED_SD = 1.5
# Fewer backtest errors than this are not trusted to make intervals narrower than the prior.
MIN_ERRORS = 6
# Weight of the normal quantile from the errors' root mean square in each multiplier; the rest
# is the conformal rank. A quantile read off a few dozen errors of three backtest origins is
# noisy, and a noisy width covers less on average than a steady one (coverage is concave in
# the width), so it is shrunk towards the steadier RMS-based one. All series of the bench
# (1,428 M3 + 366 tourism monthly), 80% coverage at 24/36/60 months, h=12: 76.9 -> 77.7,
# 79.8 -> 80.4, 77.9 -> 78.8.
RMS_WEIGHT = 0.5
# Confidence labels: the score is 100 minus twice the typical error in percent of the forecast.
HIGH_CONFIDENCE = 70
MEDIUM_CONFIDENCE = 40


def interval_multipliers(
    scaled_errors: np.ndarray, levels: Sequence[int], *, independent: float | None = None
) -> dict[int, float]:
    """Half-width multipliers per level from pooled scaled backtest errors.

    Split-conformal rule: the ceil((N+1)p)-th smallest of N exchangeable scaled errors covers a
    new one with probability at least p, whatever their distribution. Backtests rarely give
    enough errors for the far tail, so past the largest observed error we extrapolate with a
    normal tail fitted to that largest error. Each multiplier is then averaged (RMS_WEIGHT)
    with the normal one from the errors' root mean square. A handful of errors can all be
    lucky, so below MIN_ERRORS the cautious prior is a floor.

    A wider level is never narrower than the next narrower one stretched by the normal ratio
    of their quantiles (1.53 from 80% to 95%): a few dozen errors rarely show the far tail, and
    without this floor the 95% intervals covered 91.8% on 24-month histories.

    `independent`, when given, says the errors hold only that many independent draws: each
    multiplier is then stretched by the finite-sample factor of a normal prediction interval
    whose spread was estimated from that many draws (`finite_sample_stretch`).
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
        rms = float(np.sqrt(np.mean(errors**2)))
        multiplier = (1 - RMS_WEIGHT) * multiplier + RMS_WEIGHT * float(norm.ppf(0.5 + p / 2)) * rms
        multipliers[level] = max(multiplier, prior) if count < MIN_ERRORS else multiplier
    # Ranks can tie; force nested intervals so a wider level is never narrower, and stretch a
    # wider level at least as a normal tail would from the narrower one.
    previous, previous_level = 0.0, None
    for level in sorted(multipliers):
        floor = previous
        if previous_level is not None:
            floor = previous * normal_ratio(previous_level, level)
        multipliers[level] = max(multipliers[level], floor)
        previous, previous_level = multipliers[level], level
    if independent is not None:
        multipliers = {
            level: q * finite_sample_stretch(level, independent) for level, q in multipliers.items()
        }
    return multipliers


def finite_sample_stretch(level: int, independent: float) -> float:
    """How much wider a prediction interval must be when the error spread is estimated from
    `independent` draws instead of known: Student's t quantile with that many degrees of
    freedom over the normal one (errors centre on zero, so the root mean square of n of them
    has n degrees of freedom, and a new error over it is t-distributed).

    It stretches a 95% interval more than an 80% one, as a spread estimated from a dozen
    months understates the far tail more than the middle.
    """
    count = max(float(independent), 2.0)
    tail = 0.5 + level / 200
    return float(t.ppf(tail, count) / norm.ppf(tail))


def normal_ratio(narrower: int, wider: int) -> float:
    """How much wider a normal interval at level `wider` is than one at `narrower`."""
    return float(norm.ppf(0.5 + wider / 200) / norm.ppf(0.5 + narrower / 200))


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
