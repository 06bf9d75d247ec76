"""What-if scenarios: pure maths on plain values, no ORM and no request.

A scenario is a base (a budget, a draft or a forecast: figures per line and month) and an ordered
list of adjustments. `scenario_apply` returns the adjusted figures; `profit_and_loss` sums any
figures into the P&L's blocks per month and per financial year, beside the base and the actuals
of closed months.

A line is an account overall (option None) or for one tracking option. A tracking option's
figures are part of the account's overall figure in Xero, so a change to an option's line is
also made to the account's overall line: the P&L (read from the overall lines) moves with it.

Amounts carry the Profit and Loss's natural sign (revenue and expenses both positive), as
everywhere in budgeting. Every figure is money: a Decimal quantised to cents, and an amount to
spread ("2,000 in total over cost of sales") is spread to the cent, the parts adding up exactly.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from budgeting.variance.maths import SECTION_BY_TYPE, Section
from core.money import CENT, money
from core.months import financial_year_start, months_between

Period = dt.date
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
LineKey = tuple[int, int | None]  # (account key, tracking option key or None)
Figures = dict[LineKey, dict[Period, Decimal]]


class Group(enum.StrEnum):
    """The account groups a partner names in a sentence ("sales", "overheads", "payroll")."""

    REVENUE = "revenue"
    COST_OF_SALES = "cost_of_sales"
    OPERATING_EXPENSES = "operating_expenses"
    WAGES = "wages"

    @property
    def label(self) -> str:
        return GROUP_LABELS[self]


GROUP_LABELS = {
    Group.REVENUE: "Revenue",
    Group.COST_OF_SALES: "Cost of sales",
    Group.OPERATING_EXPENSES: "Operating expenses",
    Group.WAGES: "Wages",
}
# Xero's P&L types in each group. Other income (interest, a grant) is not trading revenue: a
# partner who says "sales up 15%" does not mean the bank interest.
GROUP_TYPES = {
    Group.REVENUE: frozenset({"REVENUE", "SALES"}),
    Group.COST_OF_SALES: frozenset({"DIRECTCOSTS"}),
    Group.OPERATING_EXPENSES: frozenset({"EXPENSE", "OVERHEADS", "DEPRECIATN"}),
}
# Xero has no wages type: payroll accounts are expenses named for what they hold, and the
# retirement scheme's name depends on the country (KiwiSaver, Superannuation, 401(k), pension).
WAGE_WORDS = (
    "wage",
    "salar",
    "payroll",
    "kiwisaver",
    "superannuation",
    "pension",
    "401(k)",
    "staff cost",
    "employee",
)


class Change(enum.StrEnum):
    PERCENT = "percent"  # value: percent, -100 or more
    AMOUNT = "amount"  # value: money added (negative: taken off)
    SET_TO = "set_to"  # value: the figure the target is set to


class Per(enum.StrEnum):
    MONTH = "month"  # the amount applies to each month
    TOTAL = "total"  # the amount is spread over the months


class ScenarioError(ValueError):
    """An adjustment that cannot be applied; nothing of the scenario is applied."""


@dataclass(frozen=True)
class ChartAccount:
    """An account of the organisation's chart on the P&L, as Xero holds it."""

    key: int
    code: str
    name: str
    account_type: str  # Xero's Account.Type
    account_class: str = ""  # Xero's Account.Class

    @property
    def section(self) -> Section | None:
        return SECTION_BY_TYPE.get(self.account_type)

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}".strip()


def account_groups(account: ChartAccount) -> set[Group]:
    groups = {group for group, types in GROUP_TYPES.items() if account.account_type in types}
    name = account.name.lower()
    if account.account_class == "EXPENSE" and any(word in name for word in WAGE_WORDS):
        groups.add(Group.WAGES)
    return groups


@dataclass(frozen=True)
class Target:
    """What an adjustment changes: named accounts, a group, a Xero class or type; all of those
    given must match (an empty target matches nothing). Optionally one tracking option."""

    account_keys: frozenset[int] = frozenset()
    group: Group | None = None
    account_class: str = ""
    account_type: str = ""
    tracking_option: int | None = None

    def is_empty(self) -> bool:
        return not (self.account_keys or self.group or self.account_class or self.account_type)

    def matches(self, account: ChartAccount) -> bool:
        if self.is_empty() or account.section is None:
            return False
        if self.account_keys and account.key not in self.account_keys:
            return False
        if self.group and self.group not in account_groups(account):
            return False
        if self.account_class and account.account_class != self.account_class:
            return False
        return not (self.account_type and account.account_type != self.account_type)


@dataclass(frozen=True)
class Adjustment:
    target: Target
    change: Change
    value: Decimal
    first: Period
    last: Period
    per: Per | None = None  # for AMOUNT and SET_TO; None reads as per month
    # Cost of sales follows revenue at its gross margin (each month's cost of sales / revenue),
    # for a change to revenue: selling more needs more stock.
    cost_follows: bool = False


def adjustment_check(adjustment: Adjustment, *, months: Sequence[Period]) -> None:
    """Raise ScenarioError, saying what is wrong, for an adjustment that cannot apply."""
    if adjustment.target.is_empty():
        raise ScenarioError("Say which accounts to change.")
    if adjustment.change == Change.PERCENT and adjustment.value < -HUNDRED:
        raise ScenarioError(
            f"{adjustment.value.normalize():f}% would take more than everything: a cut is at most 100%."
        )
    if months and any(
        not months[0] <= p <= months[-1] for p in (adjustment.first, adjustment.last)
    ):
        raise ScenarioError(
            f"{adjustment.first:%b %Y} to {adjustment.last:%b %Y} is outside the scenario's "
            f"months ({months[0]:%b %Y} to {months[-1]:%b %Y})."
        )
    if adjustment.first > adjustment.last:
        raise ScenarioError(
            f"{adjustment.first:%B %Y} is after {adjustment.last:%B %Y}: the months are reversed."
        )


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` split to the cent in proportion to `weights` (equally when they add to zero), the
    parts adding up to `total` exactly: the largest remainders take the spare cents."""
    total = money(total)
    if not weights:
        return []
    basis = [abs(w) for w in weights]
    whole = sum(basis, Decimal(0))
    if whole == 0:
        basis, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    cents = int(total / CENT)
    exact = [Decimal(cents) * b / whole for b in basis]
    parts = [int(e) for e in exact]  # toward zero
    spare = cents - sum(parts)
    step = 1 if spare > 0 else -1
    order = sorted(range(len(exact)), key=lambda i: abs(exact[i] - parts[i]), reverse=True)
    for i in order[: abs(spare)]:
        parts[i] += step
    return [money(Decimal(p) * CENT) for p in parts]


def _lines(figures: Figures, chart: Mapping[int, ChartAccount], target: Target) -> list[LineKey]:
    return sorted(
        key
        for key in figures
        if key[1] == target.tracking_option and key[0] in chart and target.matches(chart[key[0]])
    )


def _add(figures: Figures, key: LineKey, period: Period, delta: Decimal) -> None:
    row = figures.setdefault(key, {})
    row[period] = money(row.get(period, ZERO) + delta)


def _change(figures: Figures, key: LineKey, period: Period, delta: Decimal) -> None:
    if delta == 0:
        return
    _add(figures, key, period, delta)
    if key[1] is not None:
        # An option's figures are part of the account's overall figure (see the module's note).
        _add(figures, (key[0], None), period, delta)


def _deltas(
    adjustment: Adjustment, base: Mapping[LineKey, Mapping[Period, Decimal]], lines, months
) -> dict[tuple[LineKey, Period], Decimal]:
    """The change to each line and month, before it is made."""
    deltas: dict[tuple[LineKey, Period], Decimal] = {}

    def spread(amount: Decimal, period: Period) -> None:
        weights = [base[line].get(period, ZERO) for line in lines]
        for line, part in zip(lines, allocate(amount, weights), strict=True):
            deltas[(line, period)] = deltas.get((line, period), ZERO) + part

    def month_total(period: Period) -> Decimal:
        return sum((base[line].get(period, ZERO) for line in lines), ZERO)

    if adjustment.change == Change.PERCENT:
        for line in lines:
            for period in months:
                before = base[line].get(period, ZERO)
                deltas[(line, period)] = money(before * adjustment.value / HUNDRED)
        return deltas
    totals = [month_total(period) for period in months]
    if adjustment.per == Per.TOTAL:
        if adjustment.change == Change.SET_TO:
            # Set a total: each month keeps its share of the new total.
            shares = allocate(adjustment.value, totals)
            month_amounts = [share - total for share, total in zip(shares, totals, strict=True)]
        else:
            month_amounts = allocate(adjustment.value, totals)
    elif adjustment.change == Change.SET_TO:
        month_amounts = [money(adjustment.value) - total for total in totals]
    else:
        month_amounts = [money(adjustment.value)] * len(months)
    for period, amount, total in zip(months, month_amounts, totals, strict=True):
        if adjustment.change == Change.SET_TO:
            # The month's lines take the new figure in the shares they had.
            new = allocate(total + amount, [base[line].get(period, ZERO) for line in lines])
            for line, figure in zip(lines, new, strict=True):
                deltas[(line, period)] = figure - base[line].get(period, ZERO)
        else:
            spread(amount, period)
    return deltas


def _cost_follows(
    figures: Figures,
    before: Mapping[LineKey, Mapping[Period, Decimal]],
    chart: Mapping[int, ChartAccount],
    deltas: Mapping[tuple[LineKey, Period], Decimal],
    option: int | None,
) -> None:
    revenue = {
        k for k in before if k[1] == option and k[0] in chart and _is(chart[k[0]], Group.REVENUE)
    }
    costs = sorted(
        k
        for k in before
        if k[1] == option and k[0] in chart and _is(chart[k[0]], Group.COST_OF_SALES)
    )
    if not costs:
        return
    by_month: dict[Period, Decimal] = {}
    for (line, period), delta in deltas.items():
        if line in revenue:
            by_month[period] = by_month.get(period, ZERO) + delta
    for period, revenue_delta in sorted(by_month.items()):
        sales = sum((before[k].get(period, ZERO) for k in revenue), ZERO)
        cost = sum((before[k].get(period, ZERO) for k in costs), ZERO)
        if sales == 0:
            continue  # no margin to follow in a month with no sales
        weights = [before[k].get(period, ZERO) for k in costs]
        for line, part in zip(costs, allocate(revenue_delta * cost / sales, weights), strict=True):
            _change(figures, line, period, part)


def _is(account: ChartAccount, group: Group) -> bool:
    return group in account_groups(account)


def scenario_apply(
    *,
    base: Mapping[LineKey, Mapping[Period, Decimal]],
    chart: Iterable[ChartAccount],
    adjustments: Sequence[Adjustment],
    months: Sequence[Period],
) -> Figures:
    """The base with every adjustment made, in order (each on the figures the one before left).

    Raises ScenarioError for the first adjustment that cannot apply, and nothing is applied.
    """
    by_key = {account.key: account for account in chart}
    figures: Figures = {key: {p: money(v) for p, v in row.items()} for key, row in base.items()}
    for adjustment in adjustments:
        adjustment_check(adjustment, months=months)
    for adjustment in adjustments:
        lines = _lines(figures, by_key, adjustment.target)
        if not lines and adjustment.change != Change.PERCENT:
            # An amount for an account with no figures yet: it gets a line of its own.
            lines = _new_lines(by_key, adjustment.target)
            for line in lines:
                figures.setdefault(line, {})
        span = [p for p in months if adjustment.first <= p <= adjustment.last]
        before = {key: dict(row) for key, row in figures.items()}
        deltas = _deltas(adjustment, before, lines, span)
        for (line, period), delta in sorted(deltas.items()):
            _change(figures, line, period, delta)
        if adjustment.cost_follows:
            _cost_follows(figures, before, by_key, deltas, adjustment.target.tracking_option)
    return figures


def _new_lines(chart: Mapping[int, ChartAccount], target: Target) -> list[LineKey]:
    return sorted(
        (key, target.tracking_option) for key, account in chart.items() if target.matches(account)
    )


# --- The P&L ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfitAndLoss:
    """The P&L's blocks for one span (a month or a financial year)."""

    revenue: Decimal = ZERO
    cost_of_sales: Decimal = ZERO
    other_income: Decimal = ZERO
    operating_expenses: Decimal = ZERO

    @property
    def gross_profit(self) -> Decimal:
        return self.revenue - self.cost_of_sales

    @property
    def net_profit(self) -> Decimal:
        return self.gross_profit + self.other_income - self.operating_expenses

    def __add__(self, other: ProfitAndLoss) -> ProfitAndLoss:
        return ProfitAndLoss(
            revenue=self.revenue + other.revenue,
            cost_of_sales=self.cost_of_sales + other.cost_of_sales,
            other_income=self.other_income + other.other_income,
            operating_expenses=self.operating_expenses + other.operating_expenses,
        )

    def minus(self, other: ProfitAndLoss) -> ProfitAndLoss:
        return ProfitAndLoss(
            revenue=self.revenue - other.revenue,
            cost_of_sales=self.cost_of_sales - other.cost_of_sales,
            other_income=self.other_income - other.other_income,
            operating_expenses=self.operating_expenses - other.operating_expenses,
        )

    def figure(self, name: str) -> Decimal:
        return getattr(self, name)


# The rows a P&L shows, in report order: (attribute, label).
PNL_ROWS = (
    ("revenue", "Revenue"),
    ("cost_of_sales", "Cost of sales"),
    ("gross_profit", "Gross profit"),
    ("other_income", "Other income"),
    ("operating_expenses", "Operating expenses"),
    ("net_profit", "Net profit"),
)
_BLOCK = {
    Section.INCOME: "revenue",
    Section.COST_OF_SALES: "cost_of_sales",
    Section.OTHER_INCOME: "other_income",
    Section.OPERATING_EXPENSES: "operating_expenses",
}


def pnl_by_month(
    figures: Mapping[LineKey, Mapping[Period, Decimal]],
    chart: Iterable[ChartAccount],
    months: Sequence[Period],
) -> dict[Period, ProfitAndLoss]:
    """The P&L of each month, from the overall lines (an option's figures are in them)."""
    by_key = {account.key: account for account in chart}
    blocks = {period: dict.fromkeys(_BLOCK.values(), ZERO) for period in months}
    for (key, option), row in figures.items():
        account = by_key.get(key)
        if option is not None or account is None or account.section not in _BLOCK:
            continue
        block = _BLOCK[account.section]
        for period in months:
            blocks[period][block] += row.get(period, ZERO)
    return {period: ProfitAndLoss(**values) for period, values in blocks.items()}


@dataclass(frozen=True)
class MonthResult:
    period: Period
    scenario: ProfitAndLoss
    base: ProfitAndLoss
    actual: ProfitAndLoss | None  # for a closed month

    @property
    def against_base(self) -> ProfitAndLoss:
        return self.scenario.minus(self.base)

    @property
    def against_actual(self) -> ProfitAndLoss | None:
        return None if self.actual is None else self.scenario.minus(self.actual)


@dataclass(frozen=True)
class YearResult:
    start: Period  # the financial year's first month
    months: tuple[Period, ...]  # the scenario's months in it
    scenario: ProfitAndLoss
    base: ProfitAndLoss
    actual: ProfitAndLoss  # of its closed months
    closed_months: int

    @property
    def against_base(self) -> ProfitAndLoss:
        return self.scenario.minus(self.base)


@dataclass(frozen=True)
class ScenarioResult:
    months: tuple[MonthResult, ...]
    years: tuple[YearResult, ...]
    figures: Figures = field(repr=False)

    @property
    def total(self) -> ProfitAndLoss:
        return sum((m.scenario for m in self.months), ProfitAndLoss())

    @property
    def base_total(self) -> ProfitAndLoss:
        return sum((m.base for m in self.months), ProfitAndLoss())

    @property
    def against_base_total(self) -> ProfitAndLoss:
        return self.total.minus(self.base_total)


def scenario_result(
    *,
    base: Mapping[LineKey, Mapping[Period, Decimal]],
    actuals: Mapping[LineKey, Mapping[Period, Decimal]],
    chart: Sequence[ChartAccount],
    adjustments: Sequence[Adjustment],
    first: Period,
    last: Period,
    last_closed: Period | None,
    year_end_month: int,
) -> ScenarioResult:
    """The scenario's P&L per month and per financial year, against the base and, for the
    months closed by `last_closed`, against the actuals."""
    months = months_between(first, last)
    figures = scenario_apply(base=base, chart=chart, adjustments=adjustments, months=months)
    scenario = pnl_by_month(figures, chart, months)
    before = pnl_by_month(base, chart, months)
    actual = pnl_by_month(actuals, chart, months)
    closed = {p for p in months if last_closed is not None and p <= last_closed}
    rows = tuple(
        MonthResult(
            period=p,
            scenario=scenario[p],
            base=before[p],
            actual=actual[p] if p in closed else None,
        )
        for p in months
    )
    years: dict[Period, list[MonthResult]] = {}
    for row in rows:
        years.setdefault(financial_year_start(row.period, end_month=year_end_month), []).append(row)
    return ScenarioResult(
        months=rows,
        years=tuple(
            YearResult(
                start=start,
                months=tuple(r.period for r in year),
                scenario=sum((r.scenario for r in year), ProfitAndLoss()),
                base=sum((r.base for r in year), ProfitAndLoss()),
                actual=sum((r.actual for r in year if r.actual is not None), ProfitAndLoss()),
                closed_months=sum(1 for r in year if r.actual is not None),
            )
            for start, year in years.items()
        ),
        figures=figures,
    )
