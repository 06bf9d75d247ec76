"""Counting requests in a shared cache (Redis in production): one atomic step per count, so
counts hold across threads, processes and machines. The one copy, for every rate limit."""

import contextlib

from django.core.cache import cache


def counter_increment(key: str, *, timeout: float) -> int:
    """Count one more on `key` and return the count. The counter starts at 0 and expires
    `timeout` seconds after it was started."""
    # add() starts the counter only if it does not exist; incr() is atomic.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # It expired (or was evicted) between add() and incr(): this is a new counter's first.
        cache.set(key, 1, timeout=timeout)
        return 1


def counter_decrement(key: str) -> None:
    """Take back one count (a refused request does not count), if the counter still exists."""
    # Gone already (expired or evicted): nothing to take back.
    with contextlib.suppress(ValueError):
        cache.decr(key)
