"""Connect the demo firm to the in-process Xero sandbox through the real OAuth flow.

The demo's browser-facing sandbox lives in the web server's process (integrations.xero.
sandbox_mount), so this runs in that same process at start-up: the tokens it obtains are the
ones that sandbox issued.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from integrations.models import XeroConnection, XeroTenant
from integrations.xero import oauth
from integrations.xero.sandbox_mount import sandbox_app
from tenants.models import Firm, User


def demo_xero_connect(*, firm: Firm, user: User) -> XeroConnection:
    """Connect to the in-process sandbox (the demo)."""
    sandbox = httpx.Client(
        transport=httpx.WSGITransport(app=sandbox_app()), base_url="http://sandbox"
    )
    return sandbox_xero_connect(firm=firm, user=user, sandbox=sandbox)


def demo_xero_connect_to(*, firm: Firm, user: User, base_url: str) -> XeroConnection:
    """Connect to a sandbox served over HTTP (the benchmarks)."""
    return sandbox_xero_connect(firm=firm, user=user, sandbox=httpx.Client(base_url=base_url))


def sandbox_xero_connect(*, firm: Firm, user: User, sandbox: httpx.Client) -> XeroConnection:
    """Authorise as the firm's owner would: open the consent page, tick every organisation,
    approve, and hand the returned code to the product's own callback service."""
    authorize_url, _nonce = oauth.xero_authorize_url(firm=firm, user=user)
    query = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
    with sandbox as http:
        page = http.get("/identity/connect/authorize", params=query)
        page.raise_for_status()
        tenants = re.findall(r'name="tenant" value="([^"]+)"', page.text)
        form = [*query.items(), *(("tenant", t) for t in tenants), ("decision", "approve")]
        answer = http.post(
            "/identity/connect/authorize",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    code = parse_qs(urlparse(answer.headers["location"]).query)["code"][0]
    stale = list(XeroConnection.objects.for_firm(firm).values_list("pk", flat=True))
    connection = oauth.xero_connection_create_from_code(firm=firm, user=user, code=code)
    # The previous demo run's sandbox is gone with its process: its tokens are worthless, and
    # its organisations have just moved to the new connection.
    XeroConnection.objects.for_firm(firm).filter(pk__in=stale).exclude(pk=connection.pk).delete()
    for tenant in XeroTenant.objects.for_firm(firm).filter(client_organisation__isnull=True):
        oauth.xero_tenant_link(tenant=tenant, client_organisation=None)
    return connection
