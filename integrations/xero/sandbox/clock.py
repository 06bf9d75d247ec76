"""The sandbox clock: sandbox time can run faster than real time, and 'today' can be pinned.

Everything time-based in the sandbox (token lifetimes, the rate-limit windows, report defaults,
UpdatedDateUTC of new documents) reads this clock, so a test can run a sandbox minute in a real
second (time_scale=60) or jump ahead with `advance()`.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time


class SandboxClock:
    def __init__(
        self,
        *,
        start: dt.datetime | None = None,
        time_scale: float = 1.0,
        today: dt.date | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._lock = threading.Lock()
        self._time_scale = time_scale
        self._real_anchor = time.monotonic()
        # Naive UTC, like every timestamp the sandbox stores.
        self._sandbox_anchor = start or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        if today is not None and start is None:
            # A pinned 'today' with no start: start the clock at noon that day, so "now" and
            # "today" agree and the data generator's history ends where the clock begins.
            self._sandbox_anchor = dt.datetime.combine(today, dt.time(12))
        self._today = today
        self._advanced = 0.0  # sandbox seconds added by advance() and speed changes

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def seconds(self) -> float:
        """Sandbox seconds since the clock started; monotonic, for the rate-limit windows."""
        with self._lock:
            return (time.monotonic() - self._real_anchor) * self._time_scale + self._advanced

    def now(self) -> dt.datetime:
        return self._sandbox_anchor + dt.timedelta(seconds=self.seconds())

    def today(self) -> dt.date:
        return self._today or self.now().date()

    def set_today(self, today: dt.date | None) -> None:
        """Pin the date reports and budgets treat as today (None: follow the clock)."""
        with self._lock:
            self._today = today

    def set_time_scale(self, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            # Re-anchor so sandbox time does not jump when the speed changes.
            elapsed = (time.monotonic() - self._real_anchor) * self._time_scale
            self._advanced = self._advanced + elapsed
            self._real_anchor = time.monotonic()
            self._time_scale = time_scale

    def advance(self, seconds: float) -> None:
        """Jump sandbox time forward, e.g. past a token's expiry or a rate-limit window."""
        with self._lock:
            self._advanced = self._advanced + seconds

    def real_seconds(self, sandbox_seconds: float) -> float:
        return sandbox_seconds / self._time_scale

    def retry_after(self, sandbox_seconds: float) -> int:
        """A Retry-After value: real seconds (what a client sleeps), rounded up, at least 1."""
        return max(1, math.ceil(self.real_seconds(sandbox_seconds) - 1e-9))
