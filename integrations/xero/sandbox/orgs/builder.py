"""The mutable workbench each organisation is built on: ids, accounts, contacts and documents.

Every random choice goes through one `random.Random` seeded from (seed, organisation key), so the
same seed gives byte-identical organisations and nothing depends on the wall clock except `today`.
"""

from __future__ import annotations

import datetime as dt
import random
import string
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.months import add_months, days_in_month, month_key, month_start
from integrations.xero.sandbox.model import (
    PlantedDriver,
    SandboxAccount,
    SandboxBudget,
    SandboxContact,
    SandboxDocument,
    SandboxJournalLine,
    SandboxLine,
    SandboxManualJournal,
    SandboxOrganisation,
    SandboxTrackingCategory,
    SandboxTrackingOption,
)
from integrations.xero.sandbox.orgs.chart import (
    BALANCE_SHEET,
    SALES_TAX_ACCOUNT_NAME,
    AccountSpec,
    account_class,
)
from integrations.xero.sandbox.orgs.periods import period_lock_date

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Enough closed months for three financial years of history plus the budget's baseline year.
HISTORY_MONTHS = 40


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    currency_name: str
    timezone: str  # Xero's Organisation.Timezone enum
    sales_tax: str
    purchase_tax: str
    exempt_tax: str
    tax_rate: Decimal


# Xero's tax types for each country: OUTPUT2/INPUT2 are NZ GST and UK VAT, OUTPUT/INPUT AU GST.
COUNTRIES = {
    "NZ": Country(
        code="NZ",
        currency="NZD",
        currency_name="New Zealand Dollar",
        timezone="NEWZEALANDSTANDARDTIME",
        sales_tax="OUTPUT2",
        purchase_tax="INPUT2",
        exempt_tax="NONE",
        tax_rate=Decimal("0.15"),
    ),
    "AU": Country(
        code="AU",
        currency="AUD",
        currency_name="Australian Dollar",
        timezone="AUSEASTERNSTANDARDTIME",
        sales_tax="OUTPUT",
        purchase_tax="INPUT",
        exempt_tax="BASEXCLUDED",
        tax_rate=Decimal("0.10"),
    ),
    "US": Country(
        code="US",
        currency="USD",
        currency_name="United States Dollar",
        timezone="EASTERNSTANDARDTIME",
        # US organisations charge sales tax by state; the sandbox's US business sells tax free.
        sales_tax="NONE",
        purchase_tax="NONE",
        exempt_tax="NONE",
        tax_rate=Decimal("0"),
    ),
    "GB": Country(
        code="GB",
        currency="GBP",
        currency_name="British Pound",
        timezone="GMTSTANDARDTIME",
        sales_tax="OUTPUT2",
        purchase_tax="INPUT2",
        exempt_tax="NONE",
        tax_rate=Decimal("0.20"),
    ),
}

# A one-line document: (type, day of month, account code, contact, description, amount).
Entry = tuple[str, int, str, str, str, float | Decimal]

CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "EUR": "Euro",
    "AUD": "Australian Dollar",
    "CAD": "Canadian Dollar",
    "NZD": "New Zealand Dollar",
}

# Document types whose lines credit their accounts; the other types debit them.
CREDIT_TYPES = frozenset({"ACCREC", "RECEIVE", "ACCPAYCREDIT"})


def money(value: float | Decimal) -> Decimal:
    """Quantise to cents, half up, as Xero rounds line amounts."""
    if isinstance(value, Decimal):
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return Decimal(round(value * 100)).scaleb(-2)


def whole_units(value: Decimal) -> Decimal:
    # Budget Manager rounds entries to whole currency units (help.xero.com/BudgetCreate).
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP).quantize(CENT)


class OrgBuilder:
    def __init__(self, *, key: str, seed: int, today: dt.date, country: str) -> None:
        self.key = key
        self.rng = random.Random(f"{seed}:{key}")
        self.today = today
        self.country = COUNTRIES[country]
        self.current_month = month_start(today)
        self.last_closed = add_months(self.current_month, -1)
        self.first_month = add_months(self.current_month, -HISTORY_MONTHS)
        # Closed months oldest first, then the open month, which only has documents up to today.
        self.months = [add_months(self.first_month, n) for n in range(HISTORY_MONTHS + 1)]
        self.created_utc = dt.datetime.combine(add_months(self.first_month, -2), dt.time(21, 4))
        self._updated_cap = dt.datetime.combine(today, dt.time())
        self.accounts: list[SandboxAccount] = []
        self.accounts_by_code: dict[str, SandboxAccount] = {}
        self.contacts: list[SandboxContact] = []
        self._contacts_by_name: dict[str, SandboxContact] = {}
        self.documents: list[SandboxDocument] = []
        self.bank: SandboxAccount | None = None  # where bank transactions are paid from
        self.tracking_categories: list[SandboxTrackingCategory] = []
        self.budgets: list[SandboxBudget] = []
        self.drivers: list[PlantedDriver] = []
        self.journals: list[SandboxManualJournal] = []
        self._sequences: dict[str, int] = {}

    # Identity -----------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def short_code(self) -> str:
        alphabet = string.ascii_letters + string.digits
        return "!" + "".join(self.rng.choice(alphabet) for _ in range(5))

    # Reference data -----------------------------------------------------------------------

    def add_accounts(self, specs: Iterable[AccountSpec]) -> None:
        for account_spec in specs:
            self.add_account(account_spec)

    def add_account(self, account_spec: AccountSpec) -> SandboxAccount:
        tax_type = {
            "sales": self.country.sales_tax,
            "purchases": self.country.purchase_tax,
            "exempt": self.country.exempt_tax,
        }[account_spec.tax]
        name = account_spec.name
        if account_spec.system_account == "GST":
            name = SALES_TAX_ACCOUNT_NAME[self.country.code]
        account = SandboxAccount(
            account_id=self.new_id(),
            code=account_spec.code,
            name=name,
            type=account_spec.type,
            account_class=account_class(account_spec.type),
            tax_type=tax_type,
            system_account=account_spec.system_account,
            updated_utc=self.created_utc,
        )
        self.accounts.append(account)
        self.accounts_by_code[account.code] = account
        return account

    def add_balance_sheet(self, *, bank_name: str) -> None:
        self.add_bank(AccountSpec("090", bank_name, "BANK"))
        self.add_accounts(BALANCE_SHEET)

    def add_bank(self, account_spec: AccountSpec) -> SandboxAccount:
        bank = self.add_account(account_spec)
        bank.currency_code = self.country.currency
        branch, account, suffix = (self.rng.randint(1000, 9999) for _ in range(3))
        bank.bank_account_number = f"{branch}-{account}-{suffix}"
        self.bank = self.bank or bank
        return bank

    def account(self, code: str) -> SandboxAccount:
        return self.accounts_by_code[code]

    def contact(self, name: str) -> SandboxContact:
        existing = self._contacts_by_name.get(name)
        if existing is not None:
            return existing
        contact = SandboxContact(contact_id=self.new_id(), name=name, updated_utc=self.created_utc)
        self.contacts.append(contact)
        self._contacts_by_name[name] = contact
        return contact

    def tracking_category(self, name: str, options: Sequence[str]) -> SandboxTrackingCategory:
        category = SandboxTrackingCategory(
            category_id=self.new_id(),
            name=name,
            options=[SandboxTrackingOption(self.new_id(), option) for option in options],
        )
        self.tracking_categories.append(category)
        return category

    # Documents ----------------------------------------------------------------------------

    def date_in(self, month: dt.date, day: int) -> dt.date | None:
        """The given day of the month (clamped to its length), or None if it is after today."""
        date = month.replace(day=min(day, days_in_month(month)))
        return date if date <= self.today else None

    def line(
        self,
        account: SandboxAccount,
        description: str,
        base_amount: Decimal,
        *,
        quantity: Decimal = Decimal(1),
        tracking: Sequence[tuple[str, str]] = (),
        currency_rate: Decimal | None = None,
    ) -> SandboxLine:
        line_amount = base_amount
        unit_amount = None
        if currency_rate is not None:
            # Xero's CurrencyRate is units of the document's currency per unit of base currency.
            # The supplier prices a unit to the cent in its currency, so LineAmount is exactly
            # Quantity x UnitAmount; the base amount is converted back, line by line, to the cent.
            unit_amount = money(base_amount / quantity * currency_rate)
            line_amount = money(unit_amount * quantity)
            base_amount = money(line_amount / currency_rate)
        # Imports carry no sales tax on the supplier's invoice; the duty is billed separately.
        tax_type = account.tax_type if currency_rate is None else self.country.exempt_tax
        tax_amount = ZERO
        if tax_type in (self.country.sales_tax, self.country.purchase_tax):
            tax_amount = money(line_amount * self.country.tax_rate)
        return SandboxLine(
            line_id=self.new_id(),
            account_id=account.account_id,
            description=description,
            line_amount=line_amount,
            base_amount=base_amount,
            quantity=quantity,
            tax_amount=tax_amount,
            tax_type=tax_type,
            tracking=list(tracking),
            unit_amount=unit_amount,
        )

    def inclusive_line(
        self,
        account: SandboxAccount,
        description: str,
        unit_amount: Decimal,
        *,
        quantity: Decimal = Decimal(1),
        tracking: Sequence[tuple[str, str]] = (),
    ) -> SandboxLine:
        """A line of a tax-inclusive document: LineAmount includes the tax, which is given per
        line (TaxAmount); the reports use LineAmount less TaxAmount."""
        line_amount = money(unit_amount * quantity)
        rate = self.country.tax_rate
        tax_amount = money(line_amount * rate / (1 + rate))
        return SandboxLine(
            line_id=self.new_id(),
            account_id=account.account_id,
            description=description,
            line_amount=line_amount,
            base_amount=line_amount - tax_amount,
            quantity=quantity,
            tax_amount=tax_amount,
            tax_type=account.tax_type,
            tracking=list(tracking),
            unit_amount=unit_amount,
        )

    def journal(
        self,
        date: dt.date,
        narration: str,
        lines: Sequence[tuple[str, Decimal, str, Sequence[tuple[str, str]]]],
        *,
        status: str = "POSTED",
        system: bool = False,
    ) -> SandboxManualJournal:
        """A manual journal from (account code, debit-positive amount, description, tracking)."""
        journal_lines = [
            SandboxJournalLine(
                account_id=self.account(code).account_id,
                description=description,
                line_amount=money(amount),
                tracking=list(tracking),
            )
            for code, amount, description, tracking in lines
        ]
        if sum((line.line_amount for line in journal_lines), ZERO) != 0:
            raise ValueError(f"journal {narration!r} does not balance")
        journal = SandboxManualJournal(
            journal_id=self.new_id(),
            date=date,
            narration=narration,
            lines=journal_lines,
            status=status,
            updated_utc=self._updated_utc(date),
            system=system,
        )
        self.journals.append(journal)
        return journal

    def add_document(
        self,
        *,
        type_: str,
        contact: SandboxContact,
        date: dt.date,
        lines: list[SandboxLine],
        reference: str = "",
        number: str | None = None,
        currency: str | None = None,
        currency_rate: Decimal | None = None,
        status: str | None = None,
        line_amount_types: str = "Exclusive",
    ) -> SandboxDocument:
        is_bank = type_ in ("SPEND", "RECEIVE")
        due_date = None if is_bank else self._due_date(type_, date)
        document = SandboxDocument(
            document_id=self.new_id(),
            type=type_,
            contact_id=contact.contact_id,
            date=date,
            number=self._document_number(type_) if number is None else number,
            reference=reference,
            lines=lines,
            currency_code=currency or self.country.currency,
            currency_rate=currency_rate or Decimal(1),
            # Everyone pays on the due date; bank transactions are settled when they happen.
            status=status or ("PAID" if due_date and due_date < self.today else "AUTHORISED"),
            bank_account_id=self.bank.account_id if is_bank and self.bank else None,
            due_date=due_date,
            updated_utc=self._updated_utc(date),
            line_amount_types=line_amount_types,
        )
        self.documents.append(document)
        return document

    def post(self, month: dt.date, entries: Iterable[Entry]) -> None:
        """Post one-line documents for the month, skipping days still to come."""
        for type_, day, code, contact, description, amount in entries:
            self.simple_document(
                type_,
                month,
                day,
                code=code,
                contact=contact,
                description=description,
                amount=amount,
            )

    def simple_document(
        self,
        type_: str,
        month: dt.date,
        day: int,
        *,
        code: str,
        contact: str,
        description: str,
        amount: float | Decimal,
        tracking: Sequence[tuple[str, str]] = (),
    ) -> SandboxDocument | None:
        """A one-line document on the day of the month, unless that day is still to come."""
        date = self.date_in(month, day)
        if date is None:
            return None
        line = self.line(self.account(code), description, money(amount), tracking=tracking)
        number = self.supplier_number(contact[:3].upper()) if type_ == "ACCPAY" else None
        return self.add_document(
            type_=type_,
            contact=self.contact(contact),
            date=date,
            lines=[line],
            number=number,
            reference=description,
        )

    def _document_number(self, type_: str) -> str:
        prefix = {"ACCREC": "INV", "ACCRECCREDIT": "CN", "ACCPAYCREDIT": "SCN"}.get(type_)
        if prefix is None:
            return ""  # bills carry the supplier's number; bank transactions have none
        self._sequences[prefix] = self._sequences.get(prefix, 0) + 1
        return f"{prefix}-{self._sequences[prefix]:04d}"

    def supplier_number(self, prefix: str) -> str:
        # Bills carry the supplier's own invoice number, not one of ours.
        prefix = "".join(char for char in prefix if char.isalnum()) or "INV"
        return f"{prefix}-{self.rng.randint(10000, 99999)}"

    def _due_date(self, type_: str, date: dt.date) -> dt.date:
        if type_.startswith("ACCPAY"):
            following = add_months(month_start(date), 1)
            return following.replace(day=20)
        return date + dt.timedelta(days=20)

    def _updated_utc(self, date: dt.date) -> dt.datetime:
        # Entered or approved a few days after the document date, never after today.
        entered = dt.datetime.combine(date, dt.time()) + dt.timedelta(
            days=self.rng.randint(0, 4), seconds=self.rng.randint(7 * 3600, 19 * 3600)
        )
        return min(entered, self._updated_cap)

    # Drivers ------------------------------------------------------------------------------

    def plant(
        self,
        *,
        account: SandboxAccount,
        month: dt.date,
        kind: str,
        contact: SandboxContact,
        amount: Decimal,
        description: str,
        baseline: Decimal = ZERO,
    ) -> None:
        self.drivers.append(
            PlantedDriver(
                account_id=account.account_id,
                period=month_key(month),
                kind=kind,
                contact_name=contact.name,
                amount=amount,
                description=description,
                baseline=baseline,
            )
        )

    def contact_total(
        self, contact: SandboxContact, account: SandboxAccount, month: dt.date
    ) -> Decimal:
        """Sum of the contact's base amounts on the account in the month, as the documents show it."""
        lines = (
            line
            for document in self.documents
            if document.contact_id == contact.contact_id and month_start(document.date) == month
            for line in document.lines
        )
        return sum(
            (line.base_amount for line in lines if line.account_id == account.account_id), ZERO
        )

    # Result -------------------------------------------------------------------------------

    def organisation(
        self,
        *,
        name: str,
        legal_name: str,
        year_end_month: int,
        currencies: Sequence[str] = (),
    ) -> SandboxOrganisation:
        year_end_day = days_in_month(dt.date(2001, year_end_month, 1))
        return SandboxOrganisation(
            organisation_id=self.new_id(),
            name=name,
            legal_name=legal_name,
            short_code=self.short_code(),
            base_currency=self.country.currency,
            country_code=self.country.code,
            timezone=self.country.timezone,
            financial_year_end_day=year_end_day,
            financial_year_end_month=year_end_month,
            period_lock_date=period_lock_date(self.today),
            created_utc=self.created_utc,
            accounts=self.accounts,
            tracking_categories=self.tracking_categories,
            contacts=self.contacts,
            documents=sorted(self.documents, key=lambda d: (d.date, d.updated_utc, d.document_id)),
            budgets=self.budgets,
            currencies=[(self.country.currency, self.country.currency_name)]
            + [(code, CURRENCY_NAMES[code]) for code in currencies],
            planted_drivers=self.drivers,
            manual_journals=sorted(self.journals, key=lambda j: (j.date, j.journal_id)),
            key=self.key,
        )
