"""Reads for the cash view: the organisation's month ends (its synced balance sheet and P&L)
as the maths sees them, the forecast P&L to project with, and the projection itself.

The forecast P&L is layered, each month from the first source that has it: the latest draft
(its edited figures, else the suggested ones), then the latest forecast run's figures, then the
overall budget. A fixed few queries per organisation, however many months and accounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max

from budgeting.cash.maths import ZERO, MonthActual, MonthPlan, Projection, cash_project
from budgeting.cash.models import CashSetting
from budgeting.drafts.models import Draft, DraftBalance, ForecastRecord
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    BalanceSheetBalance,
    Budget,
    BudgetBalance,
    XeroOrganisation,
)
from budgeting.ledger.selectors import profile_month_window
from core.months import add_months, months_between
from tenants.models import ClientOrganisation, Firm

# How far the projection looks ahead of the last actual month.
HORIZON_MONTHS = 12
# How many actual months the view shows before the projection.
ACTUAL_MONTHS = 12
# Xero's SystemAccount of receivables, payables and sales tax (GST, VAT: Xero calls both GST).
DEBTORS, CREDITORS = "DEBTORS", "CREDITORS"
SALES_TAX = frozenset({"GST", "GSTONIMPORTS"})


def cash_setting_get(*, firm: Firm, organisation: ClientOrganisation) -> CashSetting:
    """The organisation's setting, or an unsaved one with no threshold."""
    setting = CashSetting.objects.for_firm(firm).filter(organisation=organisation).first()
    return setting or CashSetting(firm=firm, organisation=organisation)


@dataclass(frozen=True)
class CashView:
    organisation: ClientOrganisation
    currency: str
    projection: Projection
    # Where each projected month's P&L came from: [(words, first, last)], in order.
    sources: tuple[tuple[str, dt.date, dt.date], ...]
    setting: CashSetting
    # The bank accounts at the last actual month's end: [(name, amount)], largest first.
    banks: tuple[tuple[str, Decimal], ...] = ()

    @property
    def months(self):
        return self.projection.months

    @property
    def last_actual(self) -> dt.date | None:
        return max((m.period for m in self.months if m.actual), default=None)


def _profit_and_loss(
    firm: Firm, organisation: ClientOrganisation, months: list[dt.date]
) -> dict[dt.date, tuple[Decimal, Decimal, Decimal]]:
    """(revenue, cash costs, depreciation) of each month's synced P&L."""
    found: dict[dt.date, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    rows = ActualBalance.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option__isnull=True, period__in=months
    )
    for period, account_class, account_type, amount in rows.values_list(
        "period", "account__account_class", "account__type", "amount"
    ):
        _add(found[period], account_class, account_type, amount)
    return {period: tuple(values) for period, values in found.items()}


def _add(values: list[Decimal], account_class: str, account_type: str, amount: Decimal) -> None:
    if account_class == "REVENUE":
        values[0] += amount
    elif account_type == "DEPRECIATN":
        values[2] += amount
    else:
        values[1] += amount


def cash_history(
    *, firm: Firm, organisation: ClientOrganisation, before: dt.date
) -> list[MonthActual]:
    """The organisation's month ends before `before` (oldest first): the synced balance sheet
    summed into cash, debtors, creditors, tax and the totals, beside each month's P&L."""
    lines = BalanceSheetBalance.objects.for_firm(firm).filter(
        organisation=organisation, period__lt=before
    )
    sheets: dict[dt.date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for period, account_class, account_type, system, amount in lines.values_list(
        "period", "account_class", "account__type", "account__system_account", "amount"
    ):
        sheet = sheets[period]
        sheet[account_class] += amount
        if account_type == "BANK":
            sheet["cash"] += amount
        elif system == DEBTORS:
            sheet["debtors"] += amount
        elif system == CREDITORS:
            sheet["creditors"] += amount
        elif system in SALES_TAX:
            sheet["tax"] += amount
    periods = sorted(sheets)
    pnl = _profit_and_loss(firm, organisation, periods)
    history = []
    for period in periods:
        sheet = sheets[period]
        revenue, costs, depreciation = pnl.get(period, (ZERO, ZERO, ZERO))
        history.append(
            MonthActual(
                period=period,
                revenue=revenue,
                costs=costs,
                depreciation=depreciation,
                cash=sheet["cash"],
                debtors=sheet["debtors"],
                creditors=sheet["creditors"],
                tax=sheet["tax"],
                assets=sheet[BalanceSheetBalance.Class.ASSET],
                liabilities=sheet[BalanceSheetBalance.Class.LIABILITY],
                equity=sheet[BalanceSheetBalance.Class.EQUITY],
            )
        )
    return history


def forecast_plan(
    *, firm: Firm, organisation: ClientOrganisation, first: dt.date, last: dt.date
) -> tuple[list[MonthPlan], list[tuple[str, dt.date, dt.date]]]:
    """The forecast P&L from first to last. Each account's figure for a month comes from the
    latest draft (its edited figure, else the suggested one), else the latest forecast run,
    else the overall budget (a draft holds only the lines it re-forecast). Returns the months
    (up to the first with no figure at all) and, per source, the first and last month it gave a
    figure for."""
    accounts = {
        pk: (account_class, account_type)
        for pk, account_class, account_type in Account.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list("pk", "account_class", "type")
    }
    layers: list[tuple[str, dict[tuple[int, dt.date], Decimal]]] = []
    draft = (
        Draft.objects.for_firm(firm)
        .filter(organisation=organisation)
        .exclude(status=Draft.Status.REJECTED)
        .order_by("-created_at", "-pk")
        .first()
    )
    if draft is not None:
        rows = (
            DraftBalance.objects.for_firm(firm)
            .filter(
                line__draft=draft,
                line__tracking_option__isnull=True,
                period__range=(first, last),
            )
            .values_list("line__account_id", "period", "suggested_amount", "edited_amount")
        )
        layers.append(
            (
                f"the draft '{draft}'",
                {(a, p): (s if e is None else e) for a, p, s, e in rows},
            )
        )
    records = ForecastRecord.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option__isnull=True
    )
    made = records.aggregate(made=Max("made_at"))["made"]
    if made is not None:
        rows = records.filter(made_at=made, target__range=(first, last)).values_list(
            "account_id", "target", "point"
        )
        layers.append(("the latest forecast run", {(a, p): v for a, p, v in rows}))
    budget = (
        Budget.objects.for_firm(firm)
        .filter(organisation=organisation, type=Budget.Type.OVERALL)
        .order_by("pk")
        .first()
    )
    if budget is not None:
        rows = (
            BudgetBalance.objects.for_firm(firm)
            .filter(budget_line__budget=budget, period__range=(first, last))
            .values_list("budget_line__account_id", "period", "amount")
        )
        words = f"the budget '{budget.description or 'Overall'}'"
        layers.append((words, {(a, p): v for a, p, v in rows}))
    keys = {key for _words, figures in layers for key in figures}
    plan: list[MonthPlan] = []
    used: dict[str, list[dt.date]] = {}
    for month in months_between(first, last):
        here = sorted(account for account, period in keys if period == month)
        if not here:
            break  # the projection stops where the forecast P&L stops
        values = [ZERO, ZERO, ZERO]
        for account in here:
            words, amount = next(
                (w, figures[(account, month)])
                for w, figures in layers
                if (account, month) in figures
            )
            _add(values, *accounts[account], amount)
            used.setdefault(words, []).append(month)
        plan.append(MonthPlan(month, *values))
    order = [words for words, _figures in layers if words in used]
    sources = [(words, min(used[words]), max(used[words])) for words in order]
    return plan, sources


def cash_view_load(*, firm: Firm, organisation: ClientOrganisation) -> CashView:
    """The organisation's closing cash per month: the last ACTUAL_MONTHS month ends before the
    open month, then HORIZON_MONTHS projected from the forecast P&L."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    window = profile_month_window(profile)
    history = cash_history(firm=firm, organisation=organisation, before=window.open_month)
    setting = cash_setting_get(firm=firm, organisation=organisation)
    currency = profile.base_currency if profile else organisation.base_currency
    if not history:
        return CashView(
            organisation, currency, cash_project([], [], threshold=setting.threshold), (), setting
        )
    last = history[-1].period
    plan, sources = forecast_plan(
        firm=firm,
        organisation=organisation,
        first=add_months(last, 1),
        last=add_months(last, HORIZON_MONTHS),
    )
    projection = cash_project(history, plan, threshold=setting.threshold)
    # The terms are measured over the whole history; the view shows its latest months.
    shown = Projection(
        months=tuple(m for m in projection.months if m.period > add_months(last, -ACTUAL_MONTHS)),
        terms=projection.terms,
        threshold=projection.threshold,
        low=projection.low,
        below=projection.below,
        notes=projection.notes,
    )
    banks = tuple(
        BalanceSheetBalance.objects.for_firm(firm)
        .filter(organisation=organisation, period=last, account__type="BANK")
        .order_by("-amount", "name")
        .values_list("name", "amount")
    )
    return CashView(organisation, currency, shown, tuple(sources), setting, banks)
