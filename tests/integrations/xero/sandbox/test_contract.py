"""Every sandbox response the product uses validates against Xero's own OpenAPI schemas
(tests/integrations/xero/sandbox/contract.py says how, and what the spec leaves out)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integrations.xero.sandbox.contract import API, IDENTITY_URI, validate
from tests.integrations.xero.sandbox.harness import (
    CAFE_ID,
    NORTH,
    NORTH_BUDGET,
    OVERALL_BUDGET,
    REGION,
    Connected,
)

CASES = [
    ("Organisation", {}, "Organisations"),
    ("Accounts", {}, "Accounts"),
    ("TrackingCategories", {}, "TrackingCategories"),
    ("Currencies", {}, "Currencies"),
    ("Contacts", {}, "Contacts"),
    ("Budgets", {}, "Budgets"),
    ("Budgets", {"DateFrom": "2025-04-01", "DateTo": "2026-03-31"}, "Budgets"),
    (f"Budgets/{OVERALL_BUDGET}", {"DateFrom": "2026-01-01", "DateTo": "2026-12-31"}, "Budgets"),
    (f"Budgets/{NORTH_BUDGET}", {}, "Budgets"),
    (
        "Reports/ProfitAndLoss",
        {"fromDate": "2026-02-01", "toDate": "2026-02-28", "standardLayout": "true"},
        "ReportWithRows",
    ),
    (
        "Reports/ProfitAndLoss",
        {"fromDate": "2026-03-01", "toDate": "2026-03-31", "periods": 2, "timeframe": "MONTH"},
        "ReportWithRows",
    ),
    (
        "Reports/ProfitAndLoss",
        {"fromDate": "2026-01-01", "toDate": "2026-03-31", "trackingCategoryID": REGION},
        "ReportWithRows",
    ),
    (
        "Reports/ProfitAndLoss",
        {"trackingCategoryID": REGION, "trackingOptionID": NORTH},
        "ReportWithRows",
    ),
    (
        "Reports/BudgetSummary",
        {"date": "2026-01-01", "periods": 4, "timeframe": 3},
        "ReportWithRows",
    ),
    ("Reports/BalanceSheet", {"date": "2026-02-28"}, "ReportWithRows"),
    (
        "Reports/BalanceSheet",
        {"date": "2026-03-31", "periods": 2, "timeframe": "MONTH"},
        "ReportWithRows",
    ),
    ("Reports/TrialBalance", {"date": "2026-02-28"}, "ReportWithRows"),
    ("Invoices", {}, "Invoices"),
    ("Invoices", {"page": 1, "pageSize": 5}, "Invoices"),
    ("CreditNotes", {"page": 1}, "CreditNotes"),
    ("BankTransactions", {"page": 1}, "BankTransactions"),
]


@pytest.mark.parametrize(
    ("path", "params", "schema"), CASES, ids=[f"{c[0]}{sorted(c[1])}" for c in CASES]
)
def test_endpoint_matches_the_spec(
    api: Connected, path: str, params: dict[str, Any], schema: str
) -> None:
    response = api.get(f"{API}/{path}", **params)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["Status"] == "OK"
    assert body["DateTimeUTC"].startswith("/Date(")
    validate(body, schema)


def test_single_documents_match_the_spec(api: Connected) -> None:
    for endpoint, schema in (
        ("Invoices", "Invoices"),
        ("CreditNotes", "CreditNotes"),
        ("BankTransactions", "BankTransactions"),
    ):
        listed = api.get(f"{API}/{endpoint}", page=1).json()[endpoint]
        id_field = {
            "Invoices": "InvoiceID",
            "CreditNotes": "CreditNoteID",
            "BankTransactions": "BankTransactionID",
        }[endpoint]
        single = api.get(f"{API}/{endpoint}/{listed[0][id_field]}")
        assert single.status_code == 200
        validate(single.json(), schema)


def test_validation_error_matches_the_spec(api: Connected) -> None:
    response = api.get(f"{API}/Budgets", DateFrom="2024-01-01", DateTo="2026-01-31")

    assert response.status_code == 400
    validate(response.json(), "Error")
    assert response.json()["Type"] == "ValidationException"


def test_not_found_matches_the_spec(api: Connected) -> None:
    response = api.get(f"{API}/Budgets/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    validate(response.json(), "Error")


def test_connections_match_the_identity_spec(api: Connected) -> None:
    response = api.client.get(
        "/connections", headers={"Authorization": f"Bearer {api.tokens['access_token']}"}
    )

    assert response.status_code == 200
    for connection in response.json():
        validate(connection, "Connection", uri=IDENTITY_URI)
    assert {c["tenantId"] for c in response.json()} >= {CAFE_ID}
