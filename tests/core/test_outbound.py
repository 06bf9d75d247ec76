"""The SSRF guard on URLs a firm chooses (core/outbound.py): real resolution of literal
addresses and of localhost, and real connections to a loopback server."""

import httpx
import pytest

from core.outbound import OutboundURLRefused, outbound_http_client, outbound_url_check
from tests.served import served


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:6379/", "loopback"),
        ("http://localhost:5432/v1", "loopback"),
        ("http://[::1]/v1", "loopback"),
        ("http://10.0.0.8/v1", "private"),
        ("http://172.16.4.4/v1", "private"),
        ("http://192.168.1.1/v1", "private"),
        ("http://[fd12:3456::1]/v1", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),
        ("http://240.0.0.1/", "reserved"),
        ("http://100.64.0.1/", "public internet"),
        ("http://224.0.0.1/", "multicast"),
        # Decimal and octal spellings of 127.0.0.1 resolve to loopback too.
        ("http://2130706433/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),
    ],
)
def test_internal_addresses_are_refused_after_resolution(url, why):
    with pytest.raises(OutboundURLRefused, match=why):
        outbound_url_check(url)


def test_public_addresses_pass(settings):
    settings.OUTBOUND_HTTPS_ONLY = True
    outbound_url_check("https://1.1.1.1/v1")
    outbound_url_check("https://[2606:4700:4700::1111]/v1")


def test_production_settings_allow_https_only(settings):
    settings.OUTBOUND_HTTPS_ONLY = True
    with pytest.raises(OutboundURLRefused, match="must start with https://"):
        outbound_url_check("http://1.1.1.1/v1")
    settings.OUTBOUND_HTTPS_ONLY = False
    outbound_url_check("http://1.1.1.1/v1")
    with pytest.raises(OutboundURLRefused, match="https:// or http://"):
        outbound_url_check("file:///etc/passwd")


def test_credentials_and_unknown_hosts_are_refused():
    with pytest.raises(OutboundURLRefused, match="user name or password"):
        outbound_url_check("https://admin:pw@1.1.1.1/v1")
    with pytest.raises(OutboundURLRefused, match="cannot be found"):
        outbound_url_check("https://no-such-host.invalid/v1")


def test_an_operator_may_allow_a_network_of_their_own(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    outbound_url_check("http://10.20.3.4/v1")
    with pytest.raises(OutboundURLRefused, match="private"):
        outbound_url_check("http://10.21.3.4/v1")


def _redirect_to_metadata(environ, start_response):
    start_response("302 Found", [("Location", "http://169.254.169.254/latest/meta-data/")])
    return [b""]


def test_the_client_checks_each_connection_and_follows_no_redirect(settings):
    with served(_redirect_to_metadata) as url:
        # Checked as the connection opens, not only before: localhost is refused even when the
        # caller skipped outbound_url_check (the host could resolve elsewhere by then).
        port = url.rsplit(":", 1)[1]
        with (
            outbound_http_client(timeout=5) as client,
            pytest.raises(httpx.ConnectError, match=r"resolves to 127\.0\.0\.1"),
        ):
            client.get(f"http://localhost:{port}/")

        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        with outbound_http_client(timeout=5) as client:
            response = client.get(f"{url}/")
        # The redirect comes back as it is; nothing asked the address it names.
        assert response.status_code == 302
        assert response.next_request is not None
        assert response.history == []
