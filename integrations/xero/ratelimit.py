"""Xero's rate limits, shared by every worker through Redis.

Per organisation Xero allows 5 calls in flight, 60 calls a minute and a daily quota, and per app
10,000 calls a minute (https://developer.xero.com/faq/limits). Each worker asks the limiter for a
slot before it sends a request and gives it back when the response is in, so the limits hold
across all processes. It never lets a request go that Xero would reject: it waits for the minute
window or a concurrent slot, and refuses outright when the day's quota is spent.

The minute window counts a call from when its response arrived (the slot's timestamp is moved to
the release time), which is never earlier than when Xero counted it: a window measured from the
moment we sent would let a fast request in before Xero's window had moved on.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Protocol

import redis
from django.conf import settings
from django.utils import timezone

from integrations.xero.errors import XeroError

# A wait at least this long is worth telling the user the time of; shorter is "a few minutes".
_LONG_WAIT_SECONDS = 5 * 60


def _when(seconds: float) -> str:
    """When a wait of `seconds` from now ends, for a message: "00:00 UTC on 13 May (in about
    4 hours)". Rounded up to the minute, so it never names a time that is still too early."""
    at = timezone.now().astimezone(dt.UTC) + dt.timedelta(seconds=seconds)
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    if seconds >= 5400:
        about = f"{round(seconds / 3600)} hours"
    else:
        minutes = max(1, math.ceil(seconds / 60))
        about = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{at:%H:%M} UTC on {at.day} {at:%B} (in about {about})"


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    whole = math.ceil(seconds)
    return f"{whole} second{'s' if whole != 1 else ''}"


class DailyLimitReached(XeroError):
    """The organisation's daily quota is spent; calls resume when the limiter's day (UTC) rolls
    over. Nothing retries the sync by itself, so the message says when to run it again."""

    def __init__(self, tenant_id: str, retry_after: float, *, limit: int):
        self.tenant_id = tenant_id
        self.retry_after = retry_after
        self.limit = limit
        super().__init__(
            f"Xero's daily call limit for this organisation ({limit:,} calls) is used up, so the "
            f"sync could not fetch everything. The limit resets at {_when(retry_after)}: run "
            "the sync again after that."
        )


@dataclass(frozen=True)
class Limits:
    per_minute: int
    concurrent: int
    per_day: int
    window_seconds: float = 60.0
    app_per_minute: int = 10_000
    # A slot held longer than this is presumed lost with its worker and is reclaimed.
    lease_seconds: float = 120.0

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            per_minute=settings.XERO_RATE_LIMIT_PER_MINUTE,
            concurrent=settings.XERO_RATE_LIMIT_CONCURRENT,
            per_day=settings.XERO_RATE_LIMIT_PER_DAY,
            window_seconds=settings.XERO_RATE_LIMIT_WINDOW_SECONDS,
        )


class RateLimiter(Protocol):
    def acquire(self, tenant_id: str, *, timeout: float = 600.0) -> str: ...
    def release(self, tenant_id: str, slot: str) -> None: ...
    def block(self, tenant_id: str, seconds: float) -> None: ...


class SlotTimeout(XeroError):
    """No call slot came free in time: other syncs of the organisation were using its per-minute
    and concurrent limits, or Xero asked us (429 Retry-After) to wait longer than we would."""

    def __init__(self, tenant_id: str, timeout: float, *, wait: float):
        self.tenant_id = tenant_id
        self.timeout = timeout
        self.wait = wait
        busy = "Xero is busy for this organisation (its rate limit)"
        if wait >= _LONG_WAIT_SECONDS:
            message = (
                f"{busy} and asked us to pause until {_when(wait)}, so the sync stopped: run "
                "it again after that."
            )
        else:
            message = (
                f"{busy}: no call could be made to it within {_duration(timeout)}, so the sync "
                "stopped. Try the sync again in a few minutes."
            )
        super().__init__(message)


# One atomic step: drop expired entries, check every limit, and take a slot only if all pass.
# Returns {0, slot} on success, {1, wait_seconds} to wait, or {2, seconds_to_day_end}.
_ACQUIRE = """
local minute_key, inflight_key, day_key, app_key, block_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local per_minute, concurrent, per_day = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, lease, app_per_minute = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local slot, day_ttl = ARGV[7], tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000

local blocked_until = tonumber(redis.call('GET', block_key) or '0')
if blocked_until > now then return {1, tostring(blocked_until - now)} end

local used_today = tonumber(redis.call('GET', day_key) or '0')
if used_today >= per_day then return {2, tostring(redis.call('TTL', day_key))} end

redis.call('ZREMRANGEBYSCORE', minute_key, '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', inflight_key, '-inf', now - lease)
redis.call('ZREMRANGEBYSCORE', app_key, '-inf', now - window)

local wait = 0
if redis.call('ZCARD', minute_key) >= per_minute then
  local oldest = redis.call('ZRANGE', minute_key, 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + window - now)
end
if redis.call('ZCARD', app_key) >= app_per_minute then
  local oldest = redis.call('ZRANGE', app_key, 0, 0, 'WITHSCORES')
  wait = math.max(wait, tonumber(oldest[2]) + window - now)
end
if redis.call('ZCARD', inflight_key) >= concurrent then
  wait = math.max(wait, 0.02)
end
if wait > 0 then return {1, tostring(wait)} end

redis.call('ZADD', minute_key, now, slot)
redis.call('ZADD', inflight_key, now, slot)
redis.call('ZADD', app_key, now, slot)
redis.call('EXPIRE', minute_key, math.ceil(window) + 5)
redis.call('EXPIRE', inflight_key, math.ceil(lease) + 5)
redis.call('EXPIRE', app_key, math.ceil(window) + 5)
if redis.call('INCR', day_key) == 1 then redis.call('EXPIRE', day_key, day_ttl) end
return {0, slot}
"""

# The call is done: free its concurrent slot and count it in the windows from now.
_RELEASE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then redis.call('ZADD', KEYS[3], 'XX', now, ARGV[1]) end
return 1
"""


def _seconds_to_utc_midnight() -> int:
    now = time.time()
    return max(1, int(86400 - now % 86400))


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, limits: Limits, *, prefix: str = "xero:rl"):
        self.redis = client
        self.limits = limits
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)

    def _keys(self, tenant_id: str) -> list[str]:
        p = f"{self.prefix}:{tenant_id}"
        day = time.strftime("%Y%m%d", time.gmtime())
        return [
            f"{p}:minute",
            f"{p}:inflight",
            f"{p}:day:{day}",
            f"{self.prefix}:app",
            f"{p}:block",
        ]

    def acquire(self, tenant_id: str, *, timeout: float = 600.0) -> str:
        deadline = time.monotonic() + timeout
        slot = uuid.uuid4().hex
        limits = self.limits
        while True:
            status, value = self._acquire(
                keys=self._keys(tenant_id),
                args=[
                    limits.per_minute,
                    limits.concurrent,
                    limits.per_day,
                    limits.window_seconds,
                    limits.lease_seconds,
                    limits.app_per_minute,
                    slot,
                    _seconds_to_utc_midnight(),
                ],
            )
            if status == 0:
                return slot
            if status == 2:
                # The day key's TTL; -1/-2 (no expiry, gone) only if it changed under us.
                seconds = float(value)
                seconds = seconds if seconds > 0 else _seconds_to_utc_midnight()
                raise DailyLimitReached(tenant_id, seconds, limit=limits.per_day)
            wait = float(value)
            if time.monotonic() + wait > deadline:
                raise SlotTimeout(tenant_id, timeout, wait=wait)
            time.sleep(min(wait, 5.0))

    def release(self, tenant_id: str, slot: str) -> None:
        keys = self._keys(tenant_id)
        self._release(keys=[keys[0], keys[1], keys[3]], args=[slot])

    def block(self, tenant_id: str, seconds: float) -> None:
        """Honour a Retry-After: no worker calls this organisation until it has passed."""
        # On Redis's clock, as the acquire script reads it: workers' clocks may differ.
        server_seconds, micros = self.redis.time()
        until = server_seconds + micros / 1_000_000 + seconds
        key = self._keys(tenant_id)[4]
        # Keep the later of an existing block and this one.
        current = float(self.redis.get(key) or 0)
        if until > current:
            self.redis.set(key, until, ex=max(1, int(seconds) + 2))


class LocalRateLimiter:
    """The same limits inside one process, for the demo that runs without Redis."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self._lock = threading.Lock()
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._inflight: dict[str, set[str]] = defaultdict(set)
        self._day: dict[tuple[str, str], int] = defaultdict(int)
        self._blocked: dict[str, float] = {}

    def acquire(self, tenant_id: str, *, timeout: float = 600.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                now = time.time()
                day = (tenant_id, time.strftime("%Y%m%d", time.gmtime(now)))
                if self._day[day] >= self.limits.per_day:
                    raise DailyLimitReached(
                        tenant_id, _seconds_to_utc_midnight(), limit=self.limits.per_day
                    )
                window = self._minute[tenant_id]
                while window and window[0] <= now - self.limits.window_seconds:
                    window.popleft()
                wait = max(0.0, self._blocked.get(tenant_id, 0) - now)
                # Calls in flight count too: Xero counted them when they arrived.
                if len(window) + len(self._inflight[tenant_id]) >= self.limits.per_minute:
                    wait = max(wait, window[0] + self.limits.window_seconds - now)
                if len(self._inflight[tenant_id]) >= self.limits.concurrent:
                    wait = max(wait, 0.02)
                if wait <= 0:
                    slot = uuid.uuid4().hex
                    self._inflight[tenant_id].add(slot)
                    self._day[day] += 1
                    return slot
            if time.monotonic() + wait > deadline:
                raise SlotTimeout(tenant_id, timeout, wait=wait)
            time.sleep(min(wait, 1.0))

    def release(self, tenant_id: str, slot: str) -> None:
        with self._lock:
            self._inflight[tenant_id].discard(slot)
            self._minute[tenant_id].append(time.time())

    def block(self, tenant_id: str, seconds: float) -> None:
        with self._lock:
            self._blocked[tenant_id] = max(self._blocked.get(tenant_id, 0), time.time() + seconds)


@functools.cache
def _limiter(redis_url: str, limits: Limits, prefix: str) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis.Redis.from_url(redis_url), limits, prefix=prefix)
    return LocalRateLimiter(limits)


def rate_limiter() -> RateLimiter:
    """The limiter for this deployment: Redis when configured, else in-process (the demo)."""
    return _limiter(settings.REDIS_URL, Limits.from_settings(), settings.XERO_RATE_LIMIT_PREFIX)
