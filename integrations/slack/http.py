"""The one HTTP client for Slack. Production and the imitation differ only by URLs (settings for
the Web API, the firm's webhook URL); the demo serves the imitation in-process, and tests hand in
a transport, as for Xero (integrations/xero/http.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache

import httpx
from django.conf import settings

_global_override: list[httpx.BaseTransport] = []


@cache
def slack_imitation_inprocess():
    """The demo's Slack: one imitation per process, whose recorded messages the demo can show."""
    from integrations.slack.imitation.app import SlackImitation

    return SlackImitation(
        signing_secret=settings.SLACK_SIGNING_SECRET, base_url=settings.SLACK_IMITATION_URL
    )


def _transport() -> httpx.BaseTransport | None:
    if _global_override:
        return _global_override[-1]
    if settings.SLACK_TRANSPORT == "inprocess":
        return httpx.WSGITransport(app=slack_imitation_inprocess())
    return None


def slack_http_client() -> httpx.Client:
    # Slack answers a post in well under a second; a longer wait only holds a worker.
    return httpx.Client(timeout=settings.SLACK_TIMEOUT_SECONDS, transport=_transport())


@contextlib.contextmanager
def use_transport(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every Slack request of this process through `transport` (tests: the imitation)."""
    _global_override.append(transport)
    try:
        yield
    finally:
        _global_override.remove(transport)
