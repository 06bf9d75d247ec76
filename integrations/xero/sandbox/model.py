"""The sandbox's in-memory picture of Xero organisations.

This is the contract between the generator (which builds organisations from a seed) and the
server (which answers Xero API requests from them). It holds no Django and no database: the
sandbox is a standalone application.

Sign convention, as Xero's Profit and Loss report shows it: revenue and expense amounts are
positive in their natural direction. An ACCREC invoice line adds to revenue, an ACCPAY bill line
adds to expense, credit notes take away, a SPEND bank line adds to expense and a RECEIVE bank
line adds to revenue. Every P&L figure the server reports is the sum of document lines, so the
transactions always add up exactly to the report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

# Xero account types that appear on the Profit and Loss report, with the class Xero gives them.
# The multi-currency system accounts (spec Account.SystemAccount) the P&L groups as FXGROUPID.
CURRENCY_SYSTEM_ACCOUNTS = frozenset(
    {"BANKCURRENCYGAIN", "REALISEDCURRENCYGAIN", "UNREALISEDCURRENCYGAIN"}
)

PROFIT_AND_LOSS_TYPES = {
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
}


@dataclass
class SandboxAccount:
    account_id: str
    code: str
    name: str
    type: str  # Xero's Account.Type: REVENUE, SALES, DIRECTCOSTS, EXPENSE, OVERHEADS, BANK, ...
    account_class: str  # Xero's Account.Class: ASSET, EQUITY, EXPENSE, LIABILITY, REVENUE
    status: str = "ACTIVE"
    tax_type: str = "NONE"
    description: str = ""
    currency_code: str | None = None  # bank accounts only
    bank_account_number: str | None = None
    system_account: str | None = None
    reporting_code: str = ""
    updated_utc: dt.datetime = field(default_factory=lambda: dt.datetime(2023, 1, 1))

    @property
    def on_profit_and_loss(self) -> bool:
        return self.type in PROFIT_AND_LOSS_TYPES


@dataclass
class SandboxTrackingOption:
    option_id: str
    name: str
    status: str = "ACTIVE"


@dataclass
class SandboxTrackingCategory:
    category_id: str
    name: str
    options: list[SandboxTrackingOption]
    status: str = "ACTIVE"


@dataclass
class SandboxContact:
    contact_id: str
    name: str
    updated_utc: dt.datetime = field(default_factory=lambda: dt.datetime(2023, 1, 1))


@dataclass
class SandboxLine:
    line_id: str
    account_id: str
    description: str
    # Xero's LineAmount, in the document's currency: excluding tax, or including it when the
    # document's LineAmountTypes is Inclusive.
    line_amount: Decimal
    # Excluding tax, in the organisation's base currency: what the reports use. For a foreign
    # document it is round(line_amount excluding tax / CurrencyRate, 2), line by line.
    base_amount: Decimal
    quantity: Decimal = Decimal("1")
    tax_amount: Decimal = Decimal("0")  # in the document's currency
    tax_type: str = "NONE"
    # (TrackingCategoryID, TrackingOptionID) pairs; at most two, as Xero allows.
    tracking: list[tuple[str, str]] = field(default_factory=list)
    # Xero's UnitAmount (LineAmount = round(Quantity x UnitAmount, 2)); None: LineAmount / Quantity.
    unit_amount: Decimal | None = None


@dataclass
class SandboxDocument:
    """An invoice, bill, credit note or bank transaction."""

    document_id: str
    # Invoice: ACCREC | ACCPAY; CreditNote: ACCRECCREDIT | ACCPAYCREDIT;
    # BankTransaction: SPEND | RECEIVE.
    type: str
    contact_id: str
    date: dt.date
    number: str
    reference: str
    lines: list[SandboxLine]
    currency_code: str
    currency_rate: Decimal = Decimal("1")
    status: str = "AUTHORISED"
    bank_account_id: str | None = None  # bank transactions only
    due_date: dt.date | None = None
    updated_utc: dt.datetime = field(default_factory=lambda: dt.datetime(2023, 1, 1))
    # Exclusive | Inclusive | NoTax (spec LineAmountTypes): whether LineAmount includes tax.
    line_amount_types: str = "Exclusive"

    @property
    def endpoint(self) -> str:
        if self.type in ("ACCREC", "ACCPAY"):
            return "Invoices"
        if self.type in ("ACCRECCREDIT", "ACCPAYCREDIT"):
            return "CreditNotes"
        return "BankTransactions"


@dataclass
class SandboxJournalLine:
    account_id: str
    description: str
    # Base currency; debits positive, credits negative (spec ManualJournalLine.LineAmount).
    line_amount: Decimal
    tracking: list[tuple[str, str]] = field(default_factory=list)
    tax_type: str = "NONE"
    tax_amount: Decimal = Decimal("0")


@dataclass
class SandboxManualJournal:
    journal_id: str
    date: dt.date
    narration: str
    lines: list[SandboxJournalLine]  # they sum to zero
    status: str = "POSTED"  # DRAFT | POSTED | DELETED | VOIDED | ARCHIVED
    line_amount_types: str = "NoTax"
    updated_utc: dt.datetime = field(default_factory=lambda: dt.datetime(2023, 1, 1))
    # Xero's own entries (realised gains on payments, currency revaluations): they show in the
    # reports but GET ManualJournals does not return them.
    system: bool = False


@dataclass
class SandboxBudget:
    budget_id: str
    type: str  # OVERALL | TRACKING
    description: str
    # AccountID -> {"YYYY-MM": amount}; a missing month is no budget for that month.
    lines: dict[str, dict[str, Decimal]]
    # Tracking budgets: the (TrackingCategoryID, TrackingOptionID) pairs they are for.
    tracking: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)  # (AccountID, period) -> note
    updated_utc: dt.datetime = field(default_factory=lambda: dt.datetime(2023, 1, 1))


@dataclass
class PlantedDriver:
    """A known cause of a variance the generator planted, for tests of the narratives."""

    account_id: str
    period: str  # "YYYY-MM"
    kind: str  # one_off | lost_customer | price_rise | new_customer | seasonal | capex
    contact_name: str
    amount: Decimal  # the money it moved in that month, in base currency
    description: str
    # What the contact's lines on the account would have come to that month without the driver
    # (a lost customer's usual fee, a supplier's bills at the old prices, a flat budget). The
    # documents show baseline + amount, so tests can check a driver against the transactions.
    baseline: Decimal = Decimal("0")


@dataclass
class SandboxOrganisation:
    organisation_id: str  # also the tenant id in xero-tenant-id
    name: str
    legal_name: str
    short_code: str
    base_currency: str
    country_code: str
    timezone: str
    financial_year_end_day: int
    financial_year_end_month: int
    period_lock_date: dt.date | None
    created_utc: dt.datetime
    accounts: list[SandboxAccount]
    tracking_categories: list[SandboxTrackingCategory]
    contacts: list[SandboxContact]
    documents: list[SandboxDocument]
    budgets: list[SandboxBudget]
    currencies: list[tuple[str, str]]  # (Code, Description)
    planted_drivers: list[PlantedDriver] = field(default_factory=list)
    manual_journals: list[SandboxManualJournal] = field(default_factory=list)
    # Whether the P&L groups the currency system accounts into one FXGROUPID row. None: as Xero
    # does, every country but the US (xero-api-facts §2: "not the case for US organisations").
    groups_currency_accounts: bool | None = None
    # A short handle used in the README and tests: cafe, saas, construction, importer, group.
    key: str = ""

    @property
    def currency_accounts_grouped(self) -> bool:
        if self.groups_currency_accounts is not None:
            return self.groups_currency_accounts
        return self.country_code != "US"
