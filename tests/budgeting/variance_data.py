"""A small client organisation's synced data, made directly in the database for variance tests
that do not need a whole sync: accounts, an overall budget, monthly actuals and transactions."""

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
    TransactionLine,
    XeroOrganisation,
)
from core.months import add_months

OCTOBER = dt.date(2026, 10, 1)
# A quiet month of each account, and its budget: (code, name, type, actual, budget).
ACCOUNTS = [
    ("200", "Sales", "REVENUE", "50000", "48000"),
    ("270", "Interest Income", "OTHERINCOME", "100", "100"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "20000", "20000"),
    ("400", "Advertising", "EXPENSE", "3000", "3000"),
    ("469", "Rent", "EXPENSE", "5000", "5000"),
]
# Advertising's October: a one-off campaign on top of the usual Google Ads (3,000 a month).
CAMPAIGN = Decimal("4100.00")
# Rent's October: a journal (no transaction lines) that the data cannot explain.
RENT_JOURNAL = Decimal("2500.00")


@dataclass
class VarianceOrganisation:
    profile: XeroOrganisation
    accounts: dict[str, Account]
    option: TrackingOption


def variance_organisation_create(
    *, firm, organisation, extra_accounts: int = 0, synced_at=None
) -> VarianceOrganisation:
    """Twelve months to October 2026 (financial year ending 31 March, NZD), locked to October.

    `extra_accounts` adds expense accounts with steady actuals and budgets, for query counts.
    """
    owned = {"firm": firm, "organisation": organisation}
    profile = XeroOrganisation.objects.create(
        **owned,
        xero_organisation_id=f"org-{organisation.pk}",
        name=organisation.name,
        base_currency="NZD",
        financial_year_end_day=31,
        financial_year_end_month=3,
        period_lock_date=dt.date(2026, 10, 31),
        synced_at=synced_at or dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC),
    )
    category = TrackingCategory.objects.create(**owned, category_id="cat-1", name="Region")
    option = TrackingOption.objects.create(
        **owned, category=category, option_id="opt-north", name="North"
    )
    budget = Budget.objects.create(
        **owned, budget_id="budget-overall", type=Budget.Type.OVERALL, description="Overall"
    )
    rows = list(ACCOUNTS) + [
        (f"5{i:03d}", f"Overhead {i:03d}", "OVERHEADS", "1000", "1000")
        for i in range(extra_accounts)
    ]
    accounts = {}
    months = [add_months(OCTOBER, -i) for i in range(11, -1, -1)]
    actuals, balances = [], []
    for code, name, account_type, actual, budgeted in rows:
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
        line = BudgetLine.objects.create(**owned, budget=budget, account=account)
        for month in months:
            amount = Decimal(actual)
            if month == OCTOBER and code == "400":
                amount += CAMPAIGN
            if month == OCTOBER and code == "469":
                amount += RENT_JOURNAL
            actuals.append(ActualBalance(**owned, account=account, period=month, amount=amount))
            balances.append(
                BudgetBalance(**owned, budget_line=line, period=month, amount=Decimal(budgeted))
            )
    ActualBalance.objects.bulk_create(actuals)
    BudgetBalance.objects.bulk_create(balances)
    transactions = []
    for month in months[-6:]:
        transactions.append(
            TransactionLine(
                **owned,
                document_type="ACCPAY",
                document_id=f"bill-ads-{month:%Y%m}",
                document_number=f"ADS-{month:%Y%m}",
                line_id="1",
                date=month.replace(day=12),
                account=accounts["400"],
                contact_name="Google Ads",
                description="Search ads",
                amount=Decimal("3000.00"),
            )
        )
        transactions.append(
            TransactionLine(
                **owned,
                document_type="ACCPAY",
                document_id=f"bill-rent-{month:%Y%m}",
                document_number=f"RENT-{month:%Y%m}",
                line_id="1",
                date=month.replace(day=1),
                account=accounts["469"],
                contact_name="Quay Properties",
                description="Rent",
                amount=Decimal("5000.00"),
            )
        )
    transactions.append(
        TransactionLine(
            **owned,
            document_type="ACCPAY",
            document_id="bill-brightwave",
            document_number="BW-0042",
            line_id="1",
            date=OCTOBER.replace(day=20),
            account=accounts["400"],
            contact_name="Brightwave Media",
            description="Spring campaign",
            amount=CAMPAIGN,
            tracking_option=option,
        )
    )
    TransactionLine.objects.bulk_create(transactions)
    return VarianceOrganisation(profile=profile, accounts=accounts, option=option)
