"""Consolidation of a client group: pure maths on plain values, no ORM and no request.

A service loads each member's balances (the variance package's `AccountBalances`, in the
member's base currency), the group's translation rates and its intercompany pairs, and calls
`consolidate`. What comes back is one `AccountBalances` per group line in the group's reporting
currency, ready for `budgeting.variance.maths.variance_for_period`, with each member's
translated part and the eliminations beside it, so a line's figure is always the sum of what
the drill-down shows, to the cent.

Translation: a rate is member-currency units per one unit of the reporting currency, the
direction Xero's own CurrencyRate takes (foreign units per base unit); a translated amount is
`amount / rate`, rounded to the cent half up, per account and month. A month with no amount
needs no rate; a month with an amount and no rate is refused, never read as a rate of one.

Group lines: member accounts of the same Xero Account.Type and code add up on one line (named
as the first member, by member order, names it); an account without a code is matched by name.

Eliminations: an intercompany pair is one member's income account and another member's expense
account. Both are taken out of the consolidated P&L in full; what the two sides differ by
(income minus expense, per month, actual and budget) is the pair's imbalance, reported and never
hidden, since it stays in the group's profit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from budgeting.variance.maths import AccountBalances
from core.money import money

Period = dt.date
ZERO = Decimal("0.00")
# (member currency, month) -> member-currency units per one unit of the reporting currency
RateTable = Mapping[tuple[str, Period], Decimal]


class ConsolidationError(ValueError):
    """The group cannot be consolidated as given; the message says why, for the user."""


class MissingRates(ConsolidationError):
    """Amounts in months with no translation rate: (currency, month, which figure) each."""

    def __init__(self, missing: Sequence[tuple[str, Period, str]]):
        self.missing = tuple(sorted(set(missing)))
        shown = ", ".join(f"{c} {p:%Y-%m} ({what})" for c, p, what in self.missing[:12])
        more = f" and {len(self.missing) - 12} more" if len(self.missing) > 12 else ""
        super().__init__(f"No translation rate for {shown}{more}.")


@dataclass(frozen=True)
class Member:
    """One member organisation's P&L balances in its own base currency."""

    key: str  # the caller's id of the member
    name: str
    currency: str
    balances: Sequence[AccountBalances]


@dataclass(frozen=True)
class Elimination:
    """An intercompany pair: `income_account` of member `income_member` against
    `expense_account` of member `expense_member` (Xero AccountIDs)."""

    key: str
    name: str
    income_member: str
    income_account: str
    expense_member: str
    expense_account: str


@dataclass(frozen=True)
class EliminationCheck:
    """What a pair took out, per month, and by how much its two sides differ."""

    elimination: Elimination
    income_actual: Mapping[Period, Decimal]
    expense_actual: Mapping[Period, Decimal]
    income_budget: Mapping[Period, Decimal]
    expense_budget: Mapping[Period, Decimal]

    def difference(self, *, first: Period, last: Period, budget: bool = False) -> Decimal:
        """Income minus expense over first..last: zero when the pair balances."""
        income = self.income_budget if budget else self.income_actual
        expense = self.expense_budget if budget else self.expense_actual
        return _between(income, first, last) - _between(expense, first, last)


@dataclass(frozen=True)
class GroupLine:
    """A line of the consolidated P&L: its balances and how they are made up."""

    balances: AccountBalances  # consolidated; account_id is the line's key
    members: Mapping[str, AccountBalances]  # member key -> its translated account(s) summed
    eliminated: AccountBalances  # what the intercompany pairs took out (negative amounts)


@dataclass(frozen=True)
class Consolidation:
    reporting_currency: str
    lines: tuple[GroupLine, ...]
    eliminations: tuple[EliminationCheck, ...]
    # member key -> its accounts translated (by Xero AccountID), for the drill-down
    translated: Mapping[str, tuple[AccountBalances, ...]] = field(default_factory=dict)

    @property
    def balances(self) -> tuple[AccountBalances, ...]:
        return tuple(line.balances for line in self.lines)

    def line(self, key: str) -> GroupLine | None:
        return next((line for line in self.lines if line.balances.account_id == key), None)


def translate(amount: Decimal, rate: Decimal) -> Decimal:
    """A member-currency amount in the reporting currency, to the cent (half up)."""
    if rate <= 0:
        raise ConsolidationError(f"a translation rate must be above zero, not {rate}")
    return money(Decimal(amount) / rate)


def line_key(account: AccountBalances) -> str:
    """The group line a member account adds up on: its type and code (or name, with no code)."""
    return f"{account.account_type}:{account.code or account.name.strip().lower()}"


def balances_translate(
    account: AccountBalances,
    *,
    currency: str,
    reporting_currency: str,
    actual_rates: RateTable,
    budget_rates: RateTable,
    missing: list[tuple[str, Period, str]] | None = None,
) -> AccountBalances:
    """`account` in the reporting currency: actuals at `actual_rates`, budgets at
    `budget_rates`. Unchanged when the member already reports in that currency. A month with an
    amount and no rate is added to `missing` (or raises MissingRates when none is given)."""
    if currency == reporting_currency:
        return account
    found: list[tuple[str, Period, str]] = [] if missing is None else missing

    def each(amounts: Mapping[Period, Decimal], rates: RateTable, what: str) -> dict:
        out = {}
        for period, amount in amounts.items():
            if amount == 0:
                out[period] = ZERO
                continue
            rate = rates.get((currency, period))
            if rate is None:
                found.append((currency, period, what))
                out[period] = ZERO
                continue
            out[period] = translate(amount, rate)
        return out

    translated = AccountBalances(
        account_id=account.account_id,
        code=account.code,
        name=account.name,
        account_type=account.account_type,
        account_class=account.account_class,
        actuals=each(account.actuals, actual_rates, "actual"),
        budgets=each(account.budgets, budget_rates, "budget"),
        tracking_option_id=account.tracking_option_id,
    )
    if missing is None and found:
        raise MissingRates(found)
    return translated


def consolidate(
    *,
    members: Sequence[Member],
    reporting_currency: str,
    actual_rates: RateTable,
    budget_rates: RateTable,
    eliminations: Sequence[Elimination] = (),
) -> Consolidation:
    """The group's P&L in `reporting_currency`: each member translated, summed line by line,
    with the intercompany pairs taken out. Raises MissingRates listing every month that needs
    a rate, and ConsolidationError for a pair that cannot be eliminated."""
    keys = [m.key for m in members]
    if len(keys) != len(set(keys)):
        raise ConsolidationError("a member appears more than once")
    missing: list[tuple[str, Period, str]] = []
    translated: dict[str, dict[str, AccountBalances]] = {}
    for member in members:
        translated[member.key] = {
            account.account_id: balances_translate(
                account,
                currency=member.currency,
                reporting_currency=reporting_currency,
                actual_rates=actual_rates,
                budget_rates=budget_rates,
                missing=missing,
            )
            for account in member.balances
        }
    if missing:
        raise MissingRates(missing)
    checks, taken_out = _eliminate(eliminations, translated)

    order: list[str] = []
    parts: dict[str, dict[str, list[AccountBalances]]] = {}
    first_of: dict[str, AccountBalances] = {}
    for member in members:
        for account in member.balances:
            key = line_key(account)
            if key not in parts:
                order.append(key)
                parts[key] = {}
                first_of[key] = account
            parts[key].setdefault(member.key, []).append(translated[member.key][account.account_id])

    lines = []
    for key in order:
        template = first_of[key]
        by_member = {m: _sum_accounts(accounts, template) for m, accounts in parts[key].items()}
        eliminated_parts = [
            taken_out[(m, a.account_id)]
            for m, accounts in parts[key].items()
            for a in accounts
            if (m, a.account_id) in taken_out
        ]
        eliminated = _sum_accounts(eliminated_parts, template)
        total = _sum_accounts([*by_member.values(), eliminated], template)
        lines.append(GroupLine(balances=total, members=by_member, eliminated=eliminated))
    return Consolidation(
        reporting_currency=reporting_currency,
        lines=tuple(lines),
        eliminations=tuple(checks),
        translated={m: tuple(accounts.values()) for m, accounts in translated.items()},
    )


def _eliminate(
    eliminations: Sequence[Elimination], translated: Mapping[str, Mapping[str, AccountBalances]]
) -> tuple[list[EliminationCheck], dict[tuple[str, str], AccountBalances]]:
    checks = []
    taken_out: dict[tuple[str, str], AccountBalances] = {}
    for pair in eliminations:
        if pair.income_member == pair.expense_member:
            raise ConsolidationError(f"{pair.name}: the two sides are of the same member")
        sides = []
        for member, account_id, account_class, kind in (
            (pair.income_member, pair.income_account, "REVENUE", "an income"),
            (pair.expense_member, pair.expense_account, "EXPENSE", "an expense"),
        ):
            if member not in translated:
                raise ConsolidationError(f"{pair.name}: {member} is not a member of the group")
            if (member, account_id) in taken_out:
                raise ConsolidationError(
                    f"{pair.name}: an account is in two intercompany pairs; it would be "
                    "eliminated twice"
                )
            account = translated[member].get(account_id)
            if account is not None and account.account_class != account_class:
                raise ConsolidationError(f"{pair.name}: {account.name} is not {kind} account")
            sides.append(account)
            if account is not None:
                taken_out[(member, account_id)] = _negated(account)
        income, expense = sides
        checks.append(
            EliminationCheck(
                elimination=pair,
                income_actual=dict(income.actuals) if income else {},
                expense_actual=dict(expense.actuals) if expense else {},
                income_budget=dict(income.budgets) if income else {},
                expense_budget=dict(expense.budgets) if expense else {},
            )
        )
    return checks, taken_out


def _negated(account: AccountBalances) -> AccountBalances:
    return AccountBalances(
        account_id=account.account_id,
        code=account.code,
        name=account.name,
        account_type=account.account_type,
        account_class=account.account_class,
        actuals={p: -v for p, v in account.actuals.items()},
        budgets={p: -v for p, v in account.budgets.items()},
        tracking_option_id=account.tracking_option_id,
    )


def _sum_accounts(
    accounts: Sequence[AccountBalances], template: AccountBalances
) -> AccountBalances:
    """The exact sum, month by month, of cent amounts (no rounding: they are cents already)."""
    actuals: dict[Period, Decimal] = {}
    budgets: dict[Period, Decimal] = {}
    for account in accounts:
        for period, amount in account.actuals.items():
            actuals[period] = actuals.get(period, ZERO) + amount
        for period, amount in account.budgets.items():
            budgets[period] = budgets.get(period, ZERO) + amount
    return AccountBalances(
        account_id=line_key(template),
        code=template.code,
        name=template.name,
        account_type=template.account_type,
        account_class=template.account_class,
        actuals=actuals,
        budgets=budgets,
    )


def _between(amounts: Mapping[Period, Decimal], first: Period, last: Period) -> Decimal:
    return sum((v for p, v in amounts.items() if first <= p <= last), ZERO)


def balances_window(account: AccountBalances, *, first: Period, last: Period) -> AccountBalances:
    """`account` with only the months first..last: what a report of those months needs
    translating, so a rate is asked for no month it does not show."""
    return AccountBalances(
        account_id=account.account_id,
        code=account.code,
        name=account.name,
        account_type=account.account_type,
        account_class=account.account_class,
        actuals={p: v for p, v in account.actuals.items() if first <= p <= last},
        budgets={p: v for p, v in account.budgets.items() if first <= p <= last},
        tracking_option_id=account.tracking_option_id,
    )
