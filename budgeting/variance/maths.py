"""Budget-vs-actual variance: pure maths on plain values, no ORM and no request.

A service loads an organisation's accounts, actuals and budget balances, builds one
`AccountBalances` per account (for one tracking option or overall), calls
`variance_for_period` or `variance_series`, and stores or renders what comes back.

Sign convention, as Xero's Profit and Loss report shows it: revenue and expense amounts are both
positive in their natural direction, so a variance (actual - budget) above zero means "more
revenue" on a revenue account and "more spend" on an expense account.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from core.money import money
from core.months import add_months
from core.months import financial_year_start as _year_start

# The first day of a month. One period type across the app.
Period = dt.date

TENTH = Decimal("0.1")
HUNDRED = Decimal("100")


def _check_period(period: Period) -> None:
    if period.day != 1:
        raise ValueError(f"a period is the first day of a month, not {period.isoformat()}")


class Section(enum.StrEnum):
    """The blocks of Xero's standard Profit and Loss layout, in report order."""

    INCOME = "income"
    COST_OF_SALES = "cost_of_sales"
    GROSS_PROFIT = "gross_profit"
    OTHER_INCOME = "other_income"
    OPERATING_EXPENSES = "operating_expenses"
    NET_PROFIT = "net_profit"

    @property
    def label(self) -> str:
        return SECTION_LABELS[self]


SECTION_LABELS = {
    Section.INCOME: "Income",
    Section.COST_OF_SALES: "Cost of Sales",
    Section.GROSS_PROFIT: "Gross Profit",
    Section.OTHER_INCOME: "Other Income",
    Section.OPERATING_EXPENSES: "Operating Expenses",
    Section.NET_PROFIT: "Net Profit",
}

# Xero Account.Type values on the Profit and Loss, with the Account.Class Xero gives them and the
# block of the standard layout they are reported in.
ACCOUNT_CLASS_BY_TYPE = {
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
}
SECTION_BY_TYPE = {
    "REVENUE": Section.INCOME,
    "SALES": Section.INCOME,
    "OTHERINCOME": Section.OTHER_INCOME,
    "DIRECTCOSTS": Section.COST_OF_SALES,
    "EXPENSE": Section.OPERATING_EXPENSES,
    "OVERHEADS": Section.OPERATING_EXPENSES,
    "DEPRECIATN": Section.OPERATING_EXPENSES,
}
# The account class whose materiality thresholds apply to a section total; the two profit lines
# use the organisation's default.
SECTION_CLASS = {
    Section.INCOME: "REVENUE",
    Section.COST_OF_SALES: "EXPENSE",
    Section.OTHER_INCOME: "REVENUE",
    Section.OPERATING_EXPENSES: "EXPENSE",
}
# More of these is good news: revenue and profit. More of anything else (spend) is not.
HIGHER_IS_FAVOURABLE = {
    Section.INCOME: True,
    Section.COST_OF_SALES: False,
    Section.GROSS_PROFIT: True,
    Section.OTHER_INCOME: True,
    Section.OPERATING_EXPENSES: False,
    Section.NET_PROFIT: True,
}

Status = Literal["favourable", "unfavourable", "on budget", "no budget"]


@dataclass(frozen=True)
class MaterialityThreshold:
    """A variance is material when it passes both: the percent of budget and the money floor."""

    percent: Decimal = Decimal("10")
    floor: Decimal = Decimal("500")


@dataclass(frozen=True)
class MaterialityThresholds:
    """An organisation's thresholds: a default, overridden by account class, then by type."""

    default: MaterialityThreshold = field(default_factory=MaterialityThreshold)
    by_class: Mapping[str, MaterialityThreshold] = field(default_factory=dict)
    by_type: Mapping[str, MaterialityThreshold] = field(default_factory=dict)

    def threshold_for(
        self, *, account_class: str | None, account_type: str | None = None
    ) -> MaterialityThreshold:
        if account_type in self.by_type:
            return self.by_type[account_type]
        if account_class in self.by_class:
            return self.by_class[account_class]
        return self.default


@dataclass(frozen=True)
class AccountBalances:
    """One account's actual and budget balances by month, for one tracking option or overall.

    Amounts carry the Profit and Loss's natural sign. A month missing from `actuals` or `budgets`
    counts as zero in the variance; services should still pass every synced month (zero when
    quiet), because narratives read a missing month as "no data" for the trend.
    """

    account_id: str
    code: str
    name: str
    account_type: str  # Xero Account.Type
    account_class: str  # Xero Account.Class: REVENUE or EXPENSE on the Profit and Loss
    actuals: Mapping[Period, Decimal]
    budgets: Mapping[Period, Decimal]  # from Xero's BudgetBalance, by period
    tracking_option_id: str | None = None

    def __post_init__(self) -> None:
        expected_class = ACCOUNT_CLASS_BY_TYPE.get(self.account_type)
        if expected_class is None:
            raise ValueError(f"{self.account_type!r} is not a Profit and Loss account type")
        if self.account_class != expected_class:
            raise ValueError(
                f"account {self.code}: type {self.account_type} is class {expected_class}, "
                f"not {self.account_class}"
            )

    @property
    def section(self) -> Section:
        return SECTION_BY_TYPE[self.account_type]

    def actual_between(self, *, first: Period, last: Period) -> Decimal:
        return _sum_between(self.actuals, first=first, last=last)

    def budget_between(self, *, first: Period, last: Period) -> Decimal:
        return _sum_between(self.budgets, first=first, last=last)


def _sum_between(amounts: Mapping[Period, Decimal], *, first: Period, last: Period) -> Decimal:
    if first == last:
        return money(amounts.get(first, 0))
    return money(sum((v for p, v in amounts.items() if first <= p <= last), Decimal(0)))


@dataclass(frozen=True)
class Comparison:
    """Actual against budget for one figure over one span (a month or the year to date)."""

    actual: Decimal
    budget: Decimal
    variance: Decimal  # actual - budget
    percent: Decimal | None  # of |budget|, one decimal place; None when there is no budget
    favourable: bool | None  # None when the variance is zero
    material: bool

    @property
    def status(self) -> Status:
        if self.budget == 0:
            return "no budget"
        if self.favourable is None:
            return "on budget"
        return "favourable" if self.favourable else "unfavourable"


def comparison_build(
    *,
    actual: Decimal,
    budget: Decimal,
    higher_is_favourable: bool,
    threshold: MaterialityThreshold,
) -> Comparison:
    actual, budget = money(actual), money(budget)
    variance = actual - budget
    return Comparison(
        actual=actual,
        budget=budget,
        variance=variance,
        percent=_variance_percent(variance=variance, budget=budget),
        favourable=None if variance == 0 else (variance > 0) == higher_is_favourable,
        material=variance_is_material(variance=variance, budget=budget, threshold=threshold),
    )


def _variance_percent(*, variance: Decimal, budget: Decimal) -> Decimal | None:
    if budget == 0:
        return None
    # Divide by |budget| so the percent keeps the variance's sign when a budget is negative
    # (a budgeted net loss, a credit on an expense account).
    return (variance * HUNDRED / abs(budget)).quantize(TENTH, rounding=ROUND_HALF_UP)


def variance_is_material(
    *, variance: Decimal, budget: Decimal, threshold: MaterialityThreshold
) -> bool:
    if abs(variance) < threshold.floor:
        return False
    # Compared unrounded, so 9.96% is not material at a 10% threshold just because it shows 10.0.
    return budget == 0 or abs(variance) * HUNDRED >= threshold.percent * abs(budget)


def financial_year_start(
    *, period: Period, financial_year_end_month: int, financial_year_end_day: int
) -> Period:
    """The first month of the financial year that `period` falls in.

    Budgets and actuals are monthly, so the year ends with the month that holds
    FinancialYearEndDay/Month, whatever the day: a year ending on 15 March is April..March.
    """
    _check_period(period)
    if not 1 <= financial_year_end_month <= 12:
        raise ValueError(f"financial year end month {financial_year_end_month} is not 1..12")
    # Xero's Organisation schema documents FinancialYearEndDay as 0..31.
    if not 0 <= financial_year_end_day <= 31:
        raise ValueError(f"financial year end day {financial_year_end_day} is not 0..31")
    return _year_start(period, end_month=financial_year_end_month)


@dataclass(frozen=True)
class VarianceLine:
    account_id: str
    code: str
    name: str
    account_type: str
    account_class: str
    tracking_option_id: str | None
    section: Section
    month: Comparison
    year_to_date: Comparison


@dataclass(frozen=True)
class SectionTotal:
    section: Section
    month: Comparison
    year_to_date: Comparison

    @property
    def label(self) -> str:
        return self.section.label


@dataclass(frozen=True)
class VarianceReport:
    period: Period
    financial_year_start: Period
    tracking_option_id: str | None
    lines: tuple[VarianceLine, ...]  # in report order: by section, then account code
    totals: tuple[SectionTotal, ...]  # every Section, in report order

    def total(self, section: Section) -> SectionTotal:
        return next(t for t in self.totals if t.section is section)

    @property
    def gross_profit(self) -> SectionTotal:
        return self.total(Section.GROSS_PROFIT)

    @property
    def net_profit(self) -> SectionTotal:
        return self.total(Section.NET_PROFIT)

    def lines_in(self, section: Section) -> tuple[VarianceLine, ...]:
        return tuple(line for line in self.lines if line.section is section)

    @property
    def material_lines(self) -> tuple[VarianceLine, ...]:
        return tuple(line for line in self.lines if line.month.material)


def variance_for_period(
    *,
    lines: Sequence[AccountBalances],
    period: Period,
    financial_year_end_month: int,
    financial_year_end_day: int,
    thresholds: MaterialityThresholds | None = None,
) -> VarianceReport:
    """The month's and the year-to-date's variance per account, with the report's totals."""
    thresholds = thresholds or MaterialityThresholds()
    tracking_option_id = _check_lines(lines)
    year_start = financial_year_start(
        period=period,
        financial_year_end_month=financial_year_end_month,
        financial_year_end_day=financial_year_end_day,
    )
    ordered = sorted(lines, key=lambda a: (list(Section).index(a.section), a.code, a.name))
    month_totals = _section_totals(ordered, first=period, last=period)
    ytd_totals = _section_totals(ordered, first=year_start, last=period)
    return VarianceReport(
        period=period,
        financial_year_start=year_start,
        tracking_option_id=tracking_option_id,
        lines=tuple(
            _variance_line(account, period=period, year_start=year_start, thresholds=thresholds)
            for account in ordered
        ),
        totals=tuple(
            SectionTotal(
                section=section,
                month=_total_comparison(section, month_totals[section], thresholds=thresholds),
                year_to_date=_total_comparison(section, ytd_totals[section], thresholds=thresholds),
            )
            for section in Section
        ),
    )


def _check_lines(lines: Sequence[AccountBalances]) -> str | None:
    """The tracking option all lines share; mixing them would count the same money twice."""
    options = {account.tracking_option_id for account in lines}
    if len(options) > 1:
        raise ValueError("lines for different tracking options cannot share one report")
    account_ids = [account.account_id for account in lines]
    if len(account_ids) != len(set(account_ids)):
        raise ValueError("an account appears more than once")
    return options.pop() if options else None


def _variance_line(
    account: AccountBalances,
    *,
    period: Period,
    year_start: Period,
    thresholds: MaterialityThresholds,
) -> VarianceLine:
    threshold = thresholds.threshold_for(
        account_class=account.account_class, account_type=account.account_type
    )
    higher_is_favourable = account.account_class == "REVENUE"
    return VarianceLine(
        account_id=account.account_id,
        code=account.code,
        name=account.name,
        account_type=account.account_type,
        account_class=account.account_class,
        tracking_option_id=account.tracking_option_id,
        section=account.section,
        month=comparison_build(
            actual=account.actual_between(first=period, last=period),
            budget=account.budget_between(first=period, last=period),
            higher_is_favourable=higher_is_favourable,
            threshold=threshold,
        ),
        year_to_date=comparison_build(
            actual=account.actual_between(first=year_start, last=period),
            budget=account.budget_between(first=year_start, last=period),
            higher_is_favourable=higher_is_favourable,
            threshold=threshold,
        ),
    )


def _section_totals(
    accounts: Iterable[AccountBalances], *, first: Period, last: Period
) -> dict[Section, tuple[Decimal, Decimal]]:
    """(actual, budget) per section, each the exact sum of the lines' cent amounts."""
    totals = {section: (Decimal(0), Decimal(0)) for section in Section}
    for account in accounts:
        totals[account.section] = _plus(
            totals[account.section],
            (
                account.actual_between(first=first, last=last),
                account.budget_between(first=first, last=last),
            ),
        )
    totals[Section.GROSS_PROFIT] = _minus(totals[Section.INCOME], totals[Section.COST_OF_SALES])
    totals[Section.NET_PROFIT] = _minus(
        _plus(totals[Section.GROSS_PROFIT], totals[Section.OTHER_INCOME]),
        totals[Section.OPERATING_EXPENSES],
    )
    return totals


def _plus(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
    return a[0] + b[0], a[1] + b[1]


def _minus(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> tuple[Decimal, Decimal]:
    return a[0] - b[0], a[1] - b[1]


def _total_comparison(
    section: Section, amounts: tuple[Decimal, Decimal], *, thresholds: MaterialityThresholds
) -> Comparison:
    actual, budget = amounts
    return comparison_build(
        actual=actual,
        budget=budget,
        higher_is_favourable=HIGHER_IS_FAVOURABLE[section],
        threshold=thresholds.threshold_for(account_class=SECTION_CLASS.get(section)),
    )


@dataclass(frozen=True)
class SeriesPoint:
    period: Period
    actual: Decimal
    budget: Decimal
    # The forecast budget's figure for the month, once the organisation has one beside its
    # original budget and it has a figure for the month (None otherwise: not drawn as zero).
    forecast: Decimal | None = None
    # Whether the budget has any figure for the month: a chart draws the budget only from the
    # month it exists, and a table says "no budget" rather than a zero and a variance.
    budgeted: bool = True

    @property
    def variance(self) -> Decimal:
        return self.actual - self.budget


def variance_series(
    *,
    lines: Sequence[AccountBalances],
    end_period: Period,
    months: int = 24,
    account_id: str | None = None,
) -> tuple[SeriesPoint, ...]:
    """Actual against budget for each of `months` months up to `end_period`, oldest first.

    For one account when `account_id` is given, otherwise for net profit across `lines`.
    """
    _check_period(end_period)
    _check_lines(lines)
    if account_id is not None:
        lines = [account for account in lines if account.account_id == account_id]
        if not lines:
            raise ValueError(f"no account {account_id} among the lines")
    points = []
    for offset in range(months - 1, -1, -1):
        period = add_months(end_period, -offset)
        if account_id is None:
            actual, budget = _section_totals(lines, first=period, last=period)[Section.NET_PROFIT]
        else:
            actual = lines[0].actual_between(first=period, last=period)
            budget = lines[0].budget_between(first=period, last=period)
        budgeted = any(period in line.budgets for line in lines)
        points.append(SeriesPoint(period=period, actual=actual, budget=budget, budgeted=budgeted))
    return tuple(points)
