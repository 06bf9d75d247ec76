"""Xero's rate limits (https://developer.xero.com/faq/limits, xero-api-facts §4).

Per organisation: 5 calls in progress, 60 calls in any rolling minute and a daily cap; per app:
10,000 calls a minute across organisations. Windows are rolling and measured on the sandbox
clock. A rejected call does not use up quota.

Retry-After is in real seconds (what a client actually sleeps), rounded up, at least 1. With a
sped-up clock the minute window lasts `SandboxLimits.minute_window_seconds(clock)` real seconds,
which is the window length the product's limiter must be configured with.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field

from integrations.xero.sandbox.clock import SandboxClock

MINUTE = 60.0
DAY = 86400.0


@dataclass
class SandboxLimits:
    minute: int = 60
    concurrent: int = 5
    day: int = 5000  # Core tier and above; Starter is 1,000 (facts §4)
    app_minute: int = 10_000

    @staticmethod
    def minute_window_seconds(clock: SandboxClock) -> float:
        return clock.real_seconds(MINUTE)


@dataclass
class Decision:
    allowed: bool
    headers: list[tuple[str, str]]
    problem: str | None = None  # minute | day | concurrent | appminute
    retry_after: int | None = None


@dataclass
class RateLimiter:
    limits: SandboxLimits
    clock: SandboxClock
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _minute: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _day: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _app_minute: deque[float] = field(default_factory=deque)
    _in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def acquire(self, tenant_id: str) -> Decision:
        """Admit a call (take a concurrency slot: call release() when done) or refuse it."""
        with self._lock:
            now = self.clock.seconds()
            minute, day = self._minute[tenant_id], self._day[tenant_id]
            _expire(minute, now - MINUTE)
            _expire(day, now - DAY)
            _expire(self._app_minute, now - MINUTE)
            problem, wait = None, 0.0
            if len(day) >= self.limits.day:
                problem, wait = "day", day[0] + DAY - now
            elif len(self._app_minute) >= self.limits.app_minute:
                problem, wait = "appminute", self._app_minute[0] + MINUTE - now
            elif len(minute) >= self.limits.minute:
                problem, wait = "minute", minute[0] + MINUTE - now
            elif self._in_flight[tenant_id] >= self.limits.concurrent:
                # No window to wait for; a slot frees when a call in progress finishes.
                problem, wait = "concurrent", 0.0
            if problem is None:
                minute.append(now)
                day.append(now)
                self._app_minute.append(now)
                self._in_flight[tenant_id] += 1
            headers = self._headers(tenant_id)
        if problem is None:
            return Decision(True, headers)
        retry_after = self.clock.retry_after(wait)
        headers += [("Retry-After", str(retry_after)), ("X-Rate-Limit-Problem", problem)]
        return Decision(False, headers, problem, retry_after)

    def release(self, tenant_id: str) -> None:
        with self._lock:
            self._in_flight[tenant_id] -= 1

    def headers(self, tenant_id: str | None) -> list[tuple[str, str]]:
        """The remaining-quota headers for a response that did not go through acquire()."""
        with self._lock:
            now = self.clock.seconds()
            _expire(self._app_minute, now - MINUTE)
            if tenant_id is None:
                remaining = self.limits.app_minute - len(self._app_minute)
                return [("X-AppMinLimit-Remaining", str(max(0, remaining)))]
            _expire(self._minute[tenant_id], now - MINUTE)
            _expire(self._day[tenant_id], now - DAY)
            return self._headers(tenant_id)

    def _headers(self, tenant_id: str) -> list[tuple[str, str]]:
        return [
            ("X-DayLimit-Remaining", str(max(0, self.limits.day - len(self._day[tenant_id])))),
            (
                "X-MinLimit-Remaining",
                str(max(0, self.limits.minute - len(self._minute[tenant_id]))),
            ),
            (
                "X-AppMinLimit-Remaining",
                str(max(0, self.limits.app_minute - len(self._app_minute))),
            ),
        ]


def _expire(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
