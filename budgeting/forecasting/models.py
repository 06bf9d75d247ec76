"""Candidate models on a seasonally adjusted series: Theta, damped trend, and intermittent.

Theta and the damped trend are the models statsmodels ships as ThetaModel and
ExponentialSmoothing(trend="add", damped_trend=True): the same equations and, for Theta, the
same initial level. Their parameters are chosen here by a vectorised grid search instead of
statsmodels' numerical optimiser, because the engine refits every candidate at several backtest
origins per series and statsmodels needs 3-7 ms per fit, which alone would blow the 20 ms
budget. The Theta forecasts match ThetaModel's to within 0.1% and the damped ones statsmodels'
to within about 1% (tests/budgeting/test_forecast_engine.py checks both); the damped trend's
grid is deliberately narrower than statsmodels' bounds, as noted on BETA_SHARES.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# Smoothing weights tried for the level. Dense near zero, where the SSE surface is steep.
ALPHAS = np.array([0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.35, 0.4,
                   0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99])  # fmt: skip
# The trend weight as a share of alpha keeps beta <= alpha, the usual admissible region. Capped
# at a tenth: a slope that chases each month's change extrapolates that month's noise across
# the horizon (on M3, allowing up to 0.4 cost 0.07 sMAPE points at h=18).
BETA_SHARES = np.array([0.0, 0.01, 0.02, 0.05, 0.1])
# Damping between 0.8 and 0.98 as in Hyndman et al. (2008): below 0.8 the trend vanishes in a
# few months, above 0.98 it is indistinguishable from an undamped, over-confident trend.
PHIS = np.array([0.8, 0.86, 0.9, 0.94, 0.98])
# Croston's method with the Syntetos-Boylan bias correction and the customary small weight.
CROSTON_ALPHA = 0.1
# Months used to estimate the damped trend's initial level and slope.
INIT_WINDOW = 12


@dataclass(frozen=True)
class ModelFit:
    point: np.ndarray  # forecast for steps 1..h on the adjusted scale
    growth: np.ndarray  # error variance at each step relative to the one-step variance


def theta_fit(values: np.ndarray, horizon: int) -> ModelFit:
    """Standard Theta: simple exponential smoothing plus half the linear-trend slope.

    Hyndman & Billah (2003) show the Theta(0, 2) combination equals SES with drift b/2; this is
    the forecast formula of statsmodels ThetaModelResults.forecast with theta=2.
    """
    n = len(values)
    if n < 3:
        return naive_fit(values, horizon)
    level, alpha = ses_levels(values)
    slope = trend_slope(values)
    steps = np.arange(1, horizon + 1)
    drift = 0.5 * slope * (steps - 1 + 1 / alpha - (1 - alpha) ** n / alpha)
    return ModelFit(level + drift, with_estimation_error(1 + (steps - 1) * alpha**2))


def ses_fit(values: np.ndarray, horizon: int) -> ModelFit:
    """Simple exponential smoothing: the smoothed level carried flat, no trend."""
    if len(values) < 3:
        return naive_fit(values, horizon)
    level, alpha = ses_levels(values)
    steps = np.arange(1, horizon + 1)
    return ModelFit(np.full(horizon, level), with_estimation_error(1 + (steps - 1) * alpha**2))


def ses_levels(values: np.ndarray) -> tuple[float, float]:
    """Final level and weight of SES started at the first value, as ThetaModel initialises it."""
    alphas = ALPHAS
    level = np.full(len(alphas), values[0])
    sse = np.zeros(len(alphas))
    for y in values[1:]:
        error = y - level
        sse += error * error
        level = level + alphas * error
    best = int(np.argmin(sse))
    return float(level[best]), float(alphas[best])


def trend_slope(values: np.ndarray) -> float:
    t = np.arange(len(values), dtype=float)
    t -= t.mean()
    return float(np.dot(t, values - values.mean()) / np.dot(t, t))


def damped_fit(values: np.ndarray, horizon: int) -> ModelFit:
    """Additive damped trend, ETS(A,Ad,N), in error-correction form, all grid points at once.

    The initial state comes from a line through the first year rather than being optimised
    with the weights: on M3 optimising it too (in closed form) overfitted and cost accuracy.
    """
    n = len(values)
    if n < 4:
        return naive_fit(values, horizon)
    alpha, beta, phi = damped_grid()
    level, slope = initial_state(values)
    level = np.full(len(alpha), level)
    slope = np.full(len(alpha), slope)
    sse = np.zeros(len(alpha))
    for y in values:
        damped_slope = phi * slope
        error = y - level - damped_slope
        sse += error * error
        level = level + damped_slope + alpha * error
        slope = damped_slope + beta * error
    best = int(np.argmin(sse))
    a, b, p = alpha[best], beta[best], phi[best]
    steps = np.arange(1, horizon + 1)
    cumulative_phi = np.cumsum(p**steps)
    point = level[best] + cumulative_phi * slope[best]
    # Hyndman et al. (2008) class 1 variance: 1 + sum_{j<h} (alpha + beta * phi_j)^2.
    weights = np.concatenate([[0.0], (a + b * cumulative_phi[:-1]) ** 2])
    return ModelFit(point, with_estimation_error(1 + np.cumsum(weights)))


def with_estimation_error(model_variance: np.ndarray) -> np.ndarray:
    """Stretch a model's own variance growth by the square root of the step number.

    The textbook formulas assume the fitted level, slope and weights are the truth. They are not,
    and an error in the slope grows with every step, so textbook intervals cover too little at
    long horizons (about 72% for a nominal 80% on short monthly series). The backtest
    calibration sets the overall width; this only sets how it grows across the horizon. On M3
    a full step-number factor made the first months' intervals far too narrow (55% coverage at
    step 1 for a nominal 80%), no factor made the last months' too narrow; the square root
    keeps every step within about 15 points of nominal.
    """
    return model_variance * np.sqrt(np.arange(1, len(model_variance) + 1))


@functools.cache
def damped_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid of weights, built once (every line of every forecast fits on it); read-only,
    so a caller cannot change it for the next."""
    alpha, share, phi = np.meshgrid(ALPHAS, BETA_SHARES, PHIS, indexing="ij")
    grid = alpha.ravel(), (alpha * share).ravel(), phi.ravel()
    for weights in grid:
        weights.setflags(write=False)
    return grid


def initial_state(values: np.ndarray) -> tuple[float, float]:
    """Level and slope one step before the first month, from a line through the first year."""
    window = values[:INIT_WINDOW]
    slope = trend_slope(window) if len(window) > 2 else 0.0
    intercept = float(window.mean() - slope * (len(window) - 1) / 2)
    return intercept - slope, slope


def naive_fit(values: np.ndarray, horizon: int) -> ModelFit:
    steps = np.arange(1, horizon + 1)
    return ModelFit(np.full(horizon, float(values[-1])), steps.astype(float))


def croston_fit(values: np.ndarray, horizon: int) -> ModelFit:
    """Syntetos-Boylan approximation to Croston: smoothed size over smoothed interval.

    Intermittent spend has no level to extrapolate; the expected spend per month is the stable
    quantity. Series with negative months (credits) fall back to a recent mean rate.
    """
    if np.any(values < 0) or np.count_nonzero(values) < 2:
        return mean_rate_fit(values, horizon)
    demand = np.flatnonzero(values)
    sizes = values[demand]
    intervals = np.diff(np.concatenate([[-1], demand])).astype(float)
    size, interval = sizes[0], intervals[0]
    for s, q in zip(sizes[1:], intervals[1:], strict=True):
        size += CROSTON_ALPHA * (s - size)
        interval += CROSTON_ALPHA * (q - interval)
    rate = (1 - CROSTON_ALPHA / 2) * size / interval
    return ModelFit(np.full(horizon, rate), np.ones(horizon))


def mean_rate_fit(values: np.ndarray, horizon: int) -> ModelFit:
    recent = values[-24:]
    return ModelFit(np.full(horizon, float(recent.mean())), np.ones(horizon))
