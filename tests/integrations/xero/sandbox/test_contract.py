"""Every sandbox response the product uses validates against Xero's own OpenAPI schemas.

Notes on the spec as written (xero_accounting.yaml 16.1.0):
- money is `type: number` in documents and budgets, but report cells are strings; each is
  validated against the spec as it stands.
- the spec's example for GET /Budgets/{id} shows `Budgets` as an object; the schema says array,
  and the sandbox follows the schema.
- Xero's envelope (Id, Status, ProviderName, DateTimeUTC) and DateString/DueDateString are real
  Xero fields the schemas do not list; they are the only undocumented fields allowed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.integrations.xero.sandbox.conftest import (
    CAFE_ID,
    NORTH,
    NORTH_BUDGET,
    OVERALL_BUDGET,
    REGION,
    Connected,
)

SHARED = Path(__file__).resolve().parents[4] / ".." / "shared" / "xero"
ACCOUNTING_URI = "urn:xero:accounting"
IDENTITY_URI = "urn:xero:identity"
ENVELOPE = {"Id", "Status", "ProviderName", "DateTimeUTC"}
UNDOCUMENTED_BUT_REAL = {"DateString", "DueDateString"}
API = "/api.xro/2.0"


@functools.cache
def _spec(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SHARED / name).read_text(encoding="utf-8"), Loader=loader)


@functools.cache
def _registry() -> Registry:
    return Registry().with_resources(
        [
            (ACCOUNTING_URI, Resource.from_contents(_spec("xero_accounting.yaml"), DRAFT7)),
            (IDENTITY_URI, Resource.from_contents(_spec("xero-identity.yaml"), DRAFT7)),
        ]
    )


def validate(instance: Any, schema_name: str, *, uri: str = ACCOUNTING_URI) -> None:
    schema = {"$ref": f"{uri}#/components/schemas/{schema_name}"}
    validator = Draft7Validator(
        schema, registry=_registry(), format_checker=FormatChecker(["uuid"])
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    spec = _spec("xero_accounting.yaml" if uri == ACCOUNTING_URI else "xero-identity.yaml")
    unknown = sorted(_undocumented(instance, spec["components"]["schemas"][schema_name], spec, ""))
    assert not unknown, f"fields not in the spec: {unknown}"


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undocumented(
    instance: Any, schema: dict[str, Any], spec: dict[str, Any], where: str
) -> set[str]:
    """Property names the sandbox sends that the spec's schema does not define."""
    schema = _resolve(schema, spec)
    found: set[str] = set()
    if isinstance(instance, list) and "items" in schema:
        for item in instance:
            found |= _undocumented(item, schema["items"], spec, where + "[]")
    elif isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            if key in schema["properties"]:
                found |= _undocumented(value, schema["properties"][key], spec, f"{where}.{key}")
            elif not (key in ENVELOPE and not where) and key not in UNDOCUMENTED_BUT_REAL:
                found.add(f"{where}.{key}")
    return found


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
