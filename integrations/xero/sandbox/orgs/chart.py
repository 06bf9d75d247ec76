"""Charts of accounts in the shape of Xero's demo companies (codes 090, 200, 310, 400-499, 610-980)."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.xero.sandbox.model import PROFIT_AND_LOSS_TYPES

# Xero gives every balance-sheet type a fixed class; the P&L types are in model.py.
_BALANCE_SHEET_CLASSES = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
}


def account_class(account_type: str) -> str:
    return PROFIT_AND_LOSS_TYPES.get(account_type) or _BALANCE_SHEET_CLASSES[account_type]


@dataclass(frozen=True)
class AccountSpec:
    code: str
    name: str
    type: str
    # sales | purchases | exempt: which of the country's tax types the account defaults to.
    tax: str = "exempt"
    system_account: str | None = None


def spec(code: str, name: str, type_: str, tax: str = "exempt", system: str | None = None):
    return AccountSpec(code, name, type_, tax, system)


# The balance-sheet accounts every Xero organisation starts with (system accounts included).
BALANCE_SHEET = (
    spec("610", "Accounts Receivable", "CURRENT", system="DEBTORS"),
    spec("620", "Prepayments", "CURRENT"),
    spec("630", "Inventory", "INVENTORY"),
    spec("710", "Office Equipment", "FIXED"),
    spec("711", "Less Accumulated Depreciation on Office Equipment", "FIXED"),
    spec("720", "Computer Equipment", "FIXED"),
    spec("721", "Less Accumulated Depreciation on Computer Equipment", "FIXED"),
    spec("800", "Accounts Payable", "CURRLIAB", system="CREDITORS"),
    spec("801", "Unpaid Expense Claims", "CURRLIAB", system="UNPAIDEXPCLM"),
    spec("820", "GST", "CURRLIAB", system="GST"),
    spec("825", "PAYE Payable", "CURRLIAB"),
    spec("830", "Income Tax Payable", "CURRLIAB"),
    spec("840", "Historical Adjustment", "CURRLIAB", system="HISTORICAL"),
    spec("850", "Suspense", "CURRLIAB"),
    spec("860", "Rounding", "CURRLIAB", system="ROUNDING"),
    spec("877", "Tracking Transfers", "CURRLIAB", system="TRACKINGTRANSFERS"),
    spec("900", "Loan", "TERMLIAB"),
    spec("960", "Retained Earnings", "EQUITY", system="RETAINEDEARNINGS"),
    spec("970", "Owner A Funds Introduced", "EQUITY"),
    spec("980", "Owner A Drawings", "EQUITY"),
)

# Overheads common to the small businesses, with Xero's demo codes.
COMMON_OVERHEADS = (
    spec("400", "Advertising", "OVERHEADS", "purchases"),
    spec("404", "Bank Fees", "OVERHEADS"),
    spec("408", "Cleaning", "OVERHEADS", "purchases"),
    spec("412", "Consulting & Accounting", "OVERHEADS", "purchases"),
    spec("416", "Depreciation", "DEPRECIATN"),
    spec("429", "General Expenses", "OVERHEADS", "purchases"),
    spec("433", "Insurance", "OVERHEADS", "purchases"),
    spec("445", "Light, Power, Heating", "OVERHEADS", "purchases"),
    spec("453", "Office Expenses", "OVERHEADS", "purchases"),
    spec("469", "Rent", "OVERHEADS", "purchases"),
    spec("473", "Repairs and Maintenance", "OVERHEADS", "purchases"),
    spec("477", "Wages and Salaries", "EXPENSE"),
    spec("485", "Subscriptions", "OVERHEADS", "purchases"),
    spec("489", "Telephone & Internet", "OVERHEADS", "purchases"),
)

# Superannuation's name depends on the country's retirement scheme.
RETIREMENT_ACCOUNT = {
    "NZ": spec("478", "KiwiSaver Employer Contributions", "EXPENSE"),
    "AU": spec("478", "Superannuation", "EXPENSE"),
    "GB": spec("478", "Employer Pension Contributions", "EXPENSE"),
    "US": spec("478", "401(k) Employer Contributions", "EXPENSE"),
}

# Value added tax has a different name in each country; the system account is the same.
SALES_TAX_ACCOUNT_NAME = {"NZ": "GST", "AU": "GST", "GB": "VAT", "US": "Sales Tax"}
