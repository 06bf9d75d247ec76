"""A small, hand-built pair of organisations and an OAuth helper for the sandbox's own tests.

The generator's organisations are large; these are small enough to check figures by hand.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import httpx

from integrations.xero.sandbox.app import SandboxApp, create_app
from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.identity import OAuthClient
from integrations.xero.sandbox.model import (
    SandboxAccount,
    SandboxBudget,
    SandboxContact,
    SandboxDocument,
    SandboxLine,
    SandboxOrganisation,
    SandboxTrackingCategory,
    SandboxTrackingOption,
)

TODAY = dt.date(2026, 3, 31)  # after every fixture document
CLIENT = OAuthClient("test-client", "test-secret", ("https://app.test/xero/callback",))
REDIRECT_URI = CLIENT.redirect_uris[0]
ALL_SCOPES = (
    "openid profile email offline_access accounting.settings.read accounting.budgets.read "
    "accounting.reports.read accounting.transactions.read accounting.contacts.read"
)
BASE_URL = "https://sandbox.test"


def _id(prefix: str, n: int) -> str:
    return f"{prefix}-0000-4000-8000-{n:012d}"


CAFE_ID = "c0ffee00-0000-4000-8000-000000000001"
SAAS_ID = "5aa50000-0000-4000-8000-000000000002"
SALES, OTHER_INCOME, COGS, RENT, WAGES = (_id("a0000001", n) for n in range(1, 6))
BANK, DEBTORS, CREDITORS, GST, RETAINED = (_id("a0000001", n) for n in range(6, 11))
REGION, NORTH, SOUTH = _id("b0000001", 1), _id("b0000001", 2), _id("b0000001", 3)
OVERALL_BUDGET, NORTH_BUDGET = _id("d0000001", 1), _id("d0000001", 2)


def _accounts() -> list[SandboxAccount]:
    return [
        SandboxAccount(SALES, "200", "Sales", "REVENUE", "REVENUE"),
        SandboxAccount(OTHER_INCOME, "260", "Other Revenue", "OTHERINCOME", "REVENUE"),
        SandboxAccount(COGS, "310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE"),
        SandboxAccount(RENT, "469", "Rent", "OVERHEADS", "EXPENSE"),
        SandboxAccount(WAGES, "477", "Wages and Salaries", "EXPENSE", "EXPENSE"),
        SandboxAccount(BANK, "090", "Business Bank Account", "BANK", "ASSET", currency_code="NZD"),
        SandboxAccount(
            DEBTORS, "610", "Accounts Receivable", "CURRENT", "ASSET", system_account="DEBTORS"
        ),
        SandboxAccount(
            CREDITORS,
            "800",
            "Accounts Payable",
            "CURRLIAB",
            "LIABILITY",
            system_account="CREDITORS",
        ),
        SandboxAccount(GST, "820", "GST", "CURRLIAB", "LIABILITY", system_account="GST"),
        SandboxAccount(
            RETAINED,
            "960",
            "Retained Earnings",
            "EQUITY",
            "EQUITY",
            system_account="RETAINEDEARNINGS",
        ),
    ]


class _Docs:
    def __init__(self) -> None:
        self.documents: list[SandboxDocument] = []

    def add(
        self,
        type_: str,
        date: dt.date,
        lines: list[tuple[str, str, list[tuple[str, str]]]],
        *,
        contact: str = "e0000001-0000-4000-8000-000000000001",
        status: str = "AUTHORISED",
        tax: str = "0",
    ) -> SandboxDocument:
        n = len(self.documents) + 1
        doc = SandboxDocument(
            document_id=_id("f0000001", n),
            type=type_,
            contact_id=contact,
            date=date,
            number=f"DOC-{n:04d}",
            reference=f"ref {n}",
            lines=[
                SandboxLine(
                    line_id=_id("f1000001", n * 10 + i),
                    account_id=account_id,
                    description=f"line {i}",
                    line_amount=Decimal(amount),
                    base_amount=Decimal(amount),
                    tax_amount=Decimal(tax),
                    tracking=tracking,
                )
                for i, (account_id, amount, tracking) in enumerate(lines)
            ],
            currency_code="NZD",
            status=status,
            bank_account_id=BANK if type_ in ("SPEND", "RECEIVE") else None,
            due_date=date + dt.timedelta(days=20) if type_ in ("ACCREC", "ACCPAY") else None,
            updated_utc=dt.datetime.combine(date, dt.time(9)) + dt.timedelta(minutes=n),
        )
        self.documents.append(doc)
        return doc


def cafe() -> SandboxOrganisation:
    docs = _Docs()
    north, south = [(REGION, NORTH)], [(REGION, SOUTH)]
    for month in (1, 2, 3):
        # Sales: 1000 North + 500 South a month, on two dates in the month.
        docs.add("ACCREC", dt.date(2026, month, 5), [(SALES, "1000.00", north)], tax="150.00")
        docs.add("ACCREC", dt.date(2026, month, 28), [(SALES, "500.00", south)])
        docs.add("ACCPAY", dt.date(2026, month, 10), [(COGS, "400.00", north)], tax="60.00")
        docs.add("SPEND", dt.date(2026, month, 1), [(RENT, "800.00", [])])
        docs.add("SPEND", dt.date(2026, month, 25), [(WAGES, "300.00", south)])
    # January has a 31st: a sale on it falls outside a prior period cut to 28 days.
    docs.add("ACCREC", dt.date(2026, 1, 31), [(SALES, "77.00", north)])
    docs.add("ACCRECCREDIT", dt.date(2026, 2, 12), [(SALES, "50.00", north)])
    docs.add("RECEIVE", dt.date(2026, 2, 14), [(OTHER_INCOME, "25.50", [])])
    docs.add("ACCREC", dt.date(2026, 2, 15), [(SALES, "999.00", north)], status="VOIDED")
    docs.add("ACCREC", dt.date(2025, 12, 20), [(SALES, "2000.00", [])], status="PAID")
    budget_lines = {
        SALES: {"2026-01": Decimal(1400), "2026-02": Decimal(1500), "2026-03": Decimal(1600)},
        RENT: {"2026-01": Decimal(800), "2026-02": Decimal(800), "2026-03": Decimal(800)},
    }
    return SandboxOrganisation(
        organisation_id=CAFE_ID,
        name="Harbour Lane Café",
        legal_name="Harbour Lane Café Limited",
        short_code="!cafe1",
        base_currency="NZD",
        country_code="NZ",
        timezone="NEWZEALANDSTANDARDTIME",
        financial_year_end_day=31,
        financial_year_end_month=3,
        period_lock_date=dt.date(2025, 12, 31),
        created_utc=dt.datetime(2022, 4, 1),
        accounts=_accounts(),
        tracking_categories=[
            SandboxTrackingCategory(
                REGION,
                "Region",
                [SandboxTrackingOption(NORTH, "North"), SandboxTrackingOption(SOUTH, "South")],
            )
        ],
        contacts=[
            SandboxContact("e0000001-0000-4000-8000-000000000001", "Tui Catering"),
        ],
        documents=docs.documents,
        budgets=[
            SandboxBudget(OVERALL_BUDGET, "OVERALL", "Overall Budget", budget_lines),
            SandboxBudget(
                NORTH_BUDGET,
                "TRACKING",
                "North budget",
                {SALES: {"2026-02": Decimal(900)}},
                tracking=[(REGION, NORTH)],
                notes={(SALES, "2026-02"): "Summer menu"},
            ),
        ],
        currencies=[("NZD", "New Zealand Dollar"), ("AUD", "Australian Dollar")],
        key="cafe",
    )


def saas() -> SandboxOrganisation:
    org = cafe()
    org.organisation_id, org.name, org.key, org.short_code = (
        SAAS_ID,
        "Cloudline Software",
        "saas",
        "!saas2",
    )
    return org


def make_app(**kwargs: object) -> SandboxApp:
    options: dict[str, object] = {
        "organisations": [cafe(), saas()],
        "clock": SandboxClock(today=TODAY),
        "clients": [CLIENT],
    }
    options.update(kwargs)
    return create_app(**options)  # type: ignore[arg-type]


def http(app: object) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE_URL)  # type: ignore[arg-type]


@dataclass
class Connected:
    client: httpx.Client
    tokens: dict[str, str]

    def get(self, path: str, tenant: str = CAFE_ID, **params: object) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self.tokens['access_token']}",
            "xero-tenant-id": tenant,
        }
        return self.client.get(path, params=params, headers=headers)  # type: ignore[arg-type]


def consent(
    client: httpx.Client,
    *,
    scope: str = ALL_SCOPES,
    tenants: tuple[str, ...] = (CAFE_ID, SAAS_ID),
    decision: str = "approve",
    state: str = "xyz",
) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": CLIENT.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": state,
    }
    page = client.get("/identity/connect/authorize", params=query)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    form: dict[str, str | list[str]] = {**hidden, "decision": decision, "tenant": list(tenants)}
    return client.post("/identity/connect/authorize", data=form)


def code_from(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 302
    return parse_qs(urlparse(response.headers["location"]).query)


def exchange(client: httpx.Client, code: str) -> httpx.Response:
    return client.post(
        "/identity/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT.client_id, CLIENT.client_secret),
    )


def refresh(client: httpx.Client, token: str) -> httpx.Response:
    return client.post(
        "/identity/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=(CLIENT.client_id, CLIENT.client_secret),
    )


def connect(
    app: SandboxApp, *, scope: str = ALL_SCOPES, tenants: tuple[str, ...] = (CAFE_ID, SAAS_ID)
) -> Connected:
    client = http(app)
    code = code_from(consent(client, scope=scope, tenants=tenants))["code"][0]
    tokens = exchange(client, code).json()
    return Connected(client, tokens)
