"""The one HTTP client for Xero. Production and the sandbox differ only by base URLs in
settings; the demo serves the sandbox in-process, and tests can hand in a transport."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache

import httpx
from django.conf import settings

_global_override: list[httpx.BaseTransport] = []

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@cache
def _inprocess_sandbox_transport() -> httpx.BaseTransport:
    from integrations.xero.sandbox_mount import sandbox_inprocess_app

    return httpx.WSGITransport(app=sandbox_inprocess_app())


def _transport() -> httpx.BaseTransport | None:
    if _global_override:
        return _global_override[-1]
    if settings.XERO_TRANSPORT == "inprocess":
        return _inprocess_sandbox_transport()
    return None


def xero_http_client(*, timeout: httpx.Timeout = TIMEOUT) -> httpx.Client:
    return httpx.Client(timeout=timeout, transport=_transport())


@contextlib.contextmanager
def use_transport(transport: httpx.BaseTransport) -> Iterator[None]:
    """Send every Xero request of this process through `transport` (tests: the sandbox)."""
    _global_override.append(transport)
    try:
        yield
    finally:
        _global_override.remove(transport)
