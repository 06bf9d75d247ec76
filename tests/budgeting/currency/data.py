"""An importer with foreign-currency bills, made directly in the database: pounds as base,
stock bought in US dollars and euros, sales in pounds, and a realised currency loss.

October 2026, the last closed month (financial year April to March):
- Cost of Goods Sold (310): budget £20,000. Bills: US$26,000 at 1.20 dollars a pound
  (£21,666.67) and €5,850 at 1.17 (£5,000.00), actual £26,666.67. Budget rates 1.30 and 1.17,
  so the dollars cost £1,666.67 more than budgeted (the weaker pound), the euros nothing, and the
  rest, £5,000.00, is volume: variance £6,666.67 = 5,000.00 + 1,666.67.
- Sales (200): £40,000 against £40,000, in pounds only: no currency split.
- Realised Currency Gains (499): a £312.40 loss against no budget: all currency gains and losses.
- Freight (320): £1,200 actual of which £1,000 is in the synced lines: £200 remainder shown.
September: Cost of Goods Sold £20,400, US$25,600 in two bills (an average of 1.254902).
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
    TransactionLine,
    XeroOrganisation,
)
from core.months import add_months

OCTOBER = dt.date(2026, 10, 1)
D = Decimal

# (code, name, type, system account, actual October, budget every month)
ACCOUNTS = [
    ("200", "Sales", "REVENUE", "", "40000.00", "40000.00"),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "", "26666.67", "20000.00"),
    ("320", "Inbound Freight", "DIRECTCOSTS", "", "1200.00", "1200.00"),
    ("499", "Realised Currency Gains", "OVERHEADS", "REALISEDCURRENCYGAIN", "312.40", "0"),
]


@dataclass
class Importer:
    profile: XeroOrganisation
    accounts: dict[str, Account]
    budget: Budget


def importer_create(*, firm, organisation) -> Importer:
    owned = {"firm": firm, "organisation": organisation}
    profile = XeroOrganisation.objects.create(
        **owned,
        xero_organisation_id=f"org-{organisation.pk}",
        name=organisation.name,
        base_currency="GBP",
        country_code="GB",
        financial_year_end_day=31,
        financial_year_end_month=3,
        period_lock_date=dt.date(2026, 10, 31),
    )
    budget = Budget.objects.create(
        **owned, budget_id="budget-overall", type=Budget.Type.OVERALL, description="Overall"
    )
    accounts = {}
    months = [add_months(dt.date(2026, 4, 1), i) for i in range(12)]  # April 2026..March 2027
    for code, name, account_type, system, actual, budgeted in ACCOUNTS:
        account_class = "REVENUE" if account_type == "REVENUE" else "EXPENSE"
        account = Account.objects.create(
            **owned,
            account_id=f"acc-{code}",
            code=code,
            name=name,
            type=account_type,
            account_class=account_class,
            system_account=system,
        )
        accounts[code] = account
        line = BudgetLine.objects.create(**owned, budget=budget, account=account)
        BudgetBalance.objects.bulk_create(
            BudgetBalance(**owned, budget_line=line, period=month, amount=D(budgeted))
            for month in months
        )
        ActualBalance.objects.create(**owned, account=account, period=OCTOBER, amount=D(actual))

    def line(
        code, number, currency, foreign, rate, base, date=dt.date(2026, 10, 14), kind="ACCPAY"
    ):
        TransactionLine.objects.create(
            **owned,
            document_type=kind,
            document_id=f"doc-{number}",
            document_number=number,
            line_id=f"line-{number}",
            date=date,
            account=accounts[code],
            contact_name="Shenzhen Brightstar Trading"
            if currency == "USD"
            else "Cerâmica do Norte",
            description="Stock",
            amount=D(base),
            line_amount=D(foreign),
            line_amount_types="Exclusive",
            currency_code=currency,
            currency_rate=D(rate),
        )

    line("310", "BILL-1", "USD", "26000.00", "1.2", "21666.67")
    line("310", "BILL-2", "EUR", "5850.00", "1.17", "5000.00", date=dt.date(2026, 10, 20))
    line("200", "INV-1", "GBP", "40000.00", "1", "40000.00", kind="ACCREC")
    line("320", "BILL-3", "GBP", "1000.00", "1", "1000.00")
    line("499", "SPEND-1", "GBP", "312.40", "1", "312.40", kind="SPEND")
    # September, for the average rate: US$13,000 at 1.25 and US$12,600 at 1.26 (£20,400.00).
    line("310", "BILL-4", "USD", "13000.00", "1.25", "10400.00", date=dt.date(2026, 9, 10))
    line("310", "BILL-5", "USD", "12600.00", "1.26", "10000.00", date=dt.date(2026, 9, 24))
    ActualBalance.objects.create(
        **owned, account=accounts["310"], period=add_months(OCTOBER, -1), amount=D("20400.00")
    )
    return Importer(profile=profile, accounts=accounts, budget=budget)
