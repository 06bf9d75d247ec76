"""Variance facts built by hand for the narrative tests: an account whose actuals are the
synced lines of a few contacts, month by month, and what the local narrative makes of them."""

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from budgeting.variance.maths import AccountBalances, Period
from budgeting.variance.narratives.facts import TransactionLine, VarianceFacts, variance_facts_build
from budgeting.variance.narratives.local import LocalNarrativeGenerator
from core.months import add_months

SEPTEMBER = dt.date(2025, 9, 1)
OCTOBER = dt.date(2025, 10, 1)


def build_facts(
    *,
    name: str,
    account_type: str,
    budget: str,
    contacts: dict[str, tuple[str, list[str]]],
    period: Period = SEPTEMBER,
    unsynced: str = "0",
    unsynced_before: str = "0",
    last_year: str | None = None,
    person_names: tuple[str, ...] = (),
    contact_names: tuple[str, ...] = (),
    emails: tuple[str, ...] = (),
    synced_from: Period | None = None,
    shuffle_seed: int | None = None,
) -> VarianceFacts:
    """An account whose actuals are its synced lines: `contacts` maps a contact name to a
    (description, seven monthly amounts) pair, the six months before `period` then `period`.
    `unsynced` adds money to the period's actual that no synced line carries (a journal), and
    `unsynced_before` the same to each month before."""
    account_class = "REVENUE" if account_type in ("SALES", "REVENUE", "OTHERINCOME") else "EXPENSE"
    document_type = "ACCREC" if account_class == "REVENUE" else "ACCPAY"
    months = [add_months(period, offset) for offset in range(-6, 1)]
    lines = [
        TransactionLine(
            date=month.replace(day=10 + i),
            contact_name=contact,
            description=description,
            amount=Decimal(amount),
            document_type=document_type,
            document_number=f"{document_type[-3:]}-{month:%y%m}-{i}",
        )
        for i, (contact, (description, amounts)) in enumerate(contacts.items())
        for month, amount in zip(months, amounts, strict=True)
        if Decimal(amount) != 0
    ]
    actuals = {
        month: sum((line.amount for line in lines if line.date.replace(day=1) == month), Decimal(0))
        for month in months
    }
    for month in months:
        actuals[month] += Decimal(unsynced if month == period else unsynced_before)
    if last_year is not None:
        actuals[add_months(period, -12)] = Decimal(last_year)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(lines)
    account = AccountBalances(
        account_id="acc-1",
        code="400",
        name=name,
        account_type=account_type,
        account_class=account_class,
        actuals=actuals,
        budgets={month: Decimal(budget) for month in months},
    )
    return variance_facts_build(
        account=account,
        period=period,
        currency_code="NZD",
        transactions=lines,
        synced_from=synced_from,
        person_names=person_names,
        contact_names=contact_names,
        emails=emails,
    )


def campaign_facts(**kwargs: Any) -> VarianceFacts:
    return build_facts(
        name="Marketing",
        account_type="EXPENSE",
        budget="11000",
        contacts={
            "Google Ads": ("Search ads", ["8000"] * 6 + ["8100"]),
            "Hootsuite": ("Social media plan", ["3000"] * 7),
            "Brightwave Media": ("Autumn campaign", ["0"] * 6 + ["4100"]),
        },
        last_year="10500",
        **kwargs,
    )


def explain(facts: VarianceFacts):
    return LocalNarrativeGenerator().explain(facts)
