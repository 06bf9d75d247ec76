"""Xero's documents and manual journals, line by line, as the Profit and Loss posts them.

Pure: a page of Invoices, CreditNotes, BankTransactions or ManualJournals in, one line out per
line item or journal line, each carrying its effect on its account in the organisation's base
currency (`debit`: positive for a debit, negative for a credit, tax excluded, to the cent).
Nothing here knows the account's class; budgeting turns a debit into the P&L's natural sign.

The rules, with their sources (the OpenAPI contract is shared/xero/xero_accounting.yaml, 16.1.0):
- `LineAmountTypes` is Exclusive, Inclusive or NoTax, and "line amounts are exclusive of tax by
  default if you don't specify this element" (schema LineAmountTypes). On an Inclusive document
  `LineAmount` includes the tax, and the P&L shows the line without it: we subtract the line's
  own `TaxAmount` (what Xero computed, or what the user overrode it to), never a rate.
- `CurrencyRate` is units of the document's currency per one unit of base currency (Xero shows
  "1 NZD = 0.5921 USD" on a document; Xero Central, "View an exchange rate"), up to six decimal
  places ("max length = [18].[6]", schema Invoice.CurrencyRate). It is read at full precision:
  rounding it to cents (0.5921 -> 0.59) moves every converted line.
- "All monetary calculations in Xero are to two decimal places" and Xero rounds half away from
  zero ("2.165 rounded up to 2.17": developer.xero.com rounding-in-xero; Xero community
  manager, community.xero.com/developer/discussion/66891). So each line is converted on its
  own, net of tax, and only then rounded to the cent, half up; a document's total is never
  converted and spread back over its lines.
- Only posted documents reach the accrual P&L: invoices and credit notes AUTHORISED or PAID
  (DRAFT and SUBMITTED await approval; VOIDED and DELETED are gone), bank transactions
  AUTHORISED, manual journals POSTED (schemas Invoice, CreditNote, BankTransaction,
  ManualJournal: Status). Lines of other documents are still returned, marked `posted=False`,
  so an incremental sync can remove what a voided document used to contribute.
- A manual journal is in base currency and its `LineAmount` is signed: "Debits are positive,
  credits are negative" (schema ManualJournalLine).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from integrations.xero.errors import XeroPayloadError
from integrations.xero.parsing import _list_of, _Reader

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE = Decimal(1)

MANUAL_JOURNALS = "ManualJournals"
# Xero's Journal.SourceType for a manual journal; our document type for its lines.
MANUAL_JOURNAL = "MANJOURNAL"

# endpoint -> (list key, id key, number key, lines key)
_KEYS = {
    "Invoices": ("Invoices", "InvoiceID", "InvoiceNumber", "LineItems"),
    "CreditNotes": ("CreditNotes", "CreditNoteID", "CreditNoteNumber", "LineItems"),
    "BankTransactions": ("BankTransactions", "BankTransactionID", "Reference", "LineItems"),
    MANUAL_JOURNALS: ("ManualJournals", "ManualJournalID", "", "JournalLines"),
}
DOCUMENT_ENDPOINTS = ("Invoices", "CreditNotes", "BankTransactions")

POSTED_STATUSES = {
    "Invoices": frozenset({"AUTHORISED", "PAID"}),
    "CreditNotes": frozenset({"AUTHORISED", "PAID"}),
    "BankTransactions": frozenset({"AUTHORISED"}),
    MANUAL_JOURNALS: frozenset({"POSTED"}),
}

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")

# Document types whose lines debit their account (a bill's expense, a sales credit note's
# reversal of revenue, money spent); the others credit it. Xero's types, by endpoint schema.
_DEBIT_TYPES = frozenset(
    {
        "ACCPAY",
        "ACCRECCREDIT",
        "APOVERPAYMENT",
        "APPREPAYMENT",
        "SPEND",
        "SPEND-OVERPAYMENT",
        "SPEND-PREPAYMENT",
        "SPEND-TRANSFER",
    }
)
_CREDIT_TYPES = frozenset(
    {
        "ACCREC",
        "ACCPAYCREDIT",
        "AROVERPAYMENT",
        "ARPREPAYMENT",
        "RECEIVE",
        "RECEIVE-OVERPAYMENT",
        "RECEIVE-PREPAYMENT",
        "RECEIVE-TRANSFER",
    }
)


@dataclass(frozen=True)
class XeroTransactionLine:
    """One line of an invoice, credit note, bank transaction or manual journal, as a driver."""

    source: str  # the endpoint it came from: Invoices, CreditNotes, BankTransactions, ...
    document_type: str  # ACCREC, ACCPAY, ACCRECCREDIT, ..., SPEND, RECEIVE, MANJOURNAL
    document_id: str
    document_number: str
    line_id: str
    date: dt.date
    status: str
    posted: bool  # counted by the accrual Profit and Loss
    contact_id: str
    contact_name: str
    account_id: str
    account_code: str
    description: str
    # As Xero sent them, in the document's currency (a journal's LineAmount is signed).
    line_amount: Decimal
    tax_amount: Decimal
    line_amount_types: str
    currency_code: str
    currency_rate: Decimal  # full precision
    # The line's effect on its account in base currency, tax excluded, to the cent: positive
    # for a debit (an expense going up), negative for a credit (revenue going up).
    debit: Decimal
    tracking: tuple[tuple[str, str], ...]  # (TrackingCategoryID, TrackingOptionID)
    updated_utc: dt.datetime | None


@dataclass(frozen=True)
class DocumentPage:
    lines: tuple[XeroTransactionLine, ...]
    document_count: int
    document_ids: tuple[str, ...]


# --- The conversion -----------------------------------------------------------------------------


def parse_currency_rate(value: Any, *, endpoint: str, where: str) -> Decimal:
    """CurrencyRate at full precision. JSON numbers arrive as floats; str() of a float gives
    back the shortest decimal that reads as the same float, so 0.592134 stays 0.592134."""
    if value is None or value == "":
        return ONE
    if isinstance(value, bool):
        raise XeroPayloadError(endpoint, where, f"not a number ({value!r})")
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise XeroPayloadError(endpoint, where, f"not a number ({value!r})") from exc
    if not rate.is_finite() or rate <= 0:
        raise XeroPayloadError(endpoint, where, f"not a positive rate ({value!r})")
    return rate


def line_net_of_tax(line_amount: Decimal, tax_amount: Decimal, line_amount_types: str) -> Decimal:
    """The line without its tax, in the document's currency: what the P&L posts."""
    if line_amount_types != "Inclusive" or not tax_amount:
        return line_amount
    # The tax goes the same way as its line (a credit line of a journal carries a credit tax),
    # whichever sign Xero wrote it with.
    return line_amount - abs(tax_amount).copy_sign(line_amount)


def line_to_base(amount: Decimal, currency_rate: Decimal) -> Decimal:
    """A document-currency amount in base currency, rounded to the cent half up (away from
    zero), as Xero rounds every monetary calculation; the rate is foreign units per base unit."""
    if currency_rate == ONE:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return (amount / currency_rate).quantize(CENT, rounding=ROUND_HALF_UP)


def document_debit_sign(document_type: str, *, endpoint: str, where: str) -> int:
    """+1 when the document's lines debit their accounts, -1 when they credit them."""
    if document_type in _DEBIT_TYPES:
        return 1
    if document_type in _CREDIT_TYPES:
        return -1
    raise XeroPayloadError(endpoint, where, f"unknown document type ({document_type!r})")


# --- Parsing ------------------------------------------------------------------------------------


def parse_document_page(body: Any, *, endpoint: str) -> DocumentPage:
    """A page of Invoices, CreditNotes, BankTransactions or ManualJournals (asked for with
    `page`, so that Xero includes the lines)."""
    if endpoint not in _KEYS:
        raise ValueError(f"not a document endpoint: {endpoint}")
    key, id_key, number_key, lines_key = _KEYS[endpoint]
    journal = endpoint == MANUAL_JOURNALS
    documents = _list_of(body, key, endpoint)
    lines: list[XeroTransactionLine] = []
    ids: list[str] = []
    for i, item in enumerate(documents):
        r = _Reader(endpoint, item, f"{key}[{i}]")
        document_id = r.str(id_key)
        ids.append(document_id)
        status = r.str("Status", required=False)
        amount_types = r.str("LineAmountTypes", required=False) or "Exclusive"
        if amount_types not in LINE_AMOUNT_TYPES:
            raise XeroPayloadError(
                endpoint, r._where("LineAmountTypes"), f"unknown value ({amount_types!r})"
            )
        if journal:
            document_type, sign = MANUAL_JOURNAL, 1
            rate, currency, number = ONE, "", ""
            contact_id = contact_name = ""
            narration = r.str("Narration", required=False)
        else:
            document_type = r.str("Type")
            sign = document_debit_sign(document_type, endpoint=endpoint, where=r._where("Type"))
            rate = parse_currency_rate(
                r.raw("CurrencyRate", required=False),
                endpoint=endpoint,
                where=r._where("CurrencyRate"),
            )
            currency = r.str("CurrencyCode", required=False)
            number = r.str(number_key, required=False)
            contact = r.raw("Contact", required=False)
            contact_reader = r.child(contact, "Contact") if contact is not None else None
            contact_id = contact_reader.str("ContactID", required=False) if contact_reader else ""
            contact_name = contact_reader.str("Name", required=False) if contact_reader else ""
            narration = ""
        date = r.msdate("Date").date()
        updated = r.msdate("UpdatedDateUTC", required=False)
        posted = status in POSTED_STATUSES[endpoint]
        for j, line in enumerate(r.list(lines_key)):
            lr = r.child(line, f"{lines_key}[{j}]")
            line_amount = lr.money("LineAmount")
            tax_amount = lr.money("TaxAmount", required=False) or ZERO
            net = line_net_of_tax(line_amount, tax_amount, amount_types)
            lines.append(
                XeroTransactionLine(
                    source=endpoint,
                    document_type=document_type,
                    document_id=document_id,
                    document_number=number,
                    # Journal lines have no id of their own; a changed journal's lines are
                    # replaced together, so their position is enough.
                    line_id=lr.str("LineItemID", required=False, default=f"{j}"),
                    date=date,
                    status=status,
                    posted=posted,
                    contact_id=contact_id,
                    contact_name=contact_name,
                    account_id=lr.str("AccountID", required=False),
                    account_code=lr.str("AccountCode", required=False),
                    description=lr.str("Description", required=False) or narration,
                    line_amount=line_amount,
                    tax_amount=tax_amount,
                    line_amount_types=amount_types,
                    currency_code=currency,
                    currency_rate=rate,
                    debit=sign * line_to_base(net, rate),
                    tracking=_tracking(lr),
                    updated_utc=updated,
                )
            )
    return DocumentPage(lines=tuple(lines), document_count=len(documents), document_ids=tuple(ids))


def _tracking(line: _Reader) -> tuple[tuple[str, str], ...]:
    pairs = []
    for k, item in enumerate(line.list("Tracking")):
        t = line.child(item, f"Tracking[{k}]")
        pairs.append((t.str("TrackingCategoryID"), t.str("TrackingOptionID", required=False)))
    return tuple(pairs)
