"""Cash: a simple three-way forecast (P&L, balance sheet, cash) as pure maths, no ORM.

The history is the organisation's own month ends (its balance sheet as synced) beside its P&L.
From it come the terms the forecast runs on: debtor days (receivables against a day's revenue),
creditor days (payables against a day's cash costs), and the GST/VAT timing (how much tax a
dollar of revenue leaves owing, and every how many months it is paid).

Each forecast month then takes the forecast P&L (revenue, cash costs, depreciation) and moves
the balance sheet:

    debtors   = debtor days x revenue / days in the month
    creditors = creditor days x cash costs / days in the month
    tax       = tax before + rate x revenue - the settlement paid this month (the liability at
                the end of the month before, in a settlement month)
    other assets fall by the depreciation; other liabilities stay as they were
    equity    = equity before + net profit
    cash      = cash before + receipts - payments - tax paid, where
                receipts = revenue + tax charged + debtors before - debtors now
                payments = cash costs + creditors before - creditors now

so assets = liabilities + equity every month, and the cash moves by exactly what the P&L and the
balance sheet say: the three statements tie to the cent (tests/budgeting/cash/test_maths.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.money import money
from core.months import add_months, days_in_month

Period = dt.date
ZERO = Decimal("0.00")
# The months of history the terms are measured over (the latest ones).
TERMS_MONTHS = 12
# A settlement cycle when the history shows none (two-monthly GST, New Zealand's most common).
DEFAULT_TAX_CYCLE = 2


@dataclass(frozen=True)
class MonthActual:
    """A closed month: its P&L and its balance sheet at the month's end."""

    period: Period
    revenue: Decimal  # income of the P&L (revenue and other income)
    costs: Decimal  # the P&L's costs but depreciation (cash costs)
    depreciation: Decimal
    cash: Decimal  # the bank accounts together
    debtors: Decimal  # accounts receivable
    creditors: Decimal  # accounts payable
    tax: Decimal  # GST/VAT owed (negative: a refund due)
    assets: Decimal  # total assets
    liabilities: Decimal  # total liabilities
    equity: Decimal  # total equity


@dataclass(frozen=True)
class MonthPlan:
    """A forecast month of the P&L."""

    period: Period
    revenue: Decimal
    costs: Decimal
    depreciation: Decimal = ZERO


@dataclass(frozen=True)
class Terms:
    debtor_days: Decimal
    creditor_days: Decimal
    tax_rate: Decimal  # GST/VAT owed per unit of revenue, net of what purchases reclaim
    tax_cycle: int  # months between settlements
    last_settlement: Period | None  # the latest month a settlement was seen in
    notes: tuple[str, ...] = ()

    @property
    def tax_percent(self) -> Decimal:
        return (self.tax_rate * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class CashMonth:
    """One month of the three statements, actual or projected."""

    period: Period
    actual: bool
    revenue: Decimal
    costs: Decimal
    depreciation: Decimal
    net_profit: Decimal
    receipts: Decimal
    payments: Decimal
    tax_paid: Decimal
    net_cash_flow: Decimal
    cash: Decimal
    debtors: Decimal
    creditors: Decimal
    tax: Decimal
    other_assets: Decimal
    other_liabilities: Decimal
    equity: Decimal

    @property
    def assets(self) -> Decimal:
        return self.cash + self.debtors + self.other_assets

    @property
    def liabilities(self) -> Decimal:
        return self.creditors + self.tax + self.other_liabilities


@dataclass(frozen=True)
class Projection:
    months: tuple[CashMonth, ...]
    terms: Terms
    threshold: Decimal | None = None
    low: CashMonth | None = None  # the lowest projected month
    below: CashMonth | None = None  # the first projected month under the threshold
    notes: tuple[str, ...] = field(default=())

    @property
    def projected(self) -> tuple[CashMonth, ...]:
        return tuple(m for m in self.months if not m.actual)


def _days(period: Period) -> Decimal:
    return Decimal(days_in_month(period))


def _ratio_days(balances: Sequence[Decimal], flows: Sequence[tuple[Period, Decimal]]) -> Decimal:
    """Days of flow the balances hold: the sum of the balances over the sum of a day's flow."""
    per_day = sum((amount / _days(period) for period, amount in flows), Decimal(0))
    if per_day <= 0:
        return ZERO
    return (sum(balances, Decimal(0)) / per_day).quantize(Decimal("0.1"))


def cash_terms(history: Sequence[MonthActual]) -> Terms:
    """Debtor days, creditor days and the GST/VAT timing of the latest TERMS_MONTHS months.

    A settlement month is one whose tax owed fell; in the other months the rise is the tax
    charged, measured against the month's revenue. The cycle is the usual gap between
    settlements."""
    recent = list(history)[-TERMS_MONTHS:]
    notes: list[str] = []
    debtor_days = _ratio_days([m.debtors for m in recent], [(m.period, m.revenue) for m in recent])
    creditor_days = _ratio_days(
        [m.creditors for m in recent], [(m.period, m.costs) for m in recent]
    )
    settlements: list[Period] = []
    charged, base = Decimal(0), Decimal(0)
    for before, month in itertools.pairwise(recent):
        if month.tax < before.tax:
            settlements.append(month.period)
        else:
            charged += month.tax - before.tax
            base += month.revenue
    rate = (charged / base).quantize(Decimal("0.0001")) if base > 0 else Decimal("0.0000")
    gaps = [(b.year - a.year) * 12 + b.month - a.month for a, b in itertools.pairwise(settlements)]
    if gaps:
        cycle = max(1, round(statistics.median(gaps)))
    else:
        cycle = DEFAULT_TAX_CYCLE
        if rate:
            notes.append(
                f"No GST/VAT settlement is seen twice in the history: assumed every {cycle} months."
            )
    return Terms(
        debtor_days=debtor_days,
        creditor_days=creditor_days,
        tax_rate=rate,
        tax_cycle=cycle,
        last_settlement=settlements[-1] if settlements else None,
        notes=tuple(notes),
    )


def _settles(period: Period, terms: Terms, last_actual: Period) -> bool:
    anchor = terms.last_settlement or last_actual
    gap = (period.year - anchor.year) * 12 + period.month - anchor.month
    return gap > 0 and gap % terms.tax_cycle == 0


def _actual_month(month: MonthActual, before: MonthActual | None) -> CashMonth:
    other_assets = month.assets - month.cash - month.debtors
    other_liabilities = month.liabilities - month.creditors - month.tax
    flow = month.cash - before.cash if before is not None else ZERO
    return CashMonth(
        period=month.period,
        actual=True,
        revenue=month.revenue,
        costs=month.costs,
        depreciation=month.depreciation,
        net_profit=month.revenue - month.costs - month.depreciation,
        receipts=ZERO,
        payments=ZERO,
        tax_paid=ZERO,
        net_cash_flow=flow,
        cash=month.cash,
        debtors=month.debtors,
        creditors=month.creditors,
        tax=month.tax,
        other_assets=other_assets,
        other_liabilities=other_liabilities,
        equity=month.equity,
    )


def cash_project(
    history: Sequence[MonthActual],
    plan: Sequence[MonthPlan],
    *,
    terms: Terms | None = None,
    threshold: Decimal | None = None,
) -> Projection:
    """The actual months, then one projected month per month of `plan` after the last actual
    one, with the lowest projected month and the first below `threshold`."""
    history = sorted(history, key=lambda m: m.period)
    if not history:
        return Projection(months=(), terms=terms or cash_terms([]), threshold=threshold)
    terms = terms or cash_terms(history)
    months = [
        _actual_month(month, history[i - 1] if i else None) for i, month in enumerate(history)
    ]
    last = months[-1]
    last_actual = last.period
    for item in sorted(plan, key=lambda m: m.period):
        if item.period <= last.period:
            continue
        if item.period != add_months(last.period, 1):
            break  # a gap in the plan: the projection stops where the figures stop
        days = _days(item.period)
        debtors = money(terms.debtor_days * item.revenue / days)
        creditors = money(terms.creditor_days * item.costs / days)
        charged = money(terms.tax_rate * item.revenue)
        tax_paid = last.tax if _settles(item.period, terms, last_actual) else ZERO
        receipts = item.revenue + charged + last.debtors - debtors
        payments = item.costs + last.creditors - creditors
        flow = receipts - payments - tax_paid
        net_profit = item.revenue - item.costs - item.depreciation
        last = CashMonth(
            period=item.period,
            actual=False,
            revenue=item.revenue,
            costs=item.costs,
            depreciation=item.depreciation,
            net_profit=net_profit,
            receipts=receipts,
            payments=payments,
            tax_paid=tax_paid,
            net_cash_flow=flow,
            cash=last.cash + flow,
            debtors=debtors,
            creditors=creditors,
            tax=last.tax + charged - tax_paid,
            other_assets=last.other_assets - item.depreciation,
            other_liabilities=last.other_liabilities,
            equity=last.equity + net_profit,
        )
        months.append(last)
    projected = [m for m in months if not m.actual]
    low = min(projected, key=lambda m: (m.cash, m.period)) if projected else None
    below = cash_first_below(projected, threshold)
    return Projection(
        months=tuple(months),
        terms=terms,
        threshold=threshold,
        low=low,
        below=below,
        notes=terms.notes,
    )


def cash_first_below(months: Sequence[CashMonth], threshold: Decimal | None) -> CashMonth | None:
    """The first month whose closing cash is under the threshold (None: never, or no
    threshold)."""
    if threshold is None:
        return None
    return next((m for m in months if m.cash < threshold), None)
