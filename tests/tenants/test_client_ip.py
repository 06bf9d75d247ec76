"""Rate limits by client address behind reverse proxies: with TRUSTED_PROXY_COUNT proxies of
ours in front, each client has its own budget; what a client writes in X-Forwarded-For itself
is never believed."""

import secrets

import pytest
from django.test import RequestFactory
from django.urls import reverse

from tenants.http import client_ip

PROXY = "10.0.0.2"


def _address() -> str:
    # Made up for each test, so tests running at the same time do not share a budget.
    return f"198.51.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "198.51.100.7", PROXY),  # no proxy of ours: the header is anyone's to write
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "203.0.113.9, 198.51.100.7", "198.51.100.7"),  # the client's own entry is skipped
        (2, "203.0.113.9, 198.51.100.7, 10.0.0.1", "198.51.100.7"),
        (1, " 2001:db8::7 ", "2001:db8::7"),
        (2, "198.51.100.7", PROXY),  # shorter than the proxies: it did not come through them
        (1, "", PROXY),
        (1, "unknown", PROXY),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(
    settings, proxies, forwarded_for, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


def _failed_login(client, forwarded_for: str) -> str:
    response = client.post(
        reverse("account_login"),
        {"login": f"nobody-{secrets.token_hex(4)}@example.com", "password": "wrong password"},
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    assert response.status_code == 200
    return response.content.decode()


def test_failed_logins_behind_a_trusted_proxy_are_limited_per_client(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client.defaults["REMOTE_ADDR"] = PROXY  # every request arrives from the proxy
    alice, bob = _address(), _address()
    # 10 a minute per address (ACCOUNT_RATE_LIMITS), each attempt on another account.
    for _ in range(10):
        assert "not correct" in _failed_login(client, alice)
    assert "Too many failed login attempts" in _failed_login(client, alice)
    assert "not correct" in _failed_login(client, bob)


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored_at_login(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    client.defaults["REMOTE_ADDR"] = _address()
    for _ in range(10):
        assert "not correct" in _failed_login(client, _address())
    assert "Too many failed login attempts" in _failed_login(client, _address())
