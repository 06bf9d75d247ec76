"""The control API under /_sandbox/, and the documents endpoints it feeds (paging, If-Modified-Since)."""

from __future__ import annotations

from integrations.xero.sandbox.app import SandboxApp
from tests.integrations.xero.sandbox.harness import CAFE_ID, SAAS_ID, Connected, http

ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}
API = "/api.xro/2.0"


def test_control_api_needs_the_admin_token(app: SandboxApp) -> None:
    client = http(app)

    assert client.get("/_sandbox/organisations").status_code == 401
    assert (
        client.get("/_sandbox/organisations", headers={"X-Sandbox-Admin": "nope"}).status_code
        == 401
    )
    assert client.get("/_sandbox/nothing", headers=ADMIN).status_code == 404


def test_list_organisations(app: SandboxApp) -> None:
    found = http(app).get("/_sandbox/organisations", headers=ADMIN).json()

    assert [(o["key"], o["tenantId"]) for o in found] == [("cafe", CAFE_ID), ("saas", SAAS_ID)]


def test_period_lock_date_shows_on_the_organisation(app: SandboxApp, api: Connected) -> None:
    http(app).post(
        "/_sandbox/organisations/cafe/period-lock",
        json={"periodLockDate": "2026-02-28"},
        headers=ADMIN,
    )

    organisation = api.get(f"{API}/Organisation").json()["Organisations"][0]

    assert organisation["PeriodLockDate"] == "/Date(1772236800000+0000)/"


def test_clock_and_limits_are_settable(app: SandboxApp) -> None:
    client = http(app)

    clock = client.post(
        "/_sandbox/clock",
        json={"today": "2026-04-02", "timeScale": 30, "advanceSeconds": 60},
        headers=ADMIN,
    ).json()
    config = client.post(
        "/_sandbox/limits", json={"minute": 10, "concurrent": 2}, headers=ADMIN
    ).json()

    assert clock["today"] == "2026-04-02" and clock["timeScale"] == 30
    assert config["limits"]["minute"] == 10 and config["limits"]["concurrent"] == 2
    assert config["minuteWindowSeconds"] == 2.0


def test_faults_can_be_set_listed_and_cleared(app: SandboxApp, api: Connected) -> None:
    client = http(app)

    added = client.post(
        "/_sandbox/faults",
        json={"kind": "status", "status": 503, "count": 1, "organisation": "cafe"},
        headers=ADMIN,
    )
    assert added.status_code == 200 and added.json()[0]["fault_id"]
    assert len(client.get("/_sandbox/faults", headers=ADMIN).json()) == 1
    assert (
        client.post("/_sandbox/faults", json={"kind": "status"}, headers=ADMIN).status_code == 400
    )
    client.delete("/_sandbox/faults", headers=ADMIN)

    assert api.get(f"{API}/Organisation").status_code == 200


def test_counters_per_tenant_and_endpoint(app: SandboxApp, api: Connected) -> None:
    api.get(f"{API}/Organisation")
    api.get(f"{API}/Organisation")
    api.get(f"{API}/Reports/ProfitAndLoss", tenant=SAAS_ID)

    counters = http(app).get("/_sandbox/counters", headers=ADMIN).json()

    assert counters[CAFE_ID]["Organisation"] == {"calls": 2, "rateLimited": 0}
    assert counters[SAAS_ID]["Reports/ProfitAndLoss"]["calls"] == 1


def test_added_invoice_appears_for_an_incremental_sync(app: SandboxApp, api: Connected) -> None:
    app.clock.advance(600)  # later than every fixture document, within the token's life
    since = app.clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    app.clock.advance(5)
    created = (
        http(app)
        .post(
            "/_sandbox/organisations/cafe/invoices",
            json={
                "type": "ACCREC",
                "contact": "Tui Catering",
                "date": "2026-03-15",
                "reference": "late order",
                "lines": [
                    {
                        "accountCode": "200",
                        "amount": "120.00",
                        "tracking": [{"category": "Region", "option": "North"}],
                    }
                ],
            },
            headers=ADMIN,
        )
        .json()["invoice"]
    )

    changed = api.client.get(
        f"{API}/Invoices",
        params={"page": 1},
        headers={
            "Authorization": f"Bearer {api.tokens['access_token']}",
            "xero-tenant-id": CAFE_ID,
            "If-Modified-Since": since,
        },
    ).json()

    assert [i["InvoiceID"] for i in changed["Invoices"]] == [created["InvoiceID"]]
    assert changed["Invoices"][0]["LineItems"][0]["Tracking"][0]["Option"] == "North"
    report = api.get(
        f"{API}/Reports/ProfitAndLoss", fromDate="2026-03-01", toDate="2026-03-31"
    ).json()
    income = report["Reports"][0]["Rows"][1]["Rows"][0]["Cells"][1]["Value"]
    assert income == "1620.00"


def test_invoice_paging_and_line_items(api: Connected) -> None:
    unpaged = api.get(f"{API}/Invoices").json()
    first = api.get(f"{API}/Invoices", page=1, pageSize=4).json()
    last = api.get(f"{API}/Invoices", page=3, pageSize=4).json()

    assert "pagination" not in unpaged and "LineItems" not in unpaged["Invoices"][0]
    total = len(unpaged["Invoices"])
    assert first["pagination"] == {
        "page": 1,
        "pageSize": 4,
        "pageCount": -(-total // 4),
        "itemCount": total,
    }
    assert len(first["Invoices"]) == 4 and first["Invoices"][0]["LineItems"]
    assert len(last["Invoices"]) == total - 8
    assert api.get(f"{API}/Invoices", page=0).status_code == 400


def test_budgets_list_has_no_lines_and_single_budget_window(api: Connected) -> None:
    listed = api.get(f"{API}/Budgets").json()["Budgets"]
    assert all("BudgetLines" not in b for b in listed)

    assert api.get(f"{API}/Budgets", DateFrom="2024-01-01", DateTo="2025-12-31").status_code == 200
    assert api.get(f"{API}/Budgets", DateFrom="2024-01-01", DateTo="2026-01-01").status_code == 400
    tracking = next(b for b in listed if b["Type"] == "TRACKING")
    assert tracking["Tracking"][0]["Option"] == "North"
    single = api.get(f"{API}/Budgets/{tracking['BudgetID']}").json()["Budgets"][0]
    assert single["BudgetLines"][0]["BudgetBalances"] == [
        {"Period": "2026-02", "Amount": 900, "Notes": "Summer menu"}
    ]
