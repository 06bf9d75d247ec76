"""Connect Xero works whatever host the app was opened on: Xero answers at SITE_URL (the one
registered callback), and the callback sends the reply back to the host whose session started
the flow. Only hosts of ours, named in the signed state, are ever sent to."""

from urllib.parse import urlparse

from django.core import signing
from django.test import Client
from django.urls import reverse

from integrations.models import XeroConnection
from integrations.xero import oauth
from tests.sandbox import xero_consent


def test_connect_xero_opened_on_another_host_than_site_url(client, firm_a, firm_b, xero_sandbox):
    # SITE_URL is http://testserver in the tests; the firm's owner opened the app on 127.0.0.1.
    client.force_login(firm_a.member("owner").user)
    start = client.post(reverse("xero_connect", args=["alder"]), HTTP_HOST="127.0.0.1")
    assert start.status_code == 302
    assert "redirect_uri=http%3A%2F%2Ftestserver%2F" in start["Location"]  # always SITE_URL
    callback = urlparse(xero_consent(xero_sandbox, start["Location"]))
    assert callback.netloc == "testserver"

    # Xero's reply lands on SITE_URL's host, where the browser has no session: sent back.
    at_site_url = Client().get(f"{callback.path}?{callback.query}")
    assert at_site_url.status_code == 302
    assert at_site_url["Location"] == f"http://127.0.0.1{callback.path}?{callback.query}"
    assert not XeroConnection.objects.for_firm(firm_a.firm).exists()

    back = urlparse(at_site_url["Location"])
    done = client.get(f"{back.path}?{back.query}", HTTP_HOST="127.0.0.1")

    connection = XeroConnection.objects.for_firm(firm_a.firm).get()
    assert done["Location"] == reverse("xero_connection_link", args=["alder", connection.pk])
    assert not XeroConnection.objects.for_firm(firm_b.firm).exists()


def test_a_state_naming_a_host_not_ours_is_never_followed(client, firm_a, xero_sandbox):
    owner = firm_a.member("owner").user
    state = signing.dumps(
        {"f": firm_a.firm.pk, "u": owner.pk, "n": "x", "o": "http://evil.example"},
        salt=oauth.STATE_SALT,
    )

    response = Client().get(reverse("xero_callback"), {"code": "c", "state": state})

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"].startswith(reverse("account_login"))
