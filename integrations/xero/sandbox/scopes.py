"""Which OAuth scopes open which accounting endpoint.

Xero's spec (16.1.0) names only the broad scopes; apps created from 2 March 2026 must use the
granular ones instead (xero-api-facts §5). The sandbox accepts either, as Xero does for apps that
hold both kinds.
"""

from __future__ import annotations

SETTINGS = frozenset({"accounting.settings", "accounting.settings.read"})
TRANSACTIONS = frozenset({"accounting.transactions", "accounting.transactions.read"})
REPORTS = frozenset({"accounting.reports.read"})

# First path segment(s) after /api.xro/2.0/ -> scopes any one of which allows the GET.
ENDPOINT_SCOPES: dict[str, frozenset[str]] = {
    "Organisation": SETTINGS,
    "Accounts": SETTINGS,
    "TrackingCategories": SETTINGS,
    "Currencies": SETTINGS,
    "Budgets": frozenset({"accounting.budgets.read"}),
    "Contacts": frozenset({"accounting.contacts", "accounting.contacts.read"}),
    "Invoices": TRANSACTIONS | {"accounting.invoices", "accounting.invoices.read"},
    "CreditNotes": TRANSACTIONS | {"accounting.invoices", "accounting.invoices.read"},
    "BankTransactions": TRANSACTIONS
    | {"accounting.banktransactions", "accounting.banktransactions.read"},
    "ManualJournals": TRANSACTIONS
    | {"accounting.manualjournals", "accounting.manualjournals.read"},
    "Reports/ProfitAndLoss": REPORTS | {"accounting.reports.profitandloss.read"},
    "Reports/BudgetSummary": REPORTS | {"accounting.reports.budgetsummary.read"},
    "Reports/BalanceSheet": REPORTS | {"accounting.reports.balancesheet.read"},
    "Reports/TrialBalance": REPORTS | {"accounting.reports.trialbalance.read"},
}

# Scopes the authorize endpoint accepts; anything else fails the consent with invalid_scope.
KNOWN_SCOPES = frozenset(
    {"openid", "profile", "email", "offline_access"}
    | {scope for scopes in ENDPOINT_SCOPES.values() for scope in scopes}
    | {
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.journals.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.reports.aged.read",
        "accounting.reports.banksummary.read",
        "accounting.reports.executivesummary.read",
        "accounting.reports.taxreports.read",
        "accounting.reports.tenninetynine.read",
    }
)


def scope_allows(granted: frozenset[str], endpoint: str) -> bool:
    required = ENDPOINT_SCOPES.get(endpoint)
    return required is not None and bool(granted & required)
