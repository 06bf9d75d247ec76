"""Recomputing a scenario and comparing five take a fixed number of queries, however many
accounts and months: what keeps them fast on the largest organisation."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgeting.models import Account, BudgetBalance, BudgetLine
from budgeting.scenarios import services
from budgeting.scenarios.selectors import (
    scenario_compare,
    scenario_compute,
    scenario_sentence_read,
)
from core.months import add_months
from tenants.roles import Role
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create


def _queries(work) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured.captured_queries)


def _scenario(cast, data, months):
    scenario = services.scenario_create(
        firm=cast.firm,
        organisation=cast.organisation,
        name=f"{months} months",
        first_period=NOVEMBER,
        months=months,
        base_budget=data.overall,
        user=cast.member(Role.PREPARER).user,
    )
    read = scenario_sentence_read(
        firm=cast.firm, scenario=scenario, sentence="sales up 10% and overheads down 2%"
    )
    services.scenario_adjustments_add(
        firm=cast.firm,
        scenario=scenario,
        adjustments=[a.adjustment for a in read.adjustments],
        user=None,
    )
    return scenario


def test_queries_do_not_grow_with_accounts_or_months(firm_a):
    cast = firm_a
    data = draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    small = _scenario(cast, data, 3)
    few = _queries(lambda: scenario_compute(firm=cast.firm, scenario=small))
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    for n in range(30):
        account = Account.objects.for_firm(cast.firm).create(
            **owned,
            account_id=f"extra-{n}",
            code=f"5{n:02d}",
            name=f"Overhead {n}",
            type="OVERHEADS",
            account_class="EXPENSE",
        )
        line = BudgetLine.objects.for_firm(cast.firm).create(
            **owned, budget=data.overall, account=account
        )
        BudgetBalance.objects.for_firm(cast.firm).bulk_create(
            BudgetBalance(
                **owned, budget_line=line, period=add_months(NOVEMBER, i), amount=Decimal("100")
            )
            for i in range(12)
        )
    large = _scenario(cast, data, 12)
    many = _queries(lambda: scenario_compute(firm=cast.firm, scenario=large))
    assert many == few
    one = _queries(
        lambda: scenario_compare(
            firm=cast.firm, organisation=cast.organisation, scenario_ids=[small.pk]
        )
    )
    others = [_scenario(cast, data, 12).pk for _ in range(3)]
    five = _queries(
        lambda: scenario_compare(
            firm=cast.firm,
            organisation=cast.organisation,
            scenario_ids=[small.pk, large.pk, *others],
        )
    )
    two = _queries(
        lambda: scenario_compare(
            firm=cast.firm, organisation=cast.organisation, scenario_ids=[small.pk, large.pk]
        )
    )
    # Each scenario's base, actuals and adjustments: the same few more for each one compared.
    assert 0 < two - one <= 3
    assert five - one == 4 * (two - one)
