"""The policy layer of forecast drafts: pure rules on plain values, no ORM and no request.

A service turns an organisation's BudgetPolicy row into a `Policy`, each suggested line into a
`PolicyLine`, and calls `policy_evaluate_line` before a draft is created and again on every edit.
A line with violations cannot be submitted; a line that needs an extra approval step can, but the
approval chain adds a step for it.

Every organisation starts with the guardrails of `DEFAULT_POLICY` (a figure above a multiple of
the line's largest monthly actual, a sign its class never has, a change above a percentage of the
original); `Policy()` itself has only the rules it is given, so each rule can be tested alone.
A figure that a budget cannot hold at all is refused before any rule (`figure_problem`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import amount_in, money

READ_ONLY = "read_only"
ASSISTED = "assisted"
ALL = "all"
SCOPES = (READ_ONLY, ASSISTED, ALL)
MAX_DRAFT_HORIZON = 12
HUNDRED = Decimal("100")
# The largest figure a budget line holds: MONEY is 16 digits with 2 decimals (ledger.models).
FIGURE_LIMIT = Decimal("99999999999999.99")
FIGURE_DECIMALS = 2
# The guardrails every organisation starts with; a firm tightens, loosens or turns each off.
DEFAULT_ACTUAL_MULTIPLE = Decimal("3")
# 100%: a month that doubles or crosses zero; lumpy lines (progress claims) move 60-75%.
DEFAULT_MAX_CHANGE_PERCENT = Decimal("100")
DEFAULT_SIGN_CHECK = True


@dataclass(frozen=True)
class Policy:
    """An organisation's policy. Ids are the app's Account and TrackingOption primary keys."""

    scope: str = ALL
    account_ids: frozenset[int] = frozenset()
    tracking_option_ids: frozenset[int] = frozenset()
    account_caps: Mapping[int, Decimal] = field(default_factory=dict)
    class_caps: Mapping[str, Decimal] = field(default_factory=dict)
    max_change_percent: Decimal | None = None
    max_change_amount: Decimal | None = None
    capex_account_ids: frozenset[int] = frozenset()
    extra_approval_above: Decimal | None = None
    horizon: int = 6
    # A month above this multiple of the line's largest monthly actual (in absolute terms).
    max_actual_multiple: Decimal | None = None
    # A negative figure on a revenue or expense line whose actuals were never negative.
    sign_check: bool = False

    def __post_init__(self) -> None:
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if not 1 <= self.horizon <= MAX_DRAFT_HORIZON:
            raise ValueError(f"a draft's horizon is 1 to {MAX_DRAFT_HORIZON} months")

    @property
    def allows_drafts(self) -> bool:
        return self.scope != READ_ONLY

    def in_scope(self, *, account_id: int, tracking_option_id: int | None) -> bool:
        """Assisted drafting covers a chosen account (overall and for every option) and every
        account of a chosen tracking option; read-only covers nothing."""
        if self.scope == ALL:
            return True
        if self.scope == READ_ONLY:
            return False
        if account_id in self.account_ids:
            return True
        return tracking_option_id is not None and tracking_option_id in self.tracking_option_ids


DEFAULT_POLICY = Policy(
    max_change_percent=DEFAULT_MAX_CHANGE_PERCENT,
    max_actual_multiple=DEFAULT_ACTUAL_MULTIPLE,
    sign_check=DEFAULT_SIGN_CHECK,
)


def figure_problem(value: Decimal) -> str | None:
    """Why a budget cannot hold the figure at all (too large, or finer than a cent), else None.
    Refused with this message by the form, the API and the service alike: never stored
    rounded or clamped, never a database error."""
    if not value.is_finite():
        return f"{value} is not an amount."
    if abs(value) > FIGURE_LIMIT:
        return (
            f"{amount_in(value)} is too large: a budget figure is at most "
            f"{amount_in(FIGURE_LIMIT)}."
        )
    if value != value.quantize(Decimal(1).scaleb(-FIGURE_DECIMALS)):
        return f"{value} has more than {FIGURE_DECIMALS} decimal places: give it in cents at most."
    return None


@dataclass(frozen=True)
class PolicyMonth:
    period: dt.date
    original: Decimal | None  # the original budget's figure; None where it has none
    proposed: Decimal  # the figure the draft proposes (edited, else suggested)

    @property
    def change(self) -> Decimal:
        return self.proposed - (self.original or Decimal(0))


@dataclass(frozen=True)
class PolicyLine:
    account_id: int
    account_class: str  # REVENUE or EXPENSE
    account_type: str
    tracking_option_id: int | None
    months: Sequence[PolicyMonth]
    # The line's own monthly actuals over its whole synced history: the largest in absolute
    # terms, and the lowest (None when it has none).
    largest_actual: Decimal | None = None
    lowest_actual: Decimal | None = None


@dataclass(frozen=True)
class Violation:
    # account_cap, class_cap, max_change_amount, max_change_percent, actual_multiple, sign, scope
    rule: str
    message: str
    period: dt.date | None = None  # None when the rule is about the whole line
    limit: str | None = None  # the limit the rule applies, as a number ("7500.00", "50")

    def to_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "message": self.message,
            "period": self.period.isoformat() if self.period else None,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class PolicyResult:
    violations: tuple[Violation, ...]
    needs_extra_approval: bool
    extra_approval_reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _multiple_limit(policy: Policy, line: PolicyLine) -> Decimal | None:
    if policy.max_actual_multiple is None or not line.largest_actual:
        return None
    return money(policy.max_actual_multiple * abs(line.largest_actual))


def _sign_checked(policy: Policy, line: PolicyLine) -> bool:
    # A line whose own actuals went negative (a refund-heavy month, a contra account) may be
    # forecast negative; one that never did has a sign error, as a typed "-5000" for 5000.
    return (
        policy.sign_check
        and line.account_class in ("REVENUE", "EXPENSE")
        and not (line.lowest_actual is not None and line.lowest_actual < 0)
    )


def policy_evaluate_line(policy: Policy, line: PolicyLine) -> PolicyResult:
    """Every rule the line breaks (per month where the rule is monthly), and whether it needs
    the extra approval step. Each violation names its rule and the limit it applies."""
    violations: list[Violation] = []
    if not policy.in_scope(account_id=line.account_id, tracking_option_id=line.tracking_option_id):
        violations.append(
            Violation(
                rule="scope",
                message="This line is outside the policy's scope: drafts may not change it.",
            )
        )
    account_cap = policy.account_caps.get(line.account_id)
    class_cap = policy.class_caps.get(line.account_class)
    multiple_limit = _multiple_limit(policy, line)
    sign_checked = _sign_checked(policy, line)
    for month in line.months:
        label = f"{month.period:%b %Y}"
        if account_cap is not None and abs(month.proposed) > account_cap:
            violations.append(
                Violation(
                    rule="account_cap",
                    message=f"{label}: {amount_in(month.proposed)} is above this account's cap "
                    f"of {amount_in(account_cap)}.",
                    period=month.period,
                    limit=str(money(account_cap)),
                )
            )
        if class_cap is not None and abs(month.proposed) > class_cap:
            violations.append(
                Violation(
                    rule="class_cap",
                    message=f"{label}: {amount_in(month.proposed)} is above the "
                    f"{line.account_class.lower()} cap of {amount_in(class_cap)}.",
                    period=month.period,
                    limit=str(money(class_cap)),
                )
            )
        if multiple_limit is not None and abs(month.proposed) > multiple_limit:
            violations.append(
                Violation(
                    rule="actual_multiple",
                    message=f"{label}: {amount_in(month.proposed)} is more than "
                    f"{_plain(policy.max_actual_multiple)} times this line's largest monthly actual "
                    f"({amount_in(abs(line.largest_actual))}): at most "
                    f"{amount_in(multiple_limit)}.",
                    period=month.period,
                    limit=str(multiple_limit),
                )
            )
        if sign_checked and month.proposed < 0:
            violations.append(
                Violation(
                    rule="sign",
                    message=f"{label}: {amount_in(month.proposed)} is negative, but "
                    f"{line.account_class.lower()} figures are zero or more (this line's "
                    "actuals never went below zero).",
                    period=month.period,
                    limit="0.00",
                )
            )
        change = month.change
        if policy.max_change_amount is not None and abs(change) > policy.max_change_amount:
            violations.append(
                Violation(
                    rule="max_change_amount",
                    message=f"{label}: a change of {amount_in(change)} is more than the "
                    f"{amount_in(policy.max_change_amount)} allowed per month.",
                    period=month.period,
                    limit=str(money(policy.max_change_amount)),
                )
            )
        # A percent of nothing is infinite: with no original figure only the amount rule applies.
        if (
            policy.max_change_percent is not None
            and month.original
            and abs(change) * HUNDRED > policy.max_change_percent * abs(month.original)
        ):
            percent = (abs(change) * HUNDRED / abs(month.original)).quantize(Decimal("0.1"))
            violations.append(
                Violation(
                    rule="max_change_percent",
                    message=f"{label}: a change of {percent}% is more than the "
                    f"{_plain(policy.max_change_percent)}% allowed.",
                    period=month.period,
                    limit=_plain(policy.max_change_percent),
                )
            )
    reasons = []
    if line.account_id in policy.capex_account_ids:
        reasons.append("Capital expenditure account")
    total_change = sum((month.change for month in line.months), Decimal(0))
    if policy.extra_approval_above is not None and abs(total_change) > policy.extra_approval_above:
        reasons.append(
            f"Change of {amount_in(total_change)} over the draft is above "
            f"{amount_in(policy.extra_approval_above)}"
        )
    return PolicyResult(
        violations=tuple(violations),
        needs_extra_approval=bool(reasons),
        extra_approval_reasons=tuple(reasons),
    )


# Every rule, in the order a reader checks them, with its name in words.
RULES = (
    ("scope", "In the policy's scope"),
    ("account_cap", "Account cap"),
    ("class_cap", "Class cap"),
    ("actual_multiple", "Multiple of the largest monthly actual"),
    ("sign", "Sign the line's actuals always had"),
    ("max_change_amount", "Largest change per month"),
    ("max_change_percent", "Largest change in percent"),
)


def policy_checks(policy: Policy, line: PolicyLine) -> list[dict[str, object]]:
    """Each rule's check of the line, passed or not, JSON-safe: the rule, its limit (None when
    the policy turns it off, so it was not checked) and the violations it found. What
    `policy_evaluate_line` reports as violations only, spelled out for the audit."""
    result = policy_evaluate_line(policy, line)
    multiple = _multiple_limit(policy, line)
    account_cap = policy.account_caps.get(line.account_id)
    class_cap = policy.class_caps.get(line.account_class)
    limits = {
        "scope": policy.scope,
        "account_cap": None if account_cap is None else str(money(account_cap)),
        "class_cap": None if class_cap is None else str(money(class_cap)),
        "actual_multiple": None if multiple is None else str(multiple),
        "sign": "0.00" if _sign_checked(policy, line) else None,
        "max_change_amount": None
        if policy.max_change_amount is None
        else str(money(policy.max_change_amount)),
        "max_change_percent": None
        if policy.max_change_percent is None
        else _plain(policy.max_change_percent),
    }
    checks: list[dict[str, object]] = []
    for rule, label in RULES:
        found = [v.message for v in result.violations if v.rule == rule]
        checks.append(
            {
                "rule": rule,
                "label": label,
                "checked": limits[rule] is not None,
                "limit": limits[rule],
                "ok": not found,
                "violations": found,
            }
        )
    return checks
