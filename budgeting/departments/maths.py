"""The gap between a draft's overall figures and the sum of its departments (pure: numbers in,
numbers out).

Per account and month: gap = overall - sum of the departments' figures. A month a side does not
hold counts as zero, so a department line with no overall line (or the reverse) shows its whole
figure as the gap. Figures are in cents, so a gap is zero or at least a cent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class MonthGap:
    period: dt.date
    overall: Decimal
    departments: Decimal
    gap: Decimal  # overall - departments


@dataclass(frozen=True)
class AccountGap:
    account: Hashable
    has_overall: bool  # the draft holds an overall line for the account
    departments: int  # department lines the account has
    months: tuple[MonthGap, ...]

    @property
    def largest(self) -> Decimal:
        """The largest gap of a month, by size (its sign kept)."""
        return max((m.gap for m in self.months), key=abs, default=ZERO)

    @property
    def total(self) -> Decimal:
        return sum((m.gap for m in self.months), ZERO)

    @property
    def has_gap(self) -> bool:
        return any(m.gap != ZERO for m in self.months)


Figures = Mapping[dt.date, Decimal]


def department_gaps(
    *,
    periods: Iterable[dt.date],
    overall: Mapping[Hashable, Figures],
    departments: Mapping[Hashable, Iterable[Figures]],
) -> list[AccountGap]:
    """Each account of either side, in the order first met (overall's, then the departments'),
    with every month of `periods`: the overall figure, the departments' sum and the gap.

    `overall`: account -> {period: figure}; `departments`: account -> one {period: figure} per
    department line of that account."""
    periods = sorted(set(periods))
    accounts = list(dict.fromkeys([*overall, *departments]))
    gaps = []
    for account in accounts:
        lines = list(departments.get(account, ()))
        own = overall.get(account)
        months = []
        for period in periods:
            whole = (own or {}).get(period, ZERO)
            parts = sum((line.get(period, ZERO) for line in lines), ZERO)
            months.append(MonthGap(period, whole, parts, whole - parts))
        gaps.append(AccountGap(account, own is not None, len(lines), tuple(months)))
    return gaps


def gaps_open(gaps: Iterable[AccountGap], explained: Iterable[Hashable]) -> list[AccountGap]:
    """The accounts whose departments do not add up and that nobody explained yet."""
    explained = set(explained)
    return [g for g in gaps if g.has_gap and g.account not in explained]
