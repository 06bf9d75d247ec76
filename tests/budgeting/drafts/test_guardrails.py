"""The policy layer's rules, each with a line that breaks it and one that keeps to it."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.drafts.guardrails import (
    DEFAULT_POLICY,
    Policy,
    PolicyLine,
    PolicyMonth,
    figure_problem,
    policy_checks,
    policy_evaluate_line,
)

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
RENT, SALES = 469, 200


def line(
    *months, account_id=RENT, account_class="EXPENSE", option=None, largest=None, lowest=None
) -> PolicyLine:
    return PolicyLine(
        largest_actual=None if largest is None else Decimal(largest),
        lowest_actual=None if lowest is None else Decimal(lowest),
        account_id=account_id,
        account_class=account_class,
        account_type="EXPENSE" if account_class == "EXPENSE" else "REVENUE",
        tracking_option_id=option,
        months=[
            PolicyMonth(
                period=period, original=None if o is None else Decimal(o), proposed=Decimal(p)
            )
            for period, o, p in months
        ],
    )


def rules(result) -> list[str]:
    return [v.rule for v in result.violations]


def test_all_accounts_scope_allows_every_line():
    policy = Policy(scope="all")
    assert policy.allows_drafts
    assert policy_evaluate_line(policy, line((NOV, "5000", "6000"))).ok


def test_read_only_scope_allows_no_draft_and_no_line():
    policy = Policy(scope="read_only")
    assert not policy.allows_drafts
    assert not policy.in_scope(account_id=RENT, tracking_option_id=None)
    assert rules(policy_evaluate_line(policy, line((NOV, "5000", "5000")))) == ["scope"]


def test_assisted_scope_covers_chosen_accounts_and_options_only():
    policy = Policy(scope="assisted", account_ids=frozenset({RENT}), tracking_option_ids={7})
    assert policy.in_scope(account_id=RENT, tracking_option_id=None)
    assert policy.in_scope(account_id=RENT, tracking_option_id=3)  # the account, any option
    assert policy.in_scope(account_id=SALES, tracking_option_id=7)  # any account of the option
    assert not policy.in_scope(account_id=SALES, tracking_option_id=None)
    assert not policy.in_scope(account_id=SALES, tracking_option_id=3)
    assert policy_evaluate_line(policy, line((NOV, "5000", "6000"))).ok
    outside = policy_evaluate_line(
        policy, line((NOV, "5000", "6000"), account_id=SALES, account_class="REVENUE")
    )
    assert rules(outside) == ["scope"]


def test_account_cap():
    policy = Policy(account_caps={RENT: Decimal("6500")})
    broken = policy_evaluate_line(policy, line((NOV, "5000", "6000"), (DEC, "5000", "7000")))
    assert rules(broken) == ["account_cap"]
    assert broken.violations[0].period == DEC
    assert "Dec 2026" in broken.violations[0].message and "6,500.00" in broken.violations[0].message
    assert policy_evaluate_line(policy, line((NOV, "5000", "6500"))).ok
    # Another account's cap does not apply.
    assert policy_evaluate_line(policy, line((NOV, "0", "9000"), account_id=SALES)).ok


def test_class_cap():
    policy = Policy(class_caps={"EXPENSE": Decimal("10000")})
    assert rules(policy_evaluate_line(policy, line((NOV, "9000", "10000.01")))) == ["class_cap"]
    assert policy_evaluate_line(policy, line((NOV, "9000", "10000"))).ok
    revenue = line((NOV, "9000", "50000"), account_id=SALES, account_class="REVENUE")
    assert policy_evaluate_line(policy, revenue).ok


def test_caps_apply_to_the_size_of_negative_figures():
    policy = Policy(class_caps={"EXPENSE": Decimal("1000")})
    assert rules(policy_evaluate_line(policy, line((NOV, "0", "-1500")))) == ["class_cap"]


def test_maximum_change_amount_per_month():
    policy = Policy(max_change_amount=Decimal("750"))
    broken = policy_evaluate_line(policy, line((NOV, "5000", "5800")))
    assert rules(broken) == ["max_change_amount"]
    assert policy_evaluate_line(policy, line((NOV, "5000", "5750"), (DEC, "5000", "4250"))).ok
    # With no original figure the whole amount is the change.
    assert rules(policy_evaluate_line(policy, line((NOV, None, "800")))) == ["max_change_amount"]


def test_maximum_change_percent_per_month():
    policy = Policy(max_change_percent=Decimal("10"))
    broken = policy_evaluate_line(policy, line((NOV, "5000", "4400")))
    assert rules(broken) == ["max_change_percent"]
    assert "12.0%" in broken.violations[0].message
    assert policy_evaluate_line(policy, line((NOV, "5000", "5500"))).ok
    # A percent of no budget is infinite: only the amount rule can judge it.
    assert policy_evaluate_line(policy, line((NOV, None, "800"), (DEC, "0", "800"))).ok


def test_capital_expenditure_accounts_need_an_extra_approval_step():
    policy = Policy(capex_account_ids=frozenset({RENT}))
    capex = policy_evaluate_line(policy, line((NOV, "5000", "5000")))
    assert capex.ok and capex.needs_extra_approval
    assert capex.extra_approval_reasons == ("Capital expenditure account",)
    other = policy_evaluate_line(policy, line((NOV, "5000", "5000"), account_id=SALES))
    assert not other.needs_extra_approval


def test_changes_above_the_size_need_an_extra_approval_step():
    policy = Policy(extra_approval_above=Decimal("2000"))
    large = policy_evaluate_line(policy, line((NOV, "5000", "6500"), (DEC, "5000", "6000")))
    assert large.ok and large.needs_extra_approval
    assert "2,500.00" in large.extra_approval_reasons[0]
    small = policy_evaluate_line(policy, line((NOV, "5000", "6000"), (DEC, "5000", "6000")))
    assert not small.needs_extra_approval


def test_every_rule_that_fires_is_reported():
    policy = Policy(
        account_caps={RENT: Decimal("5500")},
        max_change_amount=Decimal("100"),
        max_change_percent=Decimal("1"),
    )
    result = policy_evaluate_line(policy, line((NOV, "5000", "6000")))
    assert rules(result) == ["account_cap", "max_change_amount", "max_change_percent"]
    assert [v.to_dict()["period"] for v in result.violations] == ["2026-11-01"] * 3


@pytest.mark.parametrize("kwargs", [{"scope": "some"}, {"horizon": 0}, {"horizon": 13}])
def test_a_policy_refuses_an_unknown_scope_or_a_horizon_outside_1_to_12(kwargs):
    with pytest.raises(ValueError):
        Policy(**kwargs)


def test_a_figure_above_a_multiple_of_the_lines_largest_actual():
    policy = Policy(max_actual_multiple=Decimal("3"))
    broken = policy_evaluate_line(
        policy, line((NOV, "5000", "99999999999999"), largest="-6030", lowest="-6030")
    )
    assert rules(broken) == ["actual_multiple"]
    assert broken.violations[0].to_dict() == {
        "rule": "actual_multiple",
        "message": "Nov 2026: 99,999,999,999,999.00 is more than 3 times this line's largest "
        "monthly actual (6,030.00): at most 18,090.00.",
        "period": "2026-11-01",
        "limit": "18090.00",
    }
    assert policy_evaluate_line(policy, line((NOV, "5000", "18090"), largest="6030")).ok
    assert rules(policy_evaluate_line(policy, line((NOV, "5000", "-18090.01"), largest="6030")))
    # A line with no actuals has no history to compare with.
    assert policy_evaluate_line(policy, line((NOV, "5000", "99999"), largest=None)).ok
    assert policy_evaluate_line(policy, line((NOV, "5000", "99999"), largest="0")).ok


@pytest.mark.parametrize("account_class", ["REVENUE", "EXPENSE"])
def test_a_negative_figure_where_the_lines_actuals_never_were(account_class):
    policy = Policy(sign_check=True)
    broken = policy_evaluate_line(
        policy,
        line((NOV, "5000", "5000"), (DEC, "5000", "-1"), account_class=account_class, lowest="0"),
    )
    assert rules(broken) == ["sign"]
    assert broken.violations[0].period == DEC and broken.violations[0].limit == "0.00"
    assert f"{account_class.lower()} figures are zero or more" in broken.violations[0].message
    assert policy_evaluate_line(
        policy, line((NOV, "5000", "0"), account_class=account_class, lowest="10")
    ).ok
    # A line that has been negative (a currency gain that was a loss, a refund month) may be.
    assert policy_evaluate_line(
        policy, line((NOV, "5000", "-300"), account_class=account_class, lowest="-53.18")
    ).ok
    assert policy_evaluate_line(Policy(), line((NOV, "5000", "-1"), lowest="0")).ok


def test_the_default_guardrails():
    assert DEFAULT_POLICY.scope == "all" and DEFAULT_POLICY.horizon == 6
    assert DEFAULT_POLICY.max_actual_multiple == Decimal("3")
    assert DEFAULT_POLICY.max_change_percent == Decimal("100")
    assert DEFAULT_POLICY.sign_check is True
    assert DEFAULT_POLICY.max_change_amount is None and not DEFAULT_POLICY.class_caps
    everything = policy_evaluate_line(
        DEFAULT_POLICY,
        line((NOV, "5000", "99999999999999"), (DEC, None, "-10"), largest="6030", lowest="0"),
    )
    assert rules(everything) == ["actual_multiple", "max_change_percent", "sign"]
    assert "100% allowed" in everything.violations[1].message
    assert everything.violations[1].limit == "100"
    assert policy_evaluate_line(
        DEFAULT_POLICY, line((NOV, "5000", "9000"), largest="6030", lowest="0")
    ).ok


@pytest.mark.parametrize("value", ["99999999999999.99", "-99999999999999.99", "12.30", "12.300"])
def test_a_figure_a_budget_holds(value):
    assert figure_problem(Decimal(value)) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "100000000000000",
            "100,000,000,000,000.00 is too large: a budget figure is at most "
            "99,999,999,999,999.99.",
        ),
        ("-1e15", "\u22121,000,000,000,000,000.00 is too large"),
        ("1E+400", "1E+400 is too large"),
        ("12.345", "12.345 has more than 2 decimal places: give it in cents at most."),
    ],
)
def test_a_figure_a_budget_cannot_hold(value, problem):
    assert figure_problem(Decimal(value)).startswith(problem)


def test_every_rule_is_reported_checked_or_off_for_the_audit():
    policy = Policy(
        scope="all",
        account_caps={RENT: Decimal("7000")},
        max_change_percent=Decimal("50"),
        max_actual_multiple=None,
        sign_check=True,
    )

    checks = {
        c["rule"]: c
        for c in policy_checks(policy, line((NOV, "5000", "8000"), (DEC, "5000", "5100")))
    }

    assert list(checks) == [
        "scope",
        "account_cap",
        "class_cap",
        "actual_multiple",
        "sign",
        "max_change_amount",
        "max_change_percent",
    ]
    assert checks["scope"] == {
        "rule": "scope",
        "label": "In the policy's scope",
        "checked": True,
        "limit": "all",
        "ok": True,
        "violations": [],
    }
    assert (checks["account_cap"]["limit"], checks["account_cap"]["ok"]) == ("7000.00", False)
    assert checks["account_cap"]["violations"] == [
        "Nov 2026: 8,000.00 is above this account's cap of 7,000.00."
    ]
    assert checks["max_change_percent"]["ok"] is False
    assert checks["class_cap"]["checked"] is False and checks["class_cap"]["ok"] is True
    assert checks["actual_multiple"]["checked"] is False  # turned off
    assert checks["sign"] == {**checks["sign"], "checked": True, "limit": "0.00", "ok": True}
