"""Sandboxes of the sync tests beyond the five named organisations."""

import httpx
import pytest

from integrations.xero.http import use_transport
from integrations.xero.sandbox.generator import generate_extra_organisations
from tests.sandbox import connect_firm_to_xero, link_all, sandbox_app


@pytest.fixture(scope="session")
def extra_organisations(sandbox_today):
    # Alpine (NZ): two tracking categories, GST-inclusive sales, bills in foreign currencies at
    # 4-6 decimal rates, currency gains on one FXGROUPID row, manual journals; alpine-us: the
    # same business where Xero lists the currency accounts one by one.
    return generate_extra_organisations("alpine", "alpine-us", seed=7, today=sandbox_today)


@pytest.fixture
def extra_firm(client, firm_a, extra_organisations, test_today):
    app = sandbox_app(extra_organisations, test_today)
    with use_transport(httpx.WSGITransport(app=app)):
        connect_firm_to_xero(client, firm_a, app)
        firm_a.linked = link_all(firm_a)
        firm_a.sandbox = app
        firm_a.organisations = extra_organisations
        yield firm_a
