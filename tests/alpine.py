"""The sandbox's opt-in organisations of issue #22 (integrations/xero/sandbox/orgs/alpine.py),
connected to a firm: GST-inclusive documents, foreign currencies at 4-6 decimal rates, manual
journals, two tracking categories, and documents the reports ignore."""

from contextlib import contextmanager

import httpx

from integrations.xero.http import use_transport
from integrations.xero.sandbox.generator import generate_extra_organisations
from tests.sandbox import connect_firm_to_xero, link_all, sandbox_app

ALPINE = "Southern Alps Outfitters"  # NZ: inclusive GST, FXGROUPID on its P&L
BIGHORN = "Bighorn Outfitters"  # US: no tax, currency accounts as ordinary P&L rows


@contextmanager
def alpine_connected(client, cast, today):
    """Yields (sandbox app, {name: SandboxOrganisation}) with `cast` connected and linked."""
    organisations = generate_extra_organisations("alpine", "alpine-us", today=today)
    app = sandbox_app(organisations, today)
    with use_transport(httpx.WSGITransport(app=app)):
        connect_firm_to_xero(client, cast, app)
        cast.linked = link_all(cast)
        yield app, {o.name: o for o in organisations}
