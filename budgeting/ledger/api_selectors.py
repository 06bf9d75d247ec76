"""Reads for the partner API's budgeting endpoints. Each takes the firm explicitly and returns a
queryset the API pages through with its cursor (ordered by primary key there).

Synced objects are named by Xero's own ids (AccountID, TrackingOptionID, BudgetID), so a
partner can match them with what it reads from Xero itself.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Prefetch, Q, QuerySet

from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    SyncRun,
    TrackingCategory,
    TrackingOption,
)
from tenants.models import ClientOrganisation, Firm
from tenants.scoping import get_firm_object_or_404

# Filters on the actuals' tracking option: this word asks for the overall (untracked) figures.
OVERALL = "none"


def api_organisation_get(*, firm: Firm, public_id) -> ClientOrganisation:
    """The firm's client organisation by its public id; 404 for missing and not-yours alike."""
    return get_firm_object_or_404(ClientOrganisation, firm=firm, public_id=public_id)


def api_budget_get(*, firm: Firm, organisation: ClientOrganisation, budget_id) -> Budget:
    """A budget of the organisation by Xero's BudgetID (a GUID, compared case-insensitively)."""
    return get_firm_object_or_404(
        Budget, firm=firm, organisation=organisation, budget_id__iexact=str(budget_id)
    )


def account_list(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account_class: str | None = None,
    type: str | None = None,
    status: str | None = None,
) -> QuerySet[Account]:
    accounts = Account.objects.for_firm(firm).filter(organisation=organisation)
    if account_class:
        accounts = accounts.filter(account_class=account_class)
    if type:
        accounts = accounts.filter(type=type)
    if status:
        accounts = accounts.filter(status=status)
    return accounts


def tracking_category_list(
    *, firm: Firm, organisation: ClientOrganisation
) -> QuerySet[TrackingCategory]:
    options = TrackingOption.objects.for_firm(firm).order_by("name", "pk")
    return (
        TrackingCategory.objects.for_firm(firm)
        .filter(organisation=organisation)
        .prefetch_related(Prefetch("options", queryset=options))
    )


def budget_list(
    *, firm: Firm, organisation: ClientOrganisation, tracking_option: str | None = None
) -> QuerySet[Budget]:
    lines = (
        BudgetLine.objects.for_firm(firm)
        .select_related("account")
        .order_by("account__code", "account__name", "pk")
    )
    budgets = (
        Budget.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("tracking_option__category", "tracking_option_2__category")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )
    if tracking_option == OVERALL:
        budgets = budgets.filter(tracking_option__isnull=True)
    elif tracking_option:
        budgets = budgets.filter(
            Q(tracking_option__option_id__iexact=tracking_option)
            | Q(tracking_option_2__option_id__iexact=tracking_option)
        )
    return budgets


def _account_filter(prefix: str, account: str) -> Q:
    # A partner may know an account by Xero's AccountID or by its code; either finds it.
    return Q(**{f"{prefix}account_id__iexact": account}) | Q(**{f"{prefix}code": account})


def budget_balance_list(
    *,
    firm: Firm,
    budget: Budget,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    account: str | None = None,
    account_class: str | None = None,
) -> QuerySet:
    """The budget's monthly figures, as plain rows (the biggest read of the API: no models)."""
    balances = BudgetBalance.objects.for_firm(firm).filter(budget_line__budget=budget)
    if period_from:
        balances = balances.filter(period__gte=period_from)
    if period_to:
        balances = balances.filter(period__lte=period_to)
    if account:
        balances = balances.filter(_account_filter("budget_line__account__", account))
    if account_class:
        balances = balances.filter(budget_line__account__account_class=account_class)
    return balances.values(
        "id",
        "period",
        "amount",
        "notes",
        xero_account_id=F("budget_line__account__account_id"),
        account_code=F("budget_line__account__code"),
    )


def actual_balance_list(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    period_from: dt.date | None = None,
    period_to: dt.date | None = None,
    account: str | None = None,
    account_class: str | None = None,
    tracking_option: str | None = None,
) -> QuerySet:
    """Monthly P&L actuals, overall and per tracking option, as plain rows."""
    actuals = ActualBalance.objects.for_firm(firm).filter(organisation=organisation)
    if period_from:
        actuals = actuals.filter(period__gte=period_from)
    if period_to:
        actuals = actuals.filter(period__lte=period_to)
    if account:
        actuals = actuals.filter(_account_filter("account__", account))
    if account_class:
        actuals = actuals.filter(account__account_class=account_class)
    if tracking_option == OVERALL:
        actuals = actuals.filter(tracking_option__isnull=True)
    elif tracking_option:
        actuals = actuals.filter(tracking_option__option_id__iexact=tracking_option)
    return actuals.values(
        "id",
        "period",
        "amount",
        xero_account_id=F("account__account_id"),
        account_code=F("account__code"),
        account_class=F("account__account_class"),
        xero_tracking_option_id=F("tracking_option__option_id"),
    )


def sync_run_list(*, firm: Firm, organisation: ClientOrganisation) -> QuerySet[SyncRun]:
    return SyncRun.objects.for_firm(firm).filter(organisation=organisation)
