"""Double-entry postings derived from an organisation's documents, for the P&L and balance sheet.

Every figure is a sum of document lines' base_amount (model.py), so the reports always add up
to the transactions. The sandbox has no payment records; a PAID invoice, bill or credit note is
settled through the first base-currency bank account on its due date (or its date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from core.months import days_in_month
from integrations.xero.sandbox.model import (
    SandboxDocument,
    SandboxJournalLine,
    SandboxLine,
    SandboxManualJournal,
    SandboxOrganisation,
)
from integrations.xero.sandbox.serializers import money

# Xero's accrual reports count approved documents only (not DRAFT, SUBMITTED, VOIDED, DELETED),
# and POSTED manual journals only.
POSTED_STATUSES = frozenset({"AUTHORISED", "PAID"})
POSTED_JOURNAL_STATUSES = frozenset({"POSTED"})
# Document types whose lines credit their accounts (revenue up); the rest debit them.
_CREDIT_LINE_TYPES = frozenset({"ACCREC", "RECEIVE", "ACCPAYCREDIT"})

# Ledger keys for control accounts the organisation's chart may not have.
RECEIVABLES = "__receivables__"
PAYABLES = "__payables__"
TAX = "__tax__"
BANK = "__bank__"
TRACKING_TRANSFERS = "__tracking_transfers__"
SYNTHETIC_NAMES = {
    RECEIVABLES: ("Accounts Receivable", "ASSET", "CURRENT"),
    PAYABLES: ("Accounts Payable", "LIABILITY", "CURRLIAB"),
    TAX: ("Sales Tax", "LIABILITY", "CURRLIAB"),
    BANK: ("Bank", "ASSET", "BANK"),
    TRACKING_TRANSFERS: ("Tracking Transfers", "LIABILITY", "CURRLIAB"),
}


@dataclass(frozen=True)
class Posting:
    date: dt.date
    key: str  # an AccountID, or one of the synthetic keys above
    debit: Decimal  # positive debit, negative credit, in base currency


def line_debit(doc: SandboxDocument, line: SandboxLine) -> Decimal:
    return -line.base_amount if doc.type in _CREDIT_LINE_TYPES else line.base_amount


def natural_amount(doc: SandboxDocument, line: SandboxLine, account_class: str) -> Decimal:
    """The line's effect on a P&L account, positive in the account's natural direction: a
    credit adds to a REVENUE-class account, a debit to an EXPENSE-class one."""
    debit = line_debit(doc, line)
    return -debit if account_class == "REVENUE" else debit


def journal_natural_amount(line: SandboxJournalLine, account_class: str) -> Decimal:
    """A manual journal line's effect on a P&L account (its LineAmount is a debit if positive)."""
    return -line.line_amount if account_class == "REVENUE" else line.line_amount


def posted_journals(org: SandboxOrganisation) -> Iterator[SandboxManualJournal]:
    return (j for j in org.manual_journals if j.status in POSTED_JOURNAL_STATUSES)


def base_tax(doc: SandboxDocument, line: SandboxLine) -> Decimal:
    """The line's tax in base currency, converted and rounded line by line as its amount is."""
    if doc.currency_rate == 1:
        return line.tax_amount
    return money(line.tax_amount / doc.currency_rate)


def postings(org: SandboxOrganisation, options: frozenset[str] = frozenset()) -> Iterator[Posting]:
    """Every posting, or with `options` (TrackingOptionIDs) those of the lines tagged with all
    of them: each such line with its own tax, control-account and settlement entries, so a
    tracked balance sheet balances too. A manual journal's tagged lines are balanced through
    Tracking Transfers (Xero's TRACKINGTRANSFERS system account)."""
    control = {
        "DEBTORS": RECEIVABLES,
        "CREDITORS": PAYABLES,
        "GST": TAX,
        "TRACKINGTRANSFERS": TRACKING_TRANSFERS,
    }
    for account in org.accounts:
        if account.system_account in control:
            control[account.system_account] = account.account_id
    bank = next(
        (
            a.account_id
            for a in org.accounts
            if a.type == "BANK" and a.currency_code in (None, org.base_currency)
        ),
        BANK,
    )
    for doc in org.documents:
        if doc.status not in POSTED_STATUSES:
            continue
        sign = -1 if doc.type in _CREDIT_LINE_TYPES else 1
        lines = doc.lines
        if options:
            lines = [ln for ln in lines if options <= {option for _, option in ln.tracking}]
            if not lines:
                continue
        # Unfiltered, one counter-entry for the document; filtered, one per line.
        groups = [lines] if not options else [[line] for line in lines]
        for group in groups:
            total = Decimal(0)
            for line in group:
                debit = line_debit(doc, line)
                yield Posting(doc.date, line.account_id, debit)
                total += debit
                if line.tax_amount:
                    # Tax in base currency; it follows the line's direction.
                    tax = base_tax(doc, line) * sign
                    yield Posting(doc.date, control["GST"], tax)
                    total += tax
            # The counter-entry: the control account (or bank) takes the opposite of the lines.
            if doc.endpoint == "BankTransactions":
                yield Posting(doc.date, doc.bank_account_id or bank, -total)
                continue
            receivable = doc.type in ("ACCREC", "ACCRECCREDIT")
            counter = control["DEBTORS"] if receivable else control["CREDITORS"]
            yield Posting(doc.date, counter, -total)
            if doc.status == "PAID":
                settled = doc.due_date or doc.date
                yield Posting(settled, counter, total)
                yield Posting(settled, bank, -total)
    for journal in posted_journals(org):
        transfer = Decimal(0)
        for journal_line in journal.lines:
            if options and not options <= {option for _, option in journal_line.tracking}:
                continue
            yield Posting(journal.date, journal_line.account_id, journal_line.line_amount)
            transfer -= journal_line.line_amount
        if transfer:
            yield Posting(journal.date, control["TRACKINGTRANSFERS"], transfer)


def financial_year_start(org: SandboxOrganisation, on: dt.date) -> dt.date:
    def year_end(year: int) -> dt.date:
        month = org.financial_year_end_month
        return dt.date(
            year, month, min(org.financial_year_end_day, days_in_month(dt.date(year, month, 1)))
        )

    end = year_end(on.year)
    previous_end = year_end(on.year - 1) if on <= end else end
    return previous_end + dt.timedelta(days=1)
