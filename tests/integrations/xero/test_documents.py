"""Document and manual-journal lines converted as Xero posts them (integrations/xero/documents.py).

Payloads are shaped per Xero's OpenAPI contract (Invoice, CreditNote, BankTransaction,
ManualJournal, LineItem, ManualJournalLine) and go through JSON, so numbers arrive as Xero's do.
"""

import json
from decimal import Decimal

import pytest

from integrations.xero.documents import (
    line_net_of_tax,
    line_to_base,
    parse_currency_rate,
    parse_document_page,
)
from integrations.xero.errors import XeroPayloadError

ACCOUNT = "6f3b3b0e-0000-4000-8000-000000000200"
OPTION = "0c4b5a4e-0000-4000-8000-0000000000a1"
CATEGORY = "0c4b5a4e-0000-4000-8000-0000000000c1"


def _wire(body: dict) -> dict:
    """The body as a client reads it: JSON numbers become floats, as httpx gives them."""
    return json.loads(json.dumps(body))


def _line(amount, tax=0, **extra) -> dict:
    return {
        "LineItemID": extra.pop("LineItemID", "line-1"),
        "Description": "Flat whites",
        "AccountID": ACCOUNT,
        "AccountCode": "200",
        "LineAmount": amount,
        "TaxAmount": tax,
        **extra,
    }


def _invoice(lines, *, type="ACCREC", status="AUTHORISED", amounts="Exclusive", rate=1, **extra):
    return {
        "InvoiceID": extra.pop("InvoiceID", "inv-1"),
        "InvoiceNumber": "INV-0001",
        "Type": type,
        "Status": status,
        "LineAmountTypes": amounts,
        "Date": "/Date(1772323200000+0000)/",  # 2026-03-01
        "UpdatedDateUTC": "/Date(1772409600000+0000)/",
        "CurrencyCode": extra.pop("CurrencyCode", "NZD"),
        "CurrencyRate": rate,
        "Contact": {"ContactID": "c-1", "Name": "Harbour Lane Café"},
        "LineItems": lines,
        **extra,
    }


def _invoices(*documents) -> list:
    return list(
        parse_document_page(_wire({"Invoices": list(documents)}), endpoint="Invoices").lines
    )


def test_an_inclusive_document_line_is_taken_without_its_own_tax_amount():
    # GST-inclusive sales: 115.00 including 15.00 GST is 100.00 of revenue, not 115.00.
    # The second line's tax was overridden in Xero to 14.99: the line's TaxAmount wins over 15%.
    lines = _invoices(
        _invoice(
            [_line(115.00, 15.00), _line(115.00, 14.99, LineItemID="line-2")], amounts="Inclusive"
        )
    )
    assert [line.debit for line in lines] == [Decimal("-100.00"), Decimal("-100.01")]
    assert lines[0].line_amount == Decimal("115.00")
    assert lines[0].tax_amount == Decimal("15.00")
    assert lines[0].line_amount_types == "Inclusive"


@pytest.mark.parametrize("amounts", ["Exclusive", "NoTax", None])
def test_exclusive_and_untaxed_lines_are_the_line_amount(amounts):
    document = _invoice([_line(100.00, 15.00)], type="ACCPAY", amounts=amounts)
    if amounts is None:  # Xero's default when the element is left out is Exclusive
        del document["LineAmountTypes"]
    [line] = _invoices(document)
    assert line.debit == Decimal("100.00")  # a bill debits its expense account


def test_the_currency_rate_is_read_at_full_precision_and_divides_the_line():
    # 1 NZD = 0.5921 USD: a US$1,000.00 bill is NZ$1,688.90 (1000 / 0.5921 = 1688.9039...),
    # where a rate rounded to cents (0.59) would make it NZ$1,694.92.
    [line] = _invoices(_invoice([_line(1000.00)], type="ACCPAY", rate=0.5921, CurrencyCode="USD"))
    assert line.currency_rate == Decimal("0.5921")
    assert line.currency_code == "USD"
    assert line.debit == Decimal("1688.90")


@pytest.mark.parametrize(
    ("value", "rate"),
    [(0.592134, "0.592134"), ("1.234567", "1.234567"), (1.5, "1.5"), (None, "1"), (2, "2")],
)
def test_six_decimal_rates_survive_json(value, rate):
    parsed = parse_currency_rate(json.loads(json.dumps(value)), endpoint="Invoices", where="x")
    assert parsed == Decimal(rate)


def test_each_line_is_converted_then_rounded_half_up():
    # 10.02 / 0.8 = 12.525: half up (away from zero) is 12.53; banker's rounding would say 12.52.
    assert line_to_base(Decimal("10.02"), Decimal("0.8")) == Decimal("12.53")
    assert line_to_base(Decimal("-10.02"), Decimal("0.8")) == Decimal("-12.53")
    # Two lines of 0.01 at 0.8 are 0.01 each (0.0125): the lines, not the document's total
    # (0.02 / 0.8 = 0.025 -> 0.03), are what Xero converts.
    lines = _invoices(
        _invoice(
            [_line(0.01), _line(0.01, LineItemID="line-2")],
            type="ACCPAY",
            rate=0.8,
            CurrencyCode="USD",
        )
    )
    assert [line.debit for line in lines] == [Decimal("0.01"), Decimal("0.01")]


def test_an_inclusive_foreign_line_drops_its_tax_before_it_is_converted():
    [line] = _invoices(
        _invoice([_line(115.00, 15.00)], amounts="Inclusive", rate=0.5, CurrencyCode="AUD")
    )
    assert line.debit == Decimal("-200.00")


def test_tax_goes_the_way_of_its_line():
    assert line_net_of_tax(Decimal("-115.00"), Decimal("15.00"), "Inclusive") == Decimal("-100.00")
    assert line_net_of_tax(Decimal("-115.00"), Decimal("-15.00"), "Inclusive") == Decimal("-100.00")
    assert line_net_of_tax(Decimal("115.00"), Decimal("15.00"), "Exclusive") == Decimal("115.00")


@pytest.mark.parametrize(
    ("endpoint", "type", "debit"),
    [
        ("Invoices", "ACCREC", "-50.00"),  # a sale credits revenue
        ("Invoices", "ACCPAY", "50.00"),  # a bill debits the expense
        ("CreditNotes", "ACCRECCREDIT", "50.00"),  # a sales credit note takes revenue back
        ("CreditNotes", "ACCPAYCREDIT", "-50.00"),  # a supplier's credit note reduces the expense
        ("BankTransactions", "SPEND", "50.00"),
        ("BankTransactions", "RECEIVE", "-50.00"),
    ],
)
def test_credit_notes_and_bank_transactions_go_the_way_xero_posts_them(endpoint, type, debit):
    key, id_key = {
        "Invoices": ("Invoices", "InvoiceID"),
        "CreditNotes": ("CreditNotes", "CreditNoteID"),
        "BankTransactions": ("BankTransactions", "BankTransactionID"),
    }[endpoint]
    document = _invoice([_line(50.00)], type=type)
    document[id_key] = document.pop("InvoiceID")
    [line] = parse_document_page(_wire({key: [document]}), endpoint=endpoint).lines
    assert line.debit == Decimal(debit)
    assert line.document_type == type
    assert line.source == endpoint


@pytest.mark.parametrize(
    ("endpoint", "status", "posted"),
    [
        ("Invoices", "AUTHORISED", True),
        ("Invoices", "PAID", True),
        ("Invoices", "DRAFT", False),
        ("Invoices", "SUBMITTED", False),
        ("Invoices", "VOIDED", False),
        ("Invoices", "DELETED", False),
        ("CreditNotes", "PAID", True),
        ("CreditNotes", "SUBMITTED", False),
        ("BankTransactions", "AUTHORISED", True),
        ("BankTransactions", "VOIDED", False),
        ("BankTransactions", "DELETED", False),
    ],
)
def test_only_documents_the_accrual_profit_and_loss_counts_are_posted(endpoint, status, posted):
    key, id_key, type = {
        "Invoices": ("Invoices", "InvoiceID", "ACCREC"),
        "CreditNotes": ("CreditNotes", "CreditNoteID", "ACCRECCREDIT"),
        "BankTransactions": ("BankTransactions", "BankTransactionID", "SPEND"),
    }[endpoint]
    document = _invoice([_line(10.00)], type=type, status=status)
    document[id_key] = document.pop("InvoiceID")
    page = parse_document_page(_wire({key: [document]}), endpoint=endpoint)
    assert [(line.status, line.posted) for line in page.lines] == [(status, posted)]
    assert page.document_ids == ("inv-1",)


def _journal(lines, *, status="POSTED", amounts="NoTax", **extra) -> dict:
    return {
        "ManualJournalID": extra.pop("ManualJournalID", "mj-1"),
        "Narration": "Depreciation for March",
        "Date": "/Date(1774915200000+0000)/",  # 2026-03-31
        "Status": status,
        "LineAmountTypes": amounts,
        "UpdatedDateUTC": "/Date(1775001600000+0000)/",
        "ShowOnCashBasisReports": True,
        "JournalLines": lines,
        **extra,
    }


def _journal_lines(*journals):
    body = _wire({"pagination": {"page": 1, "pageCount": 1}, "ManualJournals": list(journals)})
    return list(parse_document_page(body, endpoint="ManualJournals").lines)


def test_manual_journal_lines_are_signed_debit_positive_in_base_currency():
    tracking = [
        {"TrackingCategoryID": CATEGORY, "TrackingOptionID": OPTION, "Name": "Region"},
    ]
    depreciation, accumulated = _journal_lines(
        _journal(
            [
                {
                    "AccountID": ACCOUNT,
                    "AccountCode": "416",
                    "LineAmount": 1250.00,
                    "Tracking": tracking,
                },
                {
                    "AccountID": "acc-711",
                    "AccountCode": "711",
                    "Description": "Accumulated depreciation",
                    "LineAmount": -1250.00,
                },
            ]
        )
    )
    assert depreciation.debit == Decimal("1250.00")
    assert accumulated.debit == Decimal("-1250.00")
    assert depreciation.document_type == "MANJOURNAL"
    assert depreciation.posted is True
    # A line without a description is described by the journal's narration.
    assert depreciation.description == "Depreciation for March"
    assert accumulated.description == "Accumulated depreciation"
    assert depreciation.tracking == ((CATEGORY, OPTION),)
    assert (depreciation.contact_name, depreciation.currency_rate) == ("", Decimal(1))
    assert depreciation.date.isoformat() == "2026-03-31"
    assert (depreciation.line_id, accumulated.line_id) == ("0", "1")


def test_an_inclusive_journal_line_is_posted_without_its_tax():
    [line] = _journal_lines(
        _journal(
            [{"AccountID": ACCOUNT, "LineAmount": -230.00, "TaxAmount": -30.00}],
            amounts="Inclusive",
        )
    )
    assert line.debit == Decimal("-200.00")


@pytest.mark.parametrize(
    ("status", "posted"),
    [
        ("POSTED", True),
        ("DRAFT", False),
        ("VOIDED", False),
        ("DELETED", False),
        ("ARCHIVED", False),
    ],
)
def test_only_posted_journals_count(status, posted):
    [line] = _journal_lines(_journal([{"AccountID": ACCOUNT, "LineAmount": 5}], status=status))
    assert line.posted is posted


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        ({"CurrencyRate": 0}, "Invoices[0].CurrencyRate", "not a positive rate (0)"),
        ({"CurrencyRate": "n/a"}, "Invoices[0].CurrencyRate", "not a number ('n/a')"),
        ({"LineAmountTypes": "Gross"}, "Invoices[0].LineAmountTypes", "unknown value ('Gross')"),
        ({"Type": "QUOTE"}, "Invoices[0].Type", "unknown document type ('QUOTE')"),
    ],
)
def test_a_payload_that_cannot_be_converted_names_its_field(change, field, problem):
    document = _invoice([_line(10.00)]) | change
    with pytest.raises(XeroPayloadError) as error:
        parse_document_page({"Invoices": [document]}, endpoint="Invoices")
    assert (error.value.field, error.value.problem) == (field, problem)
