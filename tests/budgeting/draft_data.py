"""A client organisation with two years of actuals and a budget that runs a year ahead, made
directly in the database for forecast draft tests that do not need a whole sync.

Locked to October 2026 (so the draft starts in November), NZD, financial year ending March.
- Sales (200): on budget, every month: no suggestion.
- Advertising (400): 3,000 a month and on budget, but October had a 4,100 campaign: a material
  variance last month, so a suggestion (trigger "variance").
- Rent (469): 6,000 a month since the lease changed, on budget so far; the budget from November
  drops back to 5,000: the forecast leaves the budget (trigger "forecast").
- Interest Income (270): 100 a month against 60: 40% off, but under the 500 floor: nothing.
- Sales for the North option: 20,000 a month, its tracking budget 15,000 from November.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from budgeting.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    TrackingCategory,
    TrackingOption,
    XeroOrganisation,
)
from core.months import add_months

OCTOBER = dt.date(2026, 10, 1)
NOVEMBER = dt.date(2026, 11, 1)
HISTORY = 24
AHEAD = 12

# (code, name, type, actual, budget so far, budget from November)
ACCOUNTS = [
    ("200", "Sales", "REVENUE", "50000", "50000", "50000"),
    ("270", "Interest Income", "OTHERINCOME", "100", "60", "60"),
    ("400", "Advertising", "EXPENSE", "3000", "3000", "3000"),
    ("469", "Rent", "EXPENSE", "6000", "6000", "5000"),
]
CAMPAIGN = Decimal("4100.00")


@dataclass
class DraftOrganisation:
    profile: XeroOrganisation
    accounts: dict[str, Account]
    option: TrackingOption
    overall: Budget
    north: Budget


def _wiggle(month: dt.date, amount: Decimal) -> Decimal:
    # A little month-to-month noise, the same on every run, so the engine has errors to learn.
    step = (month.month * 7 + month.year) % 5 - 2  # -2..2
    return (amount * (1 + Decimal(step) / 400)).quantize(Decimal("0.01"))


def draft_organisation_create(*, firm, organisation) -> DraftOrganisation:
    owned = {"firm": firm, "organisation": organisation}
    profile = XeroOrganisation.objects.create(
        **owned,
        xero_organisation_id=f"org-{organisation.pk}",
        name=organisation.name,
        base_currency="NZD",
        financial_year_end_day=31,
        financial_year_end_month=3,
        period_lock_date=dt.date(2026, 10, 31),
    )
    category = TrackingCategory.objects.create(**owned, category_id="cat-1", name="Region")
    option = TrackingOption.objects.create(
        **owned, category=category, option_id="opt-north", name="North"
    )
    overall = Budget.objects.create(
        **owned, budget_id="budget-overall", type=Budget.Type.OVERALL, description="Overall"
    )
    north = Budget.objects.create(
        **owned,
        budget_id="budget-north",
        type=Budget.Type.TRACKING,
        description="North",
        tracking_option=option,
    )
    history = [add_months(OCTOBER, -i) for i in range(HISTORY - 1, -1, -1)]
    ahead = [add_months(OCTOBER, i) for i in range(1, AHEAD + 1)]
    accounts, actuals, balances = {}, [], []
    for code, name, account_type, actual, budget_then, budget_ahead in ACCOUNTS:
        account_class = "REVENUE" if account_type in ("REVENUE", "OTHERINCOME") else "EXPENSE"
        account = Account.objects.create(
            **owned,
            account_id=f"acc-{code}",
            code=code,
            name=name,
            type=account_type,
            account_class=account_class,
        )
        accounts[code] = account
        line = BudgetLine.objects.create(**owned, budget=overall, account=account)
        for month in history:
            amount = _wiggle(month, Decimal(actual)) if code != "270" else Decimal(actual)
            if month == OCTOBER and code == "400":
                amount = Decimal(actual) + CAMPAIGN
            actuals.append(ActualBalance(**owned, account=account, period=month, amount=amount))
            balances.append(
                BudgetBalance(**owned, budget_line=line, period=month, amount=Decimal(budget_then))
            )
        for month in ahead:
            balances.append(
                BudgetBalance(**owned, budget_line=line, period=month, amount=Decimal(budget_ahead))
            )
    north_line = BudgetLine.objects.create(**owned, budget=north, account=accounts["200"])
    for month in history:
        actuals.append(
            ActualBalance(
                **owned,
                account=accounts["200"],
                tracking_option=option,
                period=month,
                amount=_wiggle(month, Decimal("20000")),
            )
        )
        balances.append(
            BudgetBalance(**owned, budget_line=north_line, period=month, amount=Decimal("20000"))
        )
    for month in ahead:
        balances.append(
            BudgetBalance(**owned, budget_line=north_line, period=month, amount=Decimal("15000"))
        )
    ActualBalance.objects.bulk_create(actuals)
    BudgetBalance.objects.bulk_create(balances)
    return DraftOrganisation(
        profile=profile, accounts=accounts, option=option, overall=overall, north=north
    )
