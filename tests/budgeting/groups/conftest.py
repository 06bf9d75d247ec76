"""A group of two synced organisations of firm A: Harbour Lane Café (NZD, the parent) and
Harbour Lane Sydney (AUD), each with the variance tests' twelve months to October 2026, a
management fee between them, and budget rates of A$0.80 to NZ$1 for the financial year."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django_scopes import scope

from budgeting.groups import services
from budgeting.models import (
    Account,
    ActualBalance,
    ClientGroup,
    GroupTranslationRate,
    XeroOrganisation,
)
from core.months import add_months
from tests.budgeting.variance_data import OCTOBER, variance_organisation_create
from tests.factories import client_organisation_create

APRIL = dt.date(2026, 4, 1)
RATE = Decimal("0.80")


@dataclass
class GroupData:
    group: ClientGroup
    parent: object
    sydney: object
    fee_income: Account
    fee_expense: Account


def _fee(firm, organisation, *, code, name, type_, class_, amount) -> Account:
    account = Account.objects.create(
        firm=firm,
        organisation=organisation,
        account_id=f"acc-{code}-{organisation.pk}",
        code=code,
        name=name,
        type=type_,
        account_class=class_,
    )
    ActualBalance.objects.create(
        firm=firm, organisation=organisation, account=account, period=OCTOBER, amount=amount
    )
    return account


def group_data_create(cast, *, sydney_fee=Decimal("800.00")) -> GroupData:
    firm = cast.firm
    with scope(firm=firm):
        parent = cast.organisation
        variance_organisation_create(firm=firm, organisation=parent)
        sydney = client_organisation_create(firm=firm, name="Harbour Lane Sydney")
        variance_organisation_create(firm=firm, organisation=sydney)
        XeroOrganisation.objects.filter(organisation=sydney).update(base_currency="AUD")
        sydney.base_currency = "AUD"
        sydney.save()
        fee_income = _fee(
            firm, parent, code="260", name="Management Fees Received", type_="REVENUE",
            class_="REVENUE", amount=Decimal("1000.00"),
        )  # fmt: skip
        fee_expense = _fee(
            firm, sydney, code="480", name="Management Fees Paid", type_="EXPENSE",
            class_="EXPENSE", amount=sydney_fee,
        )  # fmt: skip
        group = services.group_create(
            firm=firm,
            name="Harbour Lane Group",
            reporting_currency="NZD",
            organisation_ids=[parent.pk, sydney.pk],
            parent_id=parent.pk,
        )
        month = APRIL
        while month <= OCTOBER:
            GroupTranslationRate.objects.create(
                firm=firm, group=group, currency="AUD", period=month, basis="budget", rate=RATE
            )
            month = add_months(month, 1)
    return GroupData(group, parent, sydney, fee_income, fee_expense)


@pytest.fixture
def group_data(firm_a) -> GroupData:
    return group_data_create(firm_a)
