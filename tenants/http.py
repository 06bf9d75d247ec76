"""Facts about an HTTP request that more than one app needs."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent the request, for rate limits keyed by client.

    Behind TRUSTED_PROXY_COUNT reverse proxies of ours, REMOTE_ADDR is the nearest proxy (every
    user would share its budget), so the address comes from X-Forwarded-For: each proxy appends
    the address it was connected from, so the client is that many entries from the right.
    Entries further left are whatever the client sent, and are never read. With no trusted
    proxy, or a header that is short or not an address (the request did not come through our
    proxies), it is REMOTE_ADDR; empty only when there is none.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(forwarded) < hops:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-hops].strip()))
    except ValueError:
        return remote
