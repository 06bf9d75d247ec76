"""The policy layer of forecast drafts: pure rules on plain values, no ORM and no request.

A service turns an organisation's BudgetPolicy row into a `Policy`, each suggested line into a
`PolicyLine`, and calls `policy_evaluate_line` before a draft is created and again on every edit.
A line with violations cannot be submitted; a line that needs an extra approval step can, but the
approval chain adds a step for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import amount_in

READ_ONLY = "read_only"
ASSISTED = "assisted"
ALL = "all"
SCOPES = (READ_ONLY, ASSISTED, ALL)
MAX_DRAFT_HORIZON = 12
HUNDRED = Decimal("100")


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


@dataclass(frozen=True)
class Violation:
    rule: str  # account_cap, class_cap, max_change_amount, max_change_percent, scope
    message: str
    period: dt.date | None = None  # None when the rule is about the whole line

    def to_dict(self) -> dict[str, str | None]:
        return {
            "rule": self.rule,
            "message": self.message,
            "period": self.period.isoformat() if self.period else None,
        }


@dataclass(frozen=True)
class PolicyResult:
    violations: tuple[Violation, ...]
    needs_extra_approval: bool
    extra_approval_reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.violations


def policy_evaluate_line(policy: Policy, line: PolicyLine) -> PolicyResult:
    """Every rule the line breaks (per month where the rule is monthly), and whether it needs
    the extra approval step."""
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
    for month in line.months:
        label = f"{month.period:%b %Y}"
        if account_cap is not None and abs(month.proposed) > account_cap:
            violations.append(
                Violation(
                    rule="account_cap",
                    message=f"{label}: {amount_in(month.proposed)} is above this account's cap "
                    f"of {amount_in(account_cap)}.",
                    period=month.period,
                )
            )
        if class_cap is not None and abs(month.proposed) > class_cap:
            violations.append(
                Violation(
                    rule="class_cap",
                    message=f"{label}: {amount_in(month.proposed)} is above the "
                    f"{line.account_class.lower()} cap of {amount_in(class_cap)}.",
                    period=month.period,
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
                    f"{policy.max_change_percent.normalize():f}% allowed.",
                    period=month.period,
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
