"""The Xero sandbox, in-process, as the product's Xero client sees it in tests."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from django.urls import reverse

from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    SyncRun,
    TrackingOption,
    TransactionLine,
    XeroOrganisation,
)
from integrations.xero.http import use_transport
from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.generator import generate_organisations

SANDBOX_ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}


@pytest.fixture(scope="session")
def sandbox_today(suite_today) -> dt.date:
    # The sandbox's data ends on the suite's date (tests/clock.py), real or moved, never on the
    # process's own date: that is what the product's clock reads during each test.
    return suite_today


@pytest.fixture(scope="session")
def shared_organisations(sandbox_today):
    # Read-only tests share one generation (about a second); tests that change the sandbox's
    # data are marked `mutable_sandbox`.
    return generate_organisations(seed=7, today=sandbox_today)


def _serve(app: SandboxApp):
    with use_transport(httpx.WSGITransport(app=app)):
        yield app


def sandbox_app(organisations, today) -> SandboxApp:
    # The sandbox's clock follows real time (the product compares its own timestamps, such as
    # the last sync's start, with the sandbox's UpdatedDateUTC); only the data's "today" is set.
    return create_app(organisations=organisations, today=today, clock=SandboxClock())


def _fingerprint(organisations) -> list[tuple]:
    """What a change through the sandbox's admin endpoints or a sync's writes leaves behind:
    counts, the latest UpdatedDateUTC of each list, and the lock date. Cheap enough for every
    test (no walk over budget cells)."""

    def latest(items):
        return max((item.updated_utc for item in items), default=None)

    return [
        (
            org.period_lock_date,
            len(org.accounts),
            latest(org.accounts),
            len(org.contacts),
            latest(org.contacts),
            len(org.documents),
            latest(org.documents),
            len(org.manual_journals),
            latest(org.manual_journals),
            len(org.budgets),
            latest(org.budgets),
        )
        for org in organisations
    ]


@pytest.fixture(scope="session")
def _dated_organisations() -> dict[dt.date, list]:
    # Read-only tests that pin a date of their own (a `clock` marker) share one generation per
    # date too: five parametrised narrative tests on one date generated it five times.
    return {}


@pytest.fixture
def sandbox_organisations(
    request, shared_organisations, _dated_organisations, sandbox_today, test_today
):
    """The organisations the test's sandbox serves."""
    if request.node.get_closest_marker("mutable_sandbox"):
        # The test changes the sandbox's data: it gets organisations of its own.
        yield generate_organisations(seed=7, today=test_today)
        return
    if test_today == sandbox_today:
        shared = shared_organisations
    else:
        if test_today not in _dated_organisations:
            _dated_organisations[test_today] = generate_organisations(seed=7, today=test_today)
        shared = _dated_organisations[test_today]
    before = _fingerprint(shared)
    yield shared
    # Every test starts at the same instant (tests/clock.py): a document one test added to the
    # shared data at that instant plus a few seconds is "modified since" any later test's
    # poll or sync, which then depends on the order tests run in. Such a test must say so.
    assert _fingerprint(shared) == before, (
        f"{request.node.nodeid} changed the shared sandbox's data: mark it mutable_sandbox"
    )


@pytest.fixture
def xero_sandbox(sandbox_organisations, test_today):
    yield from _serve(sandbox_app(sandbox_organisations, test_today))


def minute_in_a_second(app: SandboxApp, settings) -> None:
    """Xero's rate-limit minute lasts one real second: the sandbox's clock runs 60 times as fast
    and the product's limiter is told the window's length, as a sped-up sandbox asks.

    For tests whose subject is not the wait itself but that make more than 60 calls to one
    organisation (an initial sync of a large one): they still meet the limit, and wait for it,
    a second instead of a minute. Token lifetimes shrink the same way (30 minutes: 30 seconds),
    so only tests that finish well within that use it."""
    app.state.clock.set_time_scale(60)
    settings.XERO_RATE_LIMIT_WINDOW_SECONDS = app.minute_window_seconds


def sandbox_http(app: SandboxApp) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://xero-sandbox.test")


def xero_consent(app: SandboxApp, authorize_url: str, *, tenant_ids=None, approve=True) -> str:
    """Act as the user on the sandbox's consent page; returns the callback URL it redirects to."""
    with sandbox_http(app) as http:
        page = http.get(authorize_url)
        assert page.status_code == 200, page.text
        query = {k: v[0] for k, v in parse_qs(urlparse(authorize_url).query).items()}
        if tenant_ids is None:
            tenant_ids = re.findall(r'name="tenant" value="([^"]+)"', page.text)
        form = list(query.items())
        form += [("tenant", t) for t in tenant_ids]
        form.append(("decision", "approve" if approve else "deny"))
        answer = http.post(
            "/identity/connect/authorize",
            content=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["location"]


def connect_firm_to_xero(client, firm_cast, app: SandboxApp, *, tenant_ids=None):
    """The whole Connect Xero flow through the product's views, as the firm's owner."""
    owner = firm_cast.member("owner").user
    client.force_login(owner)
    start = client.post(reverse("xero_connect", args=[firm_cast.firm.slug]))
    assert start.status_code == 302
    callback = xero_consent(app, start["Location"], tenant_ids=tenant_ids)
    parsed = urlparse(callback)
    return client.get(f"{parsed.path}?{parsed.query}")


def link_all(firm_cast, tenant_names=None):
    """Link every Xero organisation of the firm's connection to a new client organisation."""
    from integrations.models import XeroTenant
    from integrations.xero.oauth import xero_tenant_link

    linked = {}
    for tenant in XeroTenant.objects.for_firm(firm_cast.firm):
        if tenant_names is None or tenant.tenant_name in tenant_names:
            linked[tenant.tenant_name] = xero_tenant_link(tenant=tenant, client_organisation=None)
    return linked


@pytest.fixture
def connected_firm(client, firm_a, xero_sandbox):
    """Firm A connected to every sandbox organisation, each linked to its own client."""
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    firm_a.linked = link_all(firm_a)
    return firm_a


class DjangoTransport(httpx.BaseTransport):
    """Lets the sandbox (or any httpx client) call the product through Django's test client,
    which keeps the test's database transaction, unlike a bare WSGI handler."""

    def __init__(self, client):
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        response = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            body,
            content_type=request.headers.get("content-type", ""),
            headers=headers,
        )
        return httpx.Response(
            response.status_code, headers=dict(response.items()), content=response.content
        )


# --- Syncing a sandbox organisation ---------------------------------------------------------

ORGANISATIONS = [
    "Harbour Lane Café",
    "Tidepool Software",
    "Ashford & Vale Construction",
    "Tidemark Homewares",
    "Kestrel Pacific Group",
]


def sync(firm_cast, name, *, kind=None, **kwargs) -> SyncRun:
    organisation = firm_cast.linked[name]
    run = organisation_sync_start(
        firm=firm_cast.firm, organisation=organisation, trigger="manual", kind=kind, enqueue=False
    )
    return organisation_sync(firm=firm_cast.firm, run_id=run.pk, **kwargs)


def rows(firm, organisation) -> dict:
    """Every synced row of an organisation, by Xero's ids, without our own ids or timestamps."""

    def q(model):
        return model.objects.for_firm(firm).filter(organisation=organisation)

    return {
        "profile": list(
            q(XeroOrganisation).values_list(
                "xero_organisation_id", "base_currency", "period_lock_date"
            )
        ),
        "accounts": sorted(
            q(Account).values_list("account_id", "code", "name", "type", "account_class", "status")
        ),
        "options": sorted(
            q(TrackingOption).values_list("option_id", "name", "category__category_id")
        ),
        "budgets": sorted(
            q(Budget).values_list("budget_id", "type", "description", "tracking_option__option_id")
        ),
        "balances": sorted(
            q(BudgetBalance).values_list(
                "budget_line__budget__budget_id",
                "budget_line__account__account_id",
                "period",
                "amount",
                "notes",
            )
        ),
        "actuals": sorted(
            q(ActualBalance).values_list(
                "account__account_id", "tracking_option__option_id", "period", "amount"
            ),
            key=str,
        ),
        "transactions": sorted(
            q(TransactionLine).values_list(
                "document_id", "line_id", "account__account_id", "amount", "contact_name", "date"
            ),
            key=str,
        ),
    }
