"""Pieces the benchmarks share, one helper per job: a Celery worker process of the bench's
own, the peak memory of worker processes, and the wall-time floor Xero's rate limits set."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Xero's limits (docs/xero-api-facts.md): per organisation 60 calls a minute and 5 at once,
# per app 10,000 a minute.
PER_ORGANISATION_MINUTE = 60
PER_ORGANISATION_AT_ONCE = 5
PER_APP_MINUTE = 10_000


class Worker:
    """A Celery worker process (`celery -A config worker`, prefork, `concurrency` processes) in a
    process group of its own, so that a kill reaches its pool processes too."""

    def __init__(
        self, env: dict[str, str], *, name: str = "bench", concurrency: int = 2, log: str = ""
    ) -> None:
        self.env = env
        self.name = name
        self.concurrency = concurrency
        self.process: subprocess.Popen | None = None
        self.started = 0
        self.exits = 0  # exits of its own, not kills
        # The worker's log, for a failure to be looked into.
        self.log = open(log or f"/tmp/bench-{name}-worker.log", "w")  # noqa: SIM115

    def start(self) -> None:
        self.started += 1
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "celery"),
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                "--loglevel",
                "ERROR",
                "--hostname",
                f"{self.name}-{self.started}@%h",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env={**os.environ, **self.env},
            start_new_session=True,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def kill(self) -> None:
        """kill -9 of the worker and its pool processes, as a machine or container dying."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


def _process_group_memory(pgid: int) -> dict[int, tuple[int, int]]:
    """(RSS, PSS) in bytes of every process in the group (a worker and its pool), from /proc:
    the machine has no psutil, and /proc is what it would read. Prefork children share their
    parent's pages until written, which RSS counts in each; PSS divides them among the sharers,
    so its sum is what the group really holds."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The command name (field 2) may hold spaces: the fields after its ")" are fixed.
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open(f"/proc/{entry}/smaps_rollup") as rollup:
                kib = {
                    line.split(":")[0]: int(line.split()[1])
                    for line in rollup
                    if line.startswith(("Rss:", "Pss:"))
                }
            found[int(entry)] = (kib["Rss"] * 1024, kib["Pss"] * 1024)
        except (FileNotFoundError, ProcessLookupError, IndexError, KeyError, ValueError):
            continue  # it exited while being read
    return found


class PeakMemory:
    """Samples the memory of workers' process groups every `every` seconds on a thread: the
    peak of their RSS summed, of their PSS summed, and of any one process's RSS, in bytes."""

    def __init__(self, workers: list[Worker], *, every: float = 0.5) -> None:
        self.workers = workers
        self.every = every
        self.peak_sum = 0
        self.peak_pss = 0
        self.peak_one = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            found: list[tuple[int, int]] = []
            for worker in self.workers:
                if worker.process is not None:
                    found += _process_group_memory(worker.process.pid).values()
            if found:
                self.samples += 1
                self.peak_sum = max(self.peak_sum, sum(rss for rss, _pss in found))
                self.peak_pss = max(self.peak_pss, sum(pss for _rss, pss in found))
                self.peak_one = max(self.peak_one, max(rss for rss, _pss in found))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def xero_limits_bound(*, calls: list[int], latency: float) -> dict[str, float]:
    """The least wall time, in seconds, Xero's limits allow for organisations making `calls`
    each (one figure per organisation), every call taking `latency` seconds: per organisation,
    60 a minute (a minute's worth, then the next minute) and 5 at once; for the app, 10,000 a
    minute. The limits are per minute window, so 60 calls or fewer need no wait."""
    per_organisation = max(
        (
            max(0, math.ceil(c / PER_ORGANISATION_MINUTE) - 1) * 60
            + math.ceil(min(c, PER_ORGANISATION_MINUTE) / PER_ORGANISATION_AT_ONCE) * latency
            for c in calls
        ),
        default=0.0,
    )
    app_minute = max(0, math.ceil(sum(calls) / PER_APP_MINUTE) - 1) * 60
    return {"per_organisation": per_organisation, "app_minute": float(app_minute)}


def wait_until(done, *, seconds: float, every: float = 0.5) -> bool:
    """Calls `done()` every `every` seconds until it is true or `seconds` have passed: whether
    it became true. Every wait of a benchmark is bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(every)
    return bool(done())
