"""List filters the product sends return only what they ask for; the ones the sandbox cannot
apply are refused with Xero's 400, never ignored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.generator import generate_extra_organisations
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.msdate import parse_ms_date
from integrations.xero.sandbox.ratelimit import SandboxLimits
from tests.integrations.xero.sandbox.harness import CLIENT, Connected, connect

API = "/api.xro/2.0"
TODAY = dt.date(2026, 6, 15)


@pytest.fixture(scope="module")
def sandbox() -> SandboxApp:
    return create_app(
        organisations=generate_extra_organisations("alpine", today=TODAY),
        today=TODAY,
        clients=[CLIENT],
        limits=SandboxLimits(minute=100_000, day=100_000),
    )


@pytest.fixture(scope="module")
def org(sandbox: SandboxApp) -> SandboxOrganisation:
    return sandbox.state.organisations[0]


@pytest.fixture(scope="module")
def api(sandbox: SandboxApp, org: SandboxOrganisation) -> Iterator[Connected]:
    scope = (
        "offline_access accounting.settings.read accounting.reports.read "
        "accounting.transactions.read accounting.contacts.read"
    )
    connected = connect(sandbox, scope=scope, tenants=(org.organisation_id,))
    yield connected
    connected.client.close()


def _get(api: Connected, org: SandboxOrganisation, path: str, **params: Any) -> Any:
    return api.get(f"{API}/{path}", tenant=org.organisation_id, **params)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text[:500]
    return response.json()


def _refused(response: Any) -> str:
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["Type"] == "ValidationException"
    return body["Elements"][0]["ValidationErrors"][0]["Message"]


def _invoices(org: SandboxOrganisation) -> list[Any]:
    return [d for d in org.documents if d.endpoint == "Invoices"]


def test_invoices_by_ids_return_exactly_those(api: Connected, org: SandboxOrganisation) -> None:
    first, second = _invoices(org)[3], _invoices(org)[40]

    one = _ok(_get(api, org, "Invoices", IDs=first.document_id))["Invoices"]
    two = _ok(_get(api, org, "Invoices", IDs=f"{first.document_id},{second.document_id.upper()}"))

    assert [i["InvoiceID"] for i in one] == [first.document_id]
    assert {i["InvoiceID"] for i in two["Invoices"]} == {first.document_id, second.document_id}
    assert "must be a comma-separated list of GUIDs" in _refused(
        _get(api, org, "Invoices", IDs="INV-0001")
    )


def test_invoices_by_statuses(api: Connected, org: SandboxOrganisation) -> None:
    drafts = _ok(_get(api, org, "Invoices", Statuses="DRAFT"))["Invoices"]
    void_or_deleted = _ok(_get(api, org, "Invoices", Statuses="VOIDED,DELETED"))["Invoices"]

    assert len(drafts) == sum(1 for d in _invoices(org) if d.status == "DRAFT") > 10
    assert {i["Status"] for i in drafts} == {"DRAFT"}
    assert {i["Status"] for i in void_or_deleted} == {"VOIDED", "DELETED"}
    assert "unknown status" in _refused(_get(api, org, "Invoices", Statuses="DRAFT,LOST"))


@pytest.mark.parametrize(
    ("where", "wanted"),
    [
        ('Type=="ACCREC"', lambda d: d.type == "ACCREC"),
        (
            'Type=="ACCREC" && Status=="AUTHORISED"',
            lambda d: d.type == "ACCREC" and d.status == "AUTHORISED",
        ),
        (
            'Status == "PAID" AND Date >= DateTime(2026,01,01) AND Date < DateTime(2026,02,01)',
            lambda d: d.status == "PAID" and d.date.year == 2026 and d.date.month == 1,
        ),
        (
            'Status=="DRAFT" || Status=="VOIDED"',
            lambda d: d.status in ("DRAFT", "VOIDED"),
        ),
        (
            '(Type=="ACCPAY" OR Type=="ACCREC") && Date>=DateTime(2026, 5, 1, 0, 0, 0)',
            lambda d: d.date >= dt.date(2026, 5, 1),
        ),
        ('Contact.Name=="Retail takings"', lambda d: d.reference.startswith("Retail sales")),
        ('CurrencyCode!="NZD"', lambda d: d.currency_code != "NZD"),
    ],
)
def test_invoices_where(api: Connected, org: SandboxOrganisation, where: str, wanted: Any) -> None:
    found = _ok(_get(api, org, "Invoices", where=where))["Invoices"]

    expected = {d.document_id for d in _invoices(org) if wanted(d)}
    assert expected
    assert {i["InvoiceID"] for i in found} == expected


@pytest.mark.parametrize(
    "where",
    [
        'Type="ACCREC"',
        'Type=="ACCREC" &&',
        "Date>=DateTime(2026,13,1)",
        'Colour=="Blue"',
        'Date>="2026-01-01"',
        'NOT Type=="ACCREC"',
        "Type==ACCREC",
    ],
)
def test_unreadable_where_is_refused(api: Connected, org: SandboxOrganisation, where: str) -> None:
    assert _refused(_get(api, org, "Invoices", where=where))


def test_invoices_page_with_line_items_and_pagination(
    api: Connected, org: SandboxOrganisation
) -> None:
    first = _ok(_get(api, org, "Invoices", page=1, pageSize=50))
    second = _ok(_get(api, org, "Invoices", page=2, pageSize=50))
    count = len(_invoices(org))

    assert first["pagination"] == {
        "page": 1,
        "pageSize": 50,
        "pageCount": (count + 49) // 50,
        "itemCount": count,
    }
    assert len(first["Invoices"]) == 50 and "LineItems" in first["Invoices"][0]
    assert not {i["InvoiceID"] for i in first["Invoices"]} & {
        i["InvoiceID"] for i in second["Invoices"]
    }
    summary = _ok(_get(api, org, "Invoices", page=1, summaryOnly="true"))["Invoices"][0]
    assert "LineItems" not in summary


def test_invoices_if_modified_since_and_order(api: Connected, org: SandboxOrganisation) -> None:
    since = dt.datetime(2026, 5, 1)
    headers = {
        "Authorization": f"Bearer {api.tokens['access_token']}",
        "xero-tenant-id": org.organisation_id,
        "If-Modified-Since": "2026-05-01T00:00:00",
    }
    changed = _ok(api.client.get(f"{API}/Invoices", headers=headers))["Invoices"]
    newest_first = _ok(_get(api, org, "Invoices", order="Date DESC", where='Type=="ACCPAY"'))

    assert {i["InvoiceID"] for i in changed} == {
        d.document_id for d in _invoices(org) if d.updated_utc > since
    }
    dates = [parse_ms_date(i["Date"]) for i in newest_first["Invoices"]]
    assert dates == sorted(dates, reverse=True)
    assert "ASC or DESC" in _refused(_get(api, org, "Invoices", order="Date SIDEWAYS"))


def test_credit_notes_and_bank_transactions_filter_too(
    api: Connected, org: SandboxOrganisation
) -> None:
    supplier_credits = _ok(_get(api, org, "CreditNotes", where='Type=="ACCPAYCREDIT"'))
    spend = _ok(_get(api, org, "BankTransactions", where='Type=="SPEND"', page=1, pageSize=10))

    assert {c["Type"] for c in supplier_credits["CreditNotes"]} == {"ACCPAYCREDIT"}
    assert len(supplier_credits["CreditNotes"]) == sum(
        1 for d in org.documents if d.type == "ACCPAYCREDIT"
    )
    assert {b["Type"] for b in spend["BankTransactions"]} == {"SPEND"}
    assert spend["pagination"]["itemCount"] == sum(1 for d in org.documents if d.type == "SPEND")
    # Invoices' own filters are not parameters of the other lists: refused, not ignored.
    assert "not a parameter" in _refused(
        _get(api, org, "CreditNotes", IDs=org.documents[0].document_id)
    )


def test_parameters_the_sandbox_does_not_implement_are_refused(
    api: Connected, org: SandboxOrganisation
) -> None:
    assert "searchTerm" in _refused(_get(api, org, "Invoices", searchTerm="boots"))
    assert "createdByMyApp" in _refused(_get(api, org, "Invoices", createdByMyApp="true"))
    assert "searchTerm" in _refused(_get(api, org, "Contacts", searchTerm="Mercury"))
    assert _refused(_get(api, org, "Invoices", unitdp=3))


def test_contacts_page_ids_and_where(api: Connected, org: SandboxOrganisation) -> None:
    everyone = _ok(_get(api, org, "Contacts"))
    first = _ok(_get(api, org, "Contacts", page=1, pageSize=5))
    second = _ok(_get(api, org, "Contacts", page=2, pageSize=5))
    chosen = org.contacts[2]
    by_id = _ok(_get(api, org, "Contacts", IDs=chosen.contact_id))["Contacts"]
    suppliers = _ok(_get(api, org, "Contacts", where="IsSupplier==true"))["Contacts"]
    named = _ok(_get(api, org, "Contacts", where='Name.StartsWith("Mercury")'))["Contacts"]

    assert "pagination" not in everyone and len(everyone["Contacts"]) == len(org.contacts)
    assert first["pagination"] == {
        "page": 1,
        "pageSize": 5,
        "pageCount": (len(org.contacts) + 4) // 5,
        "itemCount": len(org.contacts),
    }
    assert second["pagination"]["page"] == 2
    assert [c["ContactID"] for c in first["Contacts"]] != [
        c["ContactID"] for c in second["Contacts"]
    ]
    assert [c["ContactID"] for c in by_id] == [chosen.contact_id]
    assert suppliers and all(c["IsSupplier"] for c in suppliers)
    assert len(suppliers) < len(org.contacts)
    assert [c["Name"] for c in named] == ["Mercury Energy"]


def _labelled(report: dict[str, Any], label: str) -> list[str]:
    return next(
        [c["Value"] for c in r["Cells"][1:]]
        for s in report["Rows"]
        for r in s.get("Rows", [])
        if r["Cells"][0]["Value"] == label
    )


def test_balance_sheet_by_tracking_option(api: Connected, org: SandboxOrganisation) -> None:
    region, channel = org.tracking_categories
    auckland, retail = region.options[0], channel.options[0]

    whole = _ok(_get(api, org, "Reports/BalanceSheet", date="2026-05-31"))["Reports"][0]
    tracked = _ok(
        _get(
            api,
            org,
            "Reports/BalanceSheet",
            date="2026-05-31",
            trackingOptionID1=auckland.option_id,
        )
    )["Reports"][0]
    both = _ok(
        _get(
            api,
            org,
            "Reports/BalanceSheet",
            date="2026-05-31",
            trackingOptionID1=auckland.option_id,
            trackingOptionID2=retail.option_id,
        )
    )["Reports"][0]

    for report in (whole, tracked, both):
        assert _labelled(report, "Net Assets") == _labelled(report, "Total Equity")
    assert _labelled(tracked, "Net Assets") != _labelled(whole, "Net Assets")
    assert _labelled(both, "Net Assets") != _labelled(tracked, "Net Assets")
    assert tracked["ReportTitles"][-1] == "Auckland"
    earnings = Decimal(_labelled(tracked, "Current Year Earnings")[0])
    assert earnings != 0
    refused = _get(api, org, "Reports/BalanceSheet", trackingOptionID1=org.organisation_id)
    assert "was not found" in _refused(refused)


def test_manual_journals_list_page_and_single(api: Connected, org: SandboxOrganisation) -> None:
    own = [j for j in org.manual_journals if not j.system]
    listed = _ok(_get(api, org, "ManualJournals"))["ManualJournals"]
    paged = _ok(_get(api, org, "ManualJournals", page=1, pageSize=10))
    drafts = _ok(_get(api, org, "ManualJournals", where='Status=="DRAFT"'))["ManualJournals"]
    depreciation = next(j for j in own if j.narration.startswith("Depreciation for"))
    single = _ok(_get(api, org, f"ManualJournals/{depreciation.journal_id}"))["ManualJournals"]
    system = next(j for j in org.manual_journals if j.system)

    assert {j["ManualJournalID"] for j in listed} == {j.journal_id for j in own}
    assert "JournalLines" not in listed[0]
    assert paged["pagination"]["itemCount"] == len(own)
    assert all("JournalLines" in j for j in paged["ManualJournals"])
    assert [j["Narration"] for j in drafts] == ["Bonus accrual, to be confirmed"]
    lines = single[0]["JournalLines"]
    assert sum(Decimal(str(line["LineAmount"])) for line in lines) == 0
    assert {line["AccountCode"] for line in lines} == {"416", "711"}
    assert _get(api, org, f"ManualJournals/{system.journal_id}").status_code == 404


@pytest.mark.parametrize(
    ("scope", "status"),
    [
        ("accounting.manualjournals.read", 200),
        ("accounting.transactions.read", 200),
        ("accounting.transactions", 200),
        ("accounting.invoices.read", 403),
    ],
)
def test_manual_journals_scopes(
    sandbox: SandboxApp, org: SandboxOrganisation, scope: str, status: int
) -> None:
    connected = connect(sandbox, scope=f"offline_access {scope}", tenants=(org.organisation_id,))

    response = connected.get(f"{API}/ManualJournals", tenant=org.organisation_id)

    assert response.status_code == status
