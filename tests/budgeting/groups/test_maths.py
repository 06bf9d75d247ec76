"""The consolidation maths: members translated into the group's currency, summed line by line,
intercompany pairs eliminated. Pure: no database."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgeting.groups.maths import (
    ConsolidationError,
    Elimination,
    Member,
    MissingRates,
    balances_window,
    consolidate,
    translate,
)
from budgeting.variance.maths import AccountBalances, Section, variance_for_period

SEPTEMBER = dt.date(2026, 9, 1)
OCTOBER = dt.date(2026, 10, 1)
D = Decimal


def _account(account_id, code, name, type_, class_, actuals, budgets=None):
    return AccountBalances(
        account_id=account_id,
        code=code,
        name=name,
        account_type=type_,
        account_class=class_,
        actuals={OCTOBER: D(actuals)},
        budgets={OCTOBER: D(budgets if budgets is not None else actuals)},
    )


def _parent():
    # Harbour Holdings, in NZD: sales and rent, and the fee it charges its Australian arm.
    return Member(
        key="parent",
        name="Harbour Holdings",
        currency="NZD",
        balances=[
            _account("p-sales", "200", "Sales", "REVENUE", "REVENUE", "10000.00", "9000.00"),
            _account("p-rent", "469", "Rent", "EXPENSE", "EXPENSE", "2000.00", "2000.00"),
            _account("p-fee", "260", "Management Fees", "REVENUE", "REVENUE", "1000.00"),
        ],
    )


def _subsidiary(fee="920.00"):
    # Harbour Australia, in AUD: sales on the same code, and the fee it pays the parent.
    return Member(
        key="sub",
        name="Harbour Australia",
        currency="AUD",
        balances=[
            _account("s-sales", "200", "Sales", "REVENUE", "REVENUE", "4600.00", "4140.00"),
            _account("s-fee", "480", "Management Fees", "EXPENSE", "EXPENSE", fee, "920.00"),
        ],
    )


RATES = {("AUD", OCTOBER): D("0.92")}
FEES = Elimination(
    key="1",
    name="Management fees",
    income_member="parent",
    income_account="p-fee",
    expense_member="sub",
    expense_account="s-fee",
)


def test_a_member_is_translated_at_its_rate_and_added_to_the_same_line():
    group = consolidate(
        members=[_parent(), _subsidiary()],
        reporting_currency="NZD",
        actual_rates=RATES,
        budget_rates={("AUD", OCTOBER): D("0.90")},
    )

    sales = group.line("REVENUE:200")
    # A$4,600 at 0.92 is NZ$5,000; the budget's A$4,140 at 0.90 is NZ$4,600.
    assert sales.members["sub"].actuals[OCTOBER] == D("5000.00")
    assert sales.members["sub"].budgets[OCTOBER] == D("4600.00")
    assert sales.balances.actuals[OCTOBER] == D("15000.00")
    assert sales.balances.budgets[OCTOBER] == D("13600.00")


def test_a_balanced_intercompany_pair_leaves_the_group_profit_without_either_side():
    group = consolidate(
        members=[_parent(), _subsidiary()],
        reporting_currency="NZD",
        actual_rates=RATES,
        budget_rates=RATES,
        eliminations=[FEES],
    )

    assert group.line("REVENUE:260").balances.actuals[OCTOBER] == D("0.00")
    assert group.line("EXPENSE:480").balances.actuals[OCTOBER] == D("0.00")
    (check,) = group.eliminations
    assert check.difference(first=OCTOBER, last=OCTOBER) == D("0.00")
    report = variance_for_period(
        lines=group.balances, period=OCTOBER, financial_year_end_month=3, financial_year_end_day=31
    )
    net = next(t for t in report.totals if t.section is Section.NET_PROFIT)
    # 10,000 + 5,000 sales less 2,000 rent: the fee is inside the group, not profit.
    assert net.month.actual == D("13000.00")


def test_a_pair_that_does_not_balance_says_by_how_much():
    group = consolidate(
        members=[_parent(), _subsidiary(fee="874.00")],
        reporting_currency="NZD",
        actual_rates=RATES,
        budget_rates=RATES,
        eliminations=[FEES],
    )

    (check,) = group.eliminations
    # A$874 at 0.92 is NZ$950: the parent booked NZ$1,000, so NZ$50 does not balance.
    assert check.difference(first=OCTOBER, last=OCTOBER) == D("50.00")
    assert check.difference(first=OCTOBER, last=OCTOBER, budget=True) == D("0.00")


def test_a_month_with_an_amount_and_no_rate_is_refused_with_every_such_month():
    subsidiary = _subsidiary()
    late = Member(
        key="sub",
        name="Harbour Australia",
        currency="AUD",
        balances=[
            AccountBalances(
                account_id="s-sales",
                code="200",
                name="Sales",
                account_type="REVENUE",
                account_class="REVENUE",
                actuals={SEPTEMBER: D("0.00"), OCTOBER: D("4600.00")},
                budgets={OCTOBER: D("4140.00")},
            ),
            *subsidiary.balances[1:],
        ],
    )

    with pytest.raises(MissingRates) as refused:
        consolidate(
            members=[_parent(), late],
            reporting_currency="NZD",
            actual_rates={},
            budget_rates=RATES,
        )

    # September's zero needs no rate; October's actual does.
    assert refused.value.missing == (("AUD", OCTOBER, "actual"),)
    assert "AUD 2026-10 (actual)" in str(refused.value)


def test_a_pair_of_one_member_or_the_wrong_way_round_is_refused():
    same = Elimination("2", "Own fees", "parent", "p-fee", "parent", "p-rent")
    backwards = Elimination("3", "Backwards", "parent", "p-rent", "sub", "s-fee")

    with pytest.raises(ConsolidationError, match="same member"):
        consolidate(
            members=[_parent(), _subsidiary()],
            reporting_currency="NZD",
            actual_rates=RATES,
            budget_rates=RATES,
            eliminations=[same],
        )
    with pytest.raises(ConsolidationError, match="Rent is not an income account"):
        consolidate(
            members=[_parent(), _subsidiary()],
            reporting_currency="NZD",
            actual_rates=RATES,
            budget_rates=RATES,
            eliminations=[backwards],
        )


def test_a_rate_of_zero_or_below_is_refused():
    with pytest.raises(ConsolidationError):
        translate(D("100.00"), D("0"))
    with pytest.raises(ConsolidationError):
        translate(D("100.00"), D("-1.2"))
    assert translate(D("100.00"), D("0.92")) == D("108.70")


def test_the_window_keeps_only_the_months_shown():
    account = AccountBalances(
        account_id="a",
        code="200",
        name="Sales",
        account_type="REVENUE",
        account_class="REVENUE",
        actuals={SEPTEMBER: D("1.00"), OCTOBER: D("2.00")},
        budgets={SEPTEMBER: D("3.00")},
    )

    kept = balances_window(account, first=OCTOBER, last=OCTOBER)

    assert kept.actuals == {OCTOBER: D("2.00")} and kept.budgets == {}


amounts = st.decimals(min_value=D("-50000"), max_value=D("50000"), places=2, allow_nan=False)
rates = st.decimals(min_value=D("0.1"), max_value=D("5"), places=6, allow_nan=False)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(amounts, amounts), min_size=6, max_size=6),
    rates,
    rates,
    st.booleans(),
)
def test_every_total_ties_to_the_cent_to_what_the_drill_down_shows(figures, rate, budget_rate, fx):
    chart = [
        ("200", "Sales", "REVENUE", "REVENUE"),
        ("310", "Cost of Goods Sold", "DIRECTCOSTS", "EXPENSE"),
        ("469", "Rent", "EXPENSE", "EXPENSE"),
    ]
    members = []
    for index, key in enumerate(("parent", "sub")):
        members.append(
            Member(
                key=key,
                name=key,
                currency="NZD" if index == 0 or not fx else "AUD",
                balances=[
                    AccountBalances(
                        account_id=f"{key}-{code}",
                        code=code,
                        name=name,
                        account_type=type_,
                        account_class=class_,
                        actuals={OCTOBER: figures[index * 3 + n][0]},
                        budgets={OCTOBER: figures[index * 3 + n][1]},
                    )
                    for n, (code, name, type_, class_) in enumerate(chart)
                ],
            )
        )
    pair = Elimination("1", "Recharge", "parent", "parent-200", "sub", "sub-469")

    group = consolidate(
        members=members,
        reporting_currency="NZD",
        actual_rates={("AUD", OCTOBER): rate},
        budget_rates={("AUD", OCTOBER): budget_rate},
        eliminations=[pair],
    )
    report = variance_for_period(
        lines=group.balances, period=OCTOBER, financial_year_end_month=3, financial_year_end_day=31
    )

    for line in group.lines:
        for month in (OCTOBER,):
            parts = sum((m.actuals[month] for m in line.members.values()), D(0))
            parts += line.eliminated.actuals.get(month, D(0))
            assert line.balances.actuals[month] == parts
    # The group's net profit is every member's translated profit, less what was eliminated.
    translated = sum(
        (
            (a.actuals[OCTOBER] if a.account_class == "REVENUE" else -a.actuals[OCTOBER])
            for accounts in group.translated.values()
            for a in accounts
        ),
        D(0),
    )
    (check,) = group.eliminations
    net = next(t for t in report.totals if t.section is Section.NET_PROFIT)
    assert net.month.actual == translated - check.difference(first=OCTOBER, last=OCTOBER)
    assert net.month.actual == net.month.actual.quantize(D("0.01"))
