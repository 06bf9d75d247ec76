"""Throttling per API key (and per person for signed-in browser use).

Rates are in settings: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] and ["api_session"].
Counts live in the cache (Redis in production), so every worker shares them.

DRF's SimpleRateThrottle reads a list of timestamps, appends one and writes the list back: two
workers doing so at once both write, and one request is lost from the count (three gunicorn
workers let 1,335 requests through a limit of 1,200 a minute). This throttle counts with the
cache's atomic increment instead, in fixed windows of the rate's duration, and weighs the
previous window by how much of it still overlaps the last `duration` seconds (a sliding window
estimate): no count is ever lost, and a burst at a window's edge cannot pass twice the rate.
"""

import math

from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from core.counters import counter_decrement, counter_increment
from tenants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    def __init__(self):
        # The scope (and so the rate) depends on the request; see allow_request.
        self.wait_seconds: float | None = None

    def get_rate(self) -> str | None:
        # Read on each request, not at import, so a change of settings takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        self.scope = "api_key" if isinstance(request.auth, ApiKey) else "api_session"
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current, previous = f"{key}:{window}", f"{key}:{window - 1}"
        count = counter_increment(current, timeout=self.duration * 2)
        elapsed = now - window * self.duration
        overlap = 1 - elapsed / self.duration
        estimate = (cache.get(previous) or 0) * overlap + count
        if estimate <= self.num_requests:
            return True
        # Refused requests do not count against the key.
        counter_decrement(current)
        self.wait_seconds = max(1.0, math.ceil(self.duration - elapsed))
        return False

    def wait(self) -> float | None:
        return self.wait_seconds

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = request.auth.pk
        elif request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
