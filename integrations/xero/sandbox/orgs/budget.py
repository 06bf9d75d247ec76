"""Budgets planned the way a firm plans them: last year's actuals plus growth, in whole units.

The plan is made before the financial year starts, so it cannot know about the drivers the
generator plants later (a campaign, a lost customer, a price rise); those show as variances.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from core.months import add_months, financial_year_start, month_key
from integrations.xero.sandbox.model import (
    SandboxBudget,
    SandboxTrackingCategory,
    SandboxTrackingOption,
)
from integrations.xero.sandbox.orgs.builder import ZERO, OrgBuilder, whole_units
from integrations.xero.sandbox.orgs.ledger import Actuals, profit_and_loss_by_month


@dataclass(frozen=True)
class BudgetPlan:
    growth: Decimal  # year-on-year growth for every account not listed in account_growth
    account_growth: Mapping[str, Decimal] = field(default_factory=dict)  # by account code
    # Accounts planned as a flat twelfth of last year, whatever their seasonality.
    flat_codes: frozenset[str] = frozenset()
    # Accounts planned to keep last year's growth rate (rounded to a whole percent).
    trend_codes: frozenset[str] = frozenset()
    # Accounts nobody budgets for (currency gains, for example).
    skip_codes: frozenset[str] = frozenset()
    notes: Mapping[str, str] = field(default_factory=dict)  # by account code, on the first month


def budget_months(builder: OrgBuilder, year_end_month: int) -> list[dt.date]:
    """From the start of the financial year that holds the last closed month, whole years
    until at least twelve months after the current one."""
    start = financial_year_start(builder.last_closed, end_month=year_end_month)
    horizon = add_months(builder.current_month, 12)
    months: list[dt.date] = []
    while not months or months[-1] < horizon:
        months += [add_months(start, len(months) + offset) for offset in range(12)]
    return months


def add_overall_budget(
    builder: OrgBuilder, *, year_end_month: int, plan: BudgetPlan
) -> SandboxBudget:
    actuals = profit_and_loss_by_month(builder.accounts, builder.documents, builder.journals)
    budget = _budget(
        builder,
        year_end_month=year_end_month,
        plan=plan,
        actuals=actuals,
        type_="OVERALL",
        description="Overall Budget",
        tracking=[],
    )
    builder.budgets.append(budget)
    return budget


def add_tracking_budget(
    builder: OrgBuilder,
    *,
    year_end_month: int,
    plan: BudgetPlan,
    category: SandboxTrackingCategory,
    option: SandboxTrackingOption,
    actuals: Actuals,
) -> SandboxBudget:
    """A budget for one tracking option, planned from `actuals`, the option's own lines
    (see ledger.profit_and_loss_by_option)."""
    budget = _budget(
        builder,
        year_end_month=year_end_month,
        plan=plan,
        actuals=actuals,
        type_="TRACKING",
        description=f"{option.name} Budget",
        tracking=[(category.category_id, option.option_id)],
    )
    builder.budgets.append(budget)
    return budget


def _budget(
    builder: OrgBuilder,
    *,
    year_end_month: int,
    plan: BudgetPlan,
    actuals: Actuals,
    type_: str,
    description: str,
    tracking: list[tuple[str, str]],
) -> SandboxBudget:
    months = budget_months(builder, year_end_month)
    baseline_year = [month_key(add_months(months[0], offset - 12)) for offset in range(12)]
    lines: dict[str, dict[str, Decimal]] = {}
    notes: dict[tuple[str, str], str] = {}
    for account in builder.accounts:
        history = actuals.get(account.account_id)
        if history is None or account.code in plan.skip_codes:
            continue
        last_year = [history.get(period, ZERO) for period in baseline_year]
        if not any(last_year):
            continue
        factor = 1 + plan.account_growth.get(account.code, plan.growth)
        if account.code in plan.trend_codes:
            factor = _last_year_growth(history, months[0])
        if account.code in plan.flat_codes:
            last_year = [sum(last_year, ZERO) / 12] * 12
        planned: list[Decimal] = []
        for index in range(len(months)):
            previous = last_year[index] if index < 12 else planned[index - 12]
            planned.append(whole_units(previous * factor))
        lines[account.account_id] = {
            month_key(month): amount for month, amount in zip(months, planned, strict=True)
        }
        note = plan.notes.get(account.code)
        if note:
            notes[(account.account_id, month_key(months[0]))] = note
    return SandboxBudget(
        budget_id=builder.new_id(),
        type=type_,
        description=description,
        lines=lines,
        tracking=tracking,
        notes=notes,
        updated_utc=dt.datetime.combine(months[0] - dt.timedelta(days=17), dt.time(3, 12)),
    )


def _last_year_growth(history: dict[str, Decimal], budget_start: dt.date) -> Decimal:
    last_year = sum(
        (history.get(month_key(add_months(budget_start, n)), ZERO) for n in range(-12, 0)), ZERO
    )
    year_before = sum(
        (history.get(month_key(add_months(budget_start, n)), ZERO) for n in range(-24, -12)), ZERO
    )
    if year_before <= 0:
        return Decimal(1)
    return (last_year / year_before).quantize(Decimal("0.01"))
