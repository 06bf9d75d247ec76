"""Throttling per API key (and per person for signed-in browser use).

Rates are in settings: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api_key"] and ["api_session"].
Counts live in the cache (Redis in production), so every worker shares them.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    def __init__(self):
        # The scope (and so the rate) depends on the request; see allow_request.
        pass

    def get_rate(self) -> str | None:
        # Read on each request, not at import, so a change of settings takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        self.scope = "api_key" if isinstance(request.auth, ApiKey) else "api_session"
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiKey):
            ident = request.auth.pk
        elif request.user and request.user.is_authenticated:
            ident = request.user.pk
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}
