"""Cleaning and seasonal adjustment of one monthly series before any model sees it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from statsmodels.tsa.seasonal import seasonal_decompose
from statsmodels.tsa.stattools import acf

# A residual this many robust standard deviations from the local median is a one-off spike.
# Set high on purpose: a false spike silently rewrites a real month, a missed one only widens
# the intervals, so we only act on points no plausible month-to-month noise could produce.
# (On M3, which has few one-offs, a threshold of 4 cost 0.1 sMAPE points; 8 costs nothing.)
SPIKE_Z = 8.0
# 1.4826 * MAD estimates the standard deviation of normal noise.
MAD_TO_SD = 1.4826
# Share of zero months from which a series is treated as intermittent spend.
INTERMITTENT_ZERO_SHARE = 0.3
# The Theta method's seasonality test (Assimakopoulos & Nikolopoulos 2000) at 90%, one-sided.
SEASONAL_TEST_Z = 1.645


@dataclass(frozen=True)
class SeasonalAdjustment:
    """Seasonal indices for one history; identity when the series shows no seasonality."""

    indices: np.ndarray | None  # one index per calendar position, aligned to history[0]
    multiplicative: bool
    season_length: int

    def remove(self, values: np.ndarray) -> np.ndarray:
        if self.indices is None:
            return values
        seasonal = self.indices[np.arange(len(values)) % self.season_length]
        return values / seasonal if self.multiplicative else values - seasonal

    def factors(self, start: int, steps: int) -> np.ndarray:
        """Seasonal component for positions start..start+steps-1 of the history's calendar."""
        if self.indices is None:
            return np.full(steps, 1.0 if self.multiplicative else 0.0)
        return self.indices[(start + np.arange(steps)) % self.season_length]

    def restore(self, forecast: np.ndarray, start: int) -> np.ndarray:
        seasonal = self.factors(start, len(forecast))
        return forecast * seasonal if self.multiplicative else forecast + seasonal

    def spread(self, start: int, steps: int) -> np.ndarray:
        """How much the seasonal component stretches an error at each future step."""
        if self.indices is None or not self.multiplicative:
            return np.ones(steps)
        return self.factors(start, steps)


def spike_indices(values: np.ndarray, season_length: int) -> np.ndarray:
    """Indices of one-off spikes: far from the local median and not repeated a season apart.

    A centred median of five follows level shifts within two months, so a step change is not
    a spike; the seasonal check keeps a recurring December peak from being flagged.
    """
    n = len(values)
    if n < 5:
        return np.empty(0, dtype=int)
    baseline = local_median(values)
    residual = values - baseline
    mad = np.median(np.abs(residual - np.median(residual)))
    if mad <= 0:
        return np.empty(0, dtype=int)
    z = (residual - np.median(residual)) / (MAD_TO_SD * mad)
    flagged = []
    for i in np.flatnonzero(np.abs(z) > SPIKE_Z):
        echoes = [j for j in (i - season_length, i + season_length) if 0 <= j < n]
        repeated = any(np.sign(z[j]) == np.sign(z[i]) and abs(z[j]) > SPIKE_Z / 2 for j in echoes)
        if not repeated:
            flagged.append(int(i))
    return np.asarray(flagged, dtype=int)


def local_median(values: np.ndarray, half_window: int = 2) -> np.ndarray:
    """The median of each month and its `half_window` neighbours on each side (fewer at the
    ends). The full windows are taken at once: this runs for every line of every forecast."""
    n = len(values)
    width = 2 * half_window + 1
    medians = np.empty(n, dtype=float)
    if n >= width:
        medians[half_window : n - half_window] = np.median(
            sliding_window_view(values, width), axis=1
        )
        ends = [*range(half_window), *range(n - half_window, n)]
    else:
        ends = range(n)
    for i in ends:
        medians[i] = np.median(values[max(0, i - half_window) : min(n, i + half_window + 1)])
    return medians


def winsorise(values: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """Replace spikes by the local median so they do not drive level, trend or seasonality."""
    if len(spikes) == 0:
        return values
    cleaned = values.copy()
    cleaned[spikes] = local_median(values)[spikes]
    return cleaned


def is_intermittent(values: np.ndarray) -> bool:
    return bool(np.mean(values == 0) >= INTERMITTENT_ZERO_SHARE)


def seasonal_adjustment(values: np.ndarray, season_length: int) -> SeasonalAdjustment:
    """Classical decomposition indices when the lag-m autocorrelation is significant.

    Classical decomposition needs two full seasons: with less, a "seasonal" index is a single
    observation and would copy noise forward. Multiplicative only for strictly positive series,
    because a ratio to a level that crosses zero is meaningless.
    """
    multiplicative = bool(np.all(values > 0))
    plain = SeasonalAdjustment(None, multiplicative, season_length)
    if season_length < 2 or len(values) < 2 * season_length or np.ptp(values) == 0:
        return plain
    if not has_seasonality(values, season_length):
        return plain
    model = "multiplicative" if multiplicative else "additive"
    seasonal = seasonal_decompose(values, model=model, period=season_length).seasonal
    return SeasonalAdjustment(np.asarray(seasonal[:season_length]), multiplicative, season_length)


def has_seasonality(values: np.ndarray, season_length: int) -> bool:
    """statsmodels ThetaModel's test of the lag-m autocorrelation, at the 90% level.

    It leaves out the factor 2 of the classical Bartlett variance 1 + 2 sum(rho_i^2), which
    accepts weaker seasonality. On short trending histories the trend's autocorrelations inflate
    that sum and the classical test misses real yearly patterns. On M3 the lenient test
    lowered sMAPE from 13.48 to 13.42 (h=18) and from 12.73 to 12.69 on 36-month histories.

    The autocorrelations divide by n - k rather than n (statsmodels' `adjusted`): the plain
    estimate shrinks lag 12 by (n - 12) / n, half its size on two years of history, so a
    tourist trade with an unmistakable summer failed the test on 24 months. On tourism monthly
    cut to 24 months this lowered the engine's sMAPE from 27.5 to 19.0.
    """
    rho = acf(values, nlags=season_length, fft=True, adjusted=True)
    statistic = len(values) * rho[season_length] ** 2 / np.sum(rho[:season_length] ** 2)
    return bool(statistic > SEASONAL_TEST_Z**2)
