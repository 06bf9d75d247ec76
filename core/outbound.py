"""Requests to a URL that a user typed in (a firm's narrative provider): guarded against SSRF.

A firm's admin chooses the endpoint, so without a guard the app could be made to call its own
network: the cloud metadata service (169.254.169.254), Redis or PostgreSQL on loopback, an
internal admin page. The guard refuses any address that is not on the public internet, after
resolving the host, twice: when the URL is saved (a clear form error) and when each connection
is opened (the host may resolve elsewhere by then: DNS rebinding). Redirects are not followed,
as a public host could redirect to an internal one. An operator may allow networks of their own
(a model served inside the deployment's network) with OUTBOUND_ALLOWED_NETWORKS.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundURLRefused(ValueError):
    """The URL may not be called; the message says why, in words for the form."""


def outbound_url_check(url: str) -> None:
    """Refuse a URL whose scheme or any resolved address we may not call (OutboundURLRefused)."""
    parts = urlsplit(url)
    allowed_schemes = ("https",) if settings.OUTBOUND_HTTPS_ONLY else ("https", "http")
    if parts.scheme not in allowed_schemes:
        raise OutboundURLRefused(
            "The address must start with https://."
            if settings.OUTBOUND_HTTPS_ONLY
            else "The address must start with https:// or http://."
        )
    if parts.username or parts.password:
        raise OutboundURLRefused("The address may not carry a user name or password.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise OutboundURLRefused("The address has a port that is not a number.") from error
    if not parts.hostname:
        raise OutboundURLRefused("The address has no host name.")
    outbound_addresses_resolve(parts.hostname, port)


def outbound_addresses_resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, refusing the whole host if any one is not public.

    All of them, not the first: a resolver may hand out a public and an internal address and
    let the connection pick."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundURLRefused(f"The host {host} cannot be found.") from error
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        refusal = address_refusal(ipaddress.ip_address(address.split("%", 1)[0]))
        if refusal:
            raise OutboundURLRefused(
                f"The host {host} resolves to {address}, {refusal}: the app does not call "
                "addresses inside a private network."
            )
    return addresses


def address_refusal(address: IPAddress) -> str | None:
    """Why the address may not be called (None when it may): in words, for the error."""
    if _allowed(address, settings.OUTBOUND_ALLOWED_NETWORKS):
        return None
    # An IPv6 address that carries an IPv4 one (::ffff:127.0.0.1, 64:ff9b::/96 NAT64, 6to4) is
    # judged by the IPv4 address it reaches.
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_refusal(embedded)
    if address == ipaddress.ip_address("169.254.169.254") or address == ipaddress.ip_address(
        "fd00:ec2::254"
    ):
        return "a cloud metadata service"
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        # 100.64.0.0/10 (carrier-grade NAT) and the like: not private, not public either.
        (not address.is_global, "an address that is not on the public internet"),
    )
    return next((why for refused, why in checks if refused), None)


def _allowed(address: IPAddress, networks: Iterable[str]) -> bool:
    return any(address in ipaddress.ip_network(network, strict=False) for network in networks)


class _GuardedBackend(httpcore.SyncBackend):
    """Resolves the host itself, refuses any address that is not public, and connects to the
    address it checked (the TLS name stays the host's, so certificates are still verified)."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = outbound_addresses_resolve(host, port)
        except OutboundURLRefused as error:
            raise httpcore.ConnectError(str(error)) from error
        last_error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(
                    address,
                    port,
                    timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"The host {host} has no address.")


def outbound_http_client(*, timeout: float) -> httpx.Client:
    """An HTTP client for user-chosen URLs: the address guard on every connection, no redirects,
    and no proxy from the environment (the guard would be checking the proxy's address)."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no public way to give its connection pool a network backend; the pool's own
    # attribute is the one place every connection is opened.
    transport._pool._network_backend = _GuardedBackend()
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
