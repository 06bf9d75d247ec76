"""Xero's JSON shapes for the sandbox's organisations: names, casing and formats as the spec."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.xero.sandbox.model import (
    SandboxAccount,
    SandboxBudget,
    SandboxContact,
    SandboxDocument,
    SandboxLine,
    SandboxManualJournal,
    SandboxOrganisation,
    SandboxTrackingCategory,
)
from integrations.xero.sandbox.msdate import iso_date_string, ms_date

CENT = Decimal("0.01")

# Xero's Organisation.Version per country (spec Organisation.Version enum).
_VERSIONS = {"AU": "AU", "NZ": "NZ", "GB": "UK", "US": "US"}
# The generator may give IANA names; Xero writes Windows-style names (spec TimeZone enum).
_TIMEZONES = {
    "Pacific/Auckland": "NEWZEALANDSTANDARDTIME",
    "Australia/Sydney": "AUSEASTERNSTANDARDTIME",
    "Australia/Melbourne": "AUSEASTERNSTANDARDTIME",
    "Australia/Brisbane": "EAUSTRALIASTANDARDTIME",
    "Australia/Adelaide": "CENAUSTRALIASTANDARDTIME",
    "Australia/Perth": "WAUSTRALIASTANDARDTIME",
    "Europe/London": "GMTSTANDARDTIME",
    "America/New_York": "EASTERNSTANDARDTIME",
    "America/Chicago": "CENTRALSTANDARDTIME",
    "America/Los_Angeles": "PACIFICSTANDARDTIME",
    "UTC": "UTC",
}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def organisation_json(org: SandboxOrganisation) -> dict[str, Any]:
    data: dict[str, Any] = {
        "OrganisationID": org.organisation_id,
        "Name": org.name,
        "LegalName": org.legal_name,
        "PaysTax": True,
        "Version": _VERSIONS.get(org.country_code, "GLOBAL"),
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": org.country_code,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": org.financial_year_end_day,
        "FinancialYearEndMonth": org.financial_year_end_month,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": ms_date(org.created_utc),
        "Timezone": _TIMEZONES.get(org.timezone, org.timezone),
        "OrganisationEntityType": "COMPANY",
        "ShortCode": org.short_code,
        "Class": "PREMIUM",
        "Edition": "BUSINESS",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    if org.period_lock_date is not None:
        # Spec: "Shown if set".
        data["PeriodLockDate"] = ms_date(org.period_lock_date)
    return data


def account_json(account: SandboxAccount) -> dict[str, Any]:
    data: dict[str, Any] = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Status": account.status,
        "Type": account.type,
        "TaxType": account.tax_type,
        "Description": account.description,
        "Class": account.account_class,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": account.reporting_code,
        "ReportingCodeName": account.reporting_code,
        "HasAttachments": False,
        "UpdatedDateUTC": ms_date(account.updated_utc),
        "AddToWatchlist": False,
    }
    if account.system_account:
        data["SystemAccount"] = account.system_account
    if account.type == "BANK":
        data["BankAccountType"] = "BANK"
        data["BankAccountNumber"] = account.bank_account_number or ""
    if account.currency_code:
        data["CurrencyCode"] = account.currency_code
    return data


def contact_json(
    contact: SandboxContact, is_supplier: bool = False, is_customer: bool = False
) -> dict[str, Any]:
    return {
        "ContactID": contact.contact_id,
        "Name": contact.name,
        "ContactStatus": "ACTIVE",
        "IsSupplier": is_supplier,
        "IsCustomer": is_customer,
        "UpdatedDateUTC": ms_date(contact.updated_utc),
    }


def tracking_category_json(
    category: SandboxTrackingCategory, *, include_archived: bool
) -> dict[str, Any]:
    return {
        "TrackingCategoryID": category.category_id,
        "Name": category.name,
        "Status": category.status,
        "Options": [
            {"TrackingOptionID": option.option_id, "Name": option.name, "Status": option.status}
            for option in category.options
            if include_archived or option.status == "ACTIVE"
        ],
    }


class OrgIndex:
    """Lookups a request needs; built per request because the control API can add documents."""

    def __init__(self, org: SandboxOrganisation) -> None:
        self.org = org
        self.accounts = {a.account_id: a for a in org.accounts}
        self.contacts = {c.contact_id: c for c in org.contacts}
        self.categories = {c.category_id: c for c in org.tracking_categories}
        self.options = {o.option_id: (c, o) for c in org.tracking_categories for o in c.options}

    def tracking_json(self, pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
        found = []
        for category_id, option_id in pairs:
            category, option = self.options[option_id]
            found.append(
                {
                    "TrackingCategoryID": category_id,
                    "TrackingOptionID": option_id,
                    "Name": category.name,
                    "Option": option.name,
                }
            )
        return found

    def contact_json(self, contact_id: str) -> dict[str, str]:
        return {"ContactID": contact_id, "Name": self.contacts[contact_id].name}

    def line_json(self, line: SandboxLine) -> dict[str, Any]:
        account = self.accounts[line.account_id]
        if line.unit_amount is not None:
            unit = line.unit_amount
        else:
            unit = line.line_amount / line.quantity if line.quantity else line.line_amount
        return {
            "LineItemID": line.line_id,
            "Description": line.description,
            "Quantity": line.quantity,
            "UnitAmount": money(unit),
            "AccountCode": account.code,
            "AccountID": account.account_id,
            "TaxType": line.tax_type,
            "TaxAmount": money(line.tax_amount),
            "LineAmount": money(line.line_amount),
            "Tracking": self.tracking_json(line.tracking),
        }

    def document_json(self, doc: SandboxDocument, *, with_lines: bool) -> dict[str, Any]:
        tax = sum((line.tax_amount for line in doc.lines), Decimal(0))
        sub_total = sum((line.line_amount for line in doc.lines), Decimal(0))
        if doc.line_amount_types == "Inclusive":
            # LineAmount includes tax; SubTotal is still the total excluding tax.
            sub_total -= tax
        total = money(sub_total + tax)
        data: dict[str, Any] = {
            "Type": doc.type,
            "Contact": self.contact_json(doc.contact_id),
            "Date": ms_date(doc.date),
            "DateString": iso_date_string(doc.date),
            "Status": doc.status,
            "LineAmountTypes": doc.line_amount_types,
            "SubTotal": money(sub_total),
            "TotalTax": money(tax),
            "Total": total,
            "UpdatedDateUTC": ms_date(doc.updated_utc),
            "CurrencyCode": doc.currency_code,
            "CurrencyRate": doc.currency_rate,
            "Reference": doc.reference,
            "HasAttachments": False,
        }
        if with_lines:
            data["LineItems"] = [self.line_json(line) for line in doc.lines]
        paid = doc.status == "PAID"
        if doc.endpoint == "Invoices":
            data |= {
                "InvoiceID": doc.document_id,
                "InvoiceNumber": doc.number,
                "AmountDue": Decimal(0) if paid else total,
                "AmountPaid": total if paid else Decimal(0),
                "AmountCredited": Decimal(0),
                "IsDiscounted": False,
            }
            if doc.due_date is not None:
                data["DueDate"] = ms_date(doc.due_date)
                data["DueDateString"] = iso_date_string(doc.due_date)
            if paid:
                # The sandbox has no payments; a PAID invoice is settled on its due date.
                data["FullyPaidOnDate"] = ms_date(doc.due_date or doc.date)
        elif doc.endpoint == "CreditNotes":
            data |= {
                "CreditNoteID": doc.document_id,
                "CreditNoteNumber": doc.number,
                "RemainingCredit": Decimal(0) if paid else total,
            }
        else:
            bank = self.accounts.get(doc.bank_account_id or "")
            data |= {"BankTransactionID": doc.document_id, "IsReconciled": True}
            if bank is not None:
                data["BankAccount"] = {
                    "AccountID": bank.account_id,
                    "Code": bank.code,
                    "Name": bank.name,
                }
        return data


def manual_journal_json(
    journal: SandboxManualJournal, index: OrgIndex, *, with_lines: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ManualJournalID": journal.journal_id,
        "Date": ms_date(journal.date),
        "Status": journal.status,
        "LineAmountTypes": journal.line_amount_types,
        "Narration": journal.narration,
        "ShowOnCashBasisReports": True,
        "HasAttachments": False,
        "UpdatedDateUTC": ms_date(journal.updated_utc),
    }
    if with_lines:
        lines = []
        for line in journal.lines:
            account = index.accounts[line.account_id]
            lines.append(
                {
                    "LineAmount": money(line.line_amount),
                    "AccountCode": account.code,
                    "AccountID": account.account_id,
                    "Description": line.description,
                    "TaxType": line.tax_type,
                    "TaxAmount": money(line.tax_amount),
                    "Tracking": index.tracking_json(line.tracking),
                    "IsBlank": False,
                }
            )
        data["JournalLines"] = lines
    return data


def budget_json(
    budget: SandboxBudget, index: OrgIndex, periods: list[str] | None
) -> dict[str, Any]:
    """A budget header, and its lines for `periods` when given (single-budget requests only)."""
    data: dict[str, Any] = {
        "BudgetID": budget.budget_id,
        "Type": budget.type,
        "Description": budget.description,
        "UpdatedDateUTC": ms_date(budget.updated_utc),
    }
    if budget.type == "TRACKING":
        data["Tracking"] = index.tracking_json(budget.tracking)
    if periods is not None:
        lines = []
        for account_id, amounts in budget.lines.items():
            account = index.accounts[account_id]
            balances = []
            for period in periods:
                if period in amounts:
                    balance: dict[str, Any] = {"Period": period, "Amount": amounts[period]}
                    note = budget.notes.get((account_id, period))
                    if note:
                        balance["Notes"] = note
                    balances.append(balance)
            lines.append(
                {"AccountID": account_id, "AccountCode": account.code, "BudgetBalances": balances}
            )
        lines.sort(key=lambda line: line["AccountCode"])
        data["BudgetLines"] = lines
    return data
