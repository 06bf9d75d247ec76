"""Xero's official Python SDK (xero-python), pointed at the sandbox, reads every response the
product relies on, under each behaviour switch that changes a response's shape; and filtered
requests return only what they ask for.

The SDK talks urllib3, which httpx's WSGITransport cannot serve, so the sandbox runs on its
threaded HTTP server on a free local port for the module.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import HTTPStatusException

from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.generator import generate_extra_organisations
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.ratelimit import SandboxLimits
from integrations.xero.sandbox.server import make_sandbox_server
from tests.integrations.xero.sandbox.harness import CLIENT, connect

TODAY = dt.date(2026, 6, 15)
SCOPES = (
    "openid profile email offline_access accounting.settings.read accounting.budgets.read "
    "accounting.reports.profitandloss.read accounting.reports.balancesheet.read "
    "accounting.reports.trialbalance.read accounting.reports.budgetsummary.read "
    "accounting.invoices.read accounting.banktransactions.read accounting.manualjournals.read "
    "accounting.contacts.read"
)

# The switch combinations whose responses differ in shape: the product must read each.
BEHAVIOURS = {
    "as today": Behaviour(),
    "periods ignored, oldest first, long labels": Behaviour(
        pl_periods_with_tracking="ignored", pl_column_order="oldest_first", pl_header_labels="long"
    ),
    "periods refused": Behaviour(pl_periods_with_tracking="rejected"),
    "month labels, options omitted, no Unassigned": Behaviour(
        pl_header_labels="month", pl_missing_options="omitted", pl_unassigned_column=False
    ),
    "whole budgets": Behaviour(budget_window="whole"),
    "capped budgets": Behaviour(budget_window="capped"),
}


@dataclass
class Served:
    app: SandboxApp
    base_url: str
    api: AccountingApi
    alpine: SandboxOrganisation
    us: SandboxOrganisation
    server: Any = None
    thread: threading.Thread | None = None


@pytest.fixture(scope="module")
def served(suite_instant) -> Iterator[Served]:
    # A module fixture is made before each test's clock starts (tests/clock.py), so it makes its
    # token at the suite's instant too: made at the real time, it would look expired (and the
    # SDK would try to refresh it at identity.xero.com) whenever the suite's clock is moved on.
    with time_machine.travel(suite_instant, tick=True):
        served = _serve()
    try:
        yield served
    finally:
        server = served.server
        server.shutdown()
        server.server_close()
        served.thread.join(timeout=5)


def _serve() -> Served:
    organisations = generate_extra_organisations("alpine", "alpine-us", today=TODAY)
    app = create_app(
        organisations=organisations,
        today=TODAY,
        clients=[CLIENT],
        limits=SandboxLimits(minute=100_000, day=100_000),
    )
    server = make_sandbox_server("127.0.0.1", 0, app, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tokens = connect(
        app, scope=SCOPES, tenants=tuple(o.organisation_id for o in organisations)
    ).tokens
    base_url = f"http://127.0.0.1:{server.server_port}"
    served = Served(app, base_url, _accounting_api(base_url, tokens), *organisations)
    served.server, served.thread = server, thread
    return served


def _accounting_api(base_url: str, tokens: dict[str, Any]) -> AccountingApi:
    stored = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens.get("refresh_token"),
        "token_type": "Bearer",
        "expires_in": tokens["expires_in"],
        "expires_at": time.time() + int(tokens["expires_in"]),
        "scope": SCOPES.split(),
    }
    client = ApiClient(
        Configuration(
            oauth2_token=OAuth2Token(client_id=CLIENT.client_id, client_secret=CLIENT.client_secret)
        ),
        pool_threads=1,
    )
    client.oauth2_token_getter(lambda: stored)
    client.oauth2_token_saver(stored.update)
    return AccountingApi(client, base_url=f"{base_url}/api.xro/2.0")


@pytest.fixture(params=list(BEHAVIOURS), ids=list(BEHAVIOURS))
def behaviour(request: pytest.FixtureRequest, served: Served) -> Iterator[Behaviour]:
    served.app.behaviour = BEHAVIOURS[request.param]
    yield served.app.behaviour
    served.app.behaviour = Behaviour()


def _header(report: Any) -> list[str]:
    return [cell.value for cell in report.reports[0].rows[0].cells][1:]


def test_every_endpoint_the_product_uses_deserialises(served: Served, behaviour: Behaviour) -> None:
    api = served.api
    for org in (served.alpine, served.us):
        tenant = org.organisation_id
        category = org.tracking_categories[0]
        assert api.get_organisations(tenant).organisations[0].organisation_id is not None
        assert len(api.get_accounts(tenant).accounts) == len(org.accounts)
        categories = api.get_tracking_categories(tenant).tracking_categories
        assert [c.name for c in categories] == ["Region", "Channel"]
        assert api.get_currencies(tenant).currencies
        headers = api.get_budgets(tenant).budgets
        assert [b.budget_id for b in headers] == [b.budget_id for b in org.budgets]
        budget = api.get_budget(
            tenant,
            org.budgets[0].budget_id,
            date_from=dt.date(2026, 4, 1),
            date_to=dt.date(2027, 3, 31),
        ).budgets[0]
        periods = {
            f"{b.period:%Y-%m}" for line in budget.budget_lines for b in line.budget_balances
        }
        asked = {f"{2026 + (3 + i) // 12}-{(3 + i) % 12 + 1:02d}" for i in range(12)}
        everything = {p for amounts in org.budgets[0].lines.values() for p in amounts}
        expected = everything if behaviour.budget_window == "whole" else everything & asked
        assert periods == expected

        untracked = api.get_report_profit_and_loss(
            tenant,
            from_date=dt.date(2026, 5, 1),
            to_date=dt.date(2026, 5, 31),
            periods=11,
            timeframe="MONTH",
            standard_layout=True,
        )
        assert len(_header(untracked)) == 12
        by_option = api.get_report_profit_and_loss(
            tenant,
            from_date=dt.date(2026, 5, 1),
            to_date=dt.date(2026, 5, 31),
            tracking_category_id=category.category_id,
            standard_layout=True,
        )
        assert _header(by_option)[0] == category.options[0].name
        assert api.get_report_trial_balance(tenant, date=dt.date(2026, 5, 31)).reports
        assert api.get_report_budget_summary(tenant, date=dt.date(2026, 4, 1), periods=12).reports
        assert api.get_report_balance_sheet(tenant, date=dt.date(2026, 5, 31)).reports
        for method, key in (
            (api.get_invoices, "invoices"),
            (api.get_credit_notes, "credit_notes"),
            (api.get_bank_transactions, "bank_transactions"),
        ):
            page = method(
                tenant,
                page=1,
                page_size=1000,
                where="Date>=DateTime(2025,04,01) && Date<DateTime(2026,04,01)",
                if_modified_since=dt.datetime(2025, 1, 1),
            )
            assert getattr(page, key) and page.pagination.item_count == len(getattr(page, key))
        assert api.get_manual_journals(tenant, page=1).manual_journals
        assert api.get_contacts(tenant, page=1).contacts


def _tracked_with_periods(api: AccountingApi, tenant: str, category_id: str) -> Any:
    return api.get_report_profit_and_loss(
        tenant,
        from_date=dt.date(2026, 5, 1),
        to_date=dt.date(2026, 5, 31),
        periods=2,
        timeframe="MONTH",
        tracking_category_id=category_id,
        standard_layout=True,
    )


@pytest.mark.parametrize(
    "name", [name for name, b in BEHAVIOURS.items() if b.pl_periods_with_tracking != "rejected"]
)
def test_periods_with_tracking_columns_follow_the_switch(served: Served, name: str) -> None:
    behaviour = served.app.behaviour = BEHAVIOURS[name]
    org = served.alpine
    category = org.tracking_categories[0]
    try:
        report = _tracked_with_periods(served.api, org.organisation_id, category.category_id)
    finally:
        served.app.behaviour = Behaviour()
    header = _header(report)

    options = [o.name for o in category.options]
    options += ["Unassigned"] * (
        behaviour.pl_unassigned_column and behaviour.pl_missing_options == "zero"
    )
    options.append("Total")
    periods = 1 if behaviour.pl_periods_with_tracking == "ignored" else 3
    assert len(header) == len(options) * periods
    assert [h.split(" ")[0] for h in header[: len(options)]] == options


def test_periods_with_tracking_refused_reaches_the_sdk_as_a_400(served: Served) -> None:
    org = served.alpine
    served.app.behaviour = Behaviour(pl_periods_with_tracking="rejected")
    try:
        with pytest.raises(HTTPStatusException) as refused:
            _tracked_with_periods(
                served.api, org.organisation_id, org.tracking_categories[0].category_id
            )
    finally:
        served.app.behaviour = Behaviour()

    assert refused.value.status == 400


def test_one_invoice_by_id_is_exactly_that_one(served: Served) -> None:
    org = served.alpine
    wanted = next(d for d in org.documents if d.endpoint == "Invoices" and d.status == "PAID")

    found = served.api.get_invoices(org.organisation_id, i_ds=[wanted.document_id]).invoices

    assert [str(i.invoice_id) for i in found] == [wanted.document_id]


def test_drafts_only_when_drafts_are_asked_for(served: Served) -> None:
    org = served.alpine

    found = served.api.get_invoices(org.organisation_id, statuses=["DRAFT"]).invoices

    assert found
    assert {i.status for i in found} == {"DRAFT"}
    assert len(found) == sum(
        1 for d in org.documents if d.endpoint == "Invoices" and d.status == "DRAFT"
    )


def test_contacts_pages_differ_and_carry_pagination(served: Served) -> None:
    org = served.alpine

    first = served.api.get_contacts(org.organisation_id, page=1, page_size=5)
    second = served.api.get_contacts(org.organisation_id, page=2, page_size=5)

    assert (first.pagination.page, second.pagination.page) == (1, 2)
    assert first.pagination.item_count == len(org.contacts)
    assert first.pagination.page_count == (len(org.contacts) + 4) // 5
    assert {c.contact_id for c in first.contacts}.isdisjoint(
        {c.contact_id for c in second.contacts}
    )


def test_balance_sheet_by_tracking_option_differs_from_the_whole(served: Served) -> None:
    org = served.alpine
    option = org.tracking_categories[0].options[0]

    def net_assets(report: Any) -> str:
        return next(
            row.cells[1].value
            for section in report.reports[0].rows
            for row in section.rows or []
            if row.cells and row.cells[0].value == "Net Assets"
        )

    whole = served.api.get_report_balance_sheet(org.organisation_id, date=dt.date(2026, 5, 31))
    tracked = served.api.get_report_balance_sheet(
        org.organisation_id, date=dt.date(2026, 5, 31), tracking_option_id1=option.option_id
    )

    assert net_assets(tracked) != net_assets(whole)


def test_manual_journals_are_listed(served: Served) -> None:
    org = served.alpine
    own = {j.journal_id for j in org.manual_journals if not j.system}

    listed = served.api.get_manual_journals(org.organisation_id).manual_journals
    one = served.api.get_manual_journal(org.organisation_id, next(iter(sorted(own))))

    assert {str(j.manual_journal_id) for j in listed} == own
    assert one.manual_journals[0].journal_lines


def test_the_fx_group_row_reads_through_the_sdk(served: Served) -> None:
    report = served.api.get_report_profit_and_loss(
        served.alpine.organisation_id,
        from_date=dt.date(2026, 5, 1),
        to_date=dt.date(2026, 5, 31),
        standard_layout=True,
    )

    ids = [
        row.cells[0].attributes[0].value
        for section in report.reports[0].rows
        for row in section.rows or []
        if row.cells and row.cells[0].attributes
    ]
    assert "FXGROUPID" in ids
