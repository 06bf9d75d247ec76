"""Currency effects in a variance: pure maths on plain values, no ORM and no request.

Rates are Xero's way round: units of the foreign currency per one unit of the base currency
(`CurrencyRate`, "1 NZD = 0.61 USD" is 0.61). An amount of foreign currency F is worth F / rate
in base currency, so a lower rate is a weaker base currency (each unit of base buys less).

For one account over one span (a month or the year to date), with every figure in the Profit and
Loss's natural sign (revenue and expenses both positive):

- rate effect, per currency: the actual lines in base currency less the same foreign amounts at
  the budget rate, month by month: F/actual rate - F/budget rate, the difference of the rates on
  the actual foreign volume, in base currency;
- currency gains and losses: the whole variance of Xero's currency system accounts (realised and
  unrealised gains, bank revaluations: the P&L's FXGROUPID line), shown as an effect of its own;
- volume effect: the rest of the variance, i.e. actual at budget rates less budget.

The three add up to the variance to the cent by construction: every effect is rounded to the
cent first and the volume effect takes what is left, never a rounding difference of its own.
What the synced lines do not explain of the actual (the remainder) is returned beside them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.money import money

Period = dt.date
ZERO = Decimal("0.00")
# Xero sends CurrencyRate with at most six decimal places; budget rates are kept the same way.
RATE_PLACES = Decimal("0.000001")
# The rates a budget rate may be: a positive number Xero could send (18.6 digits).
RATE_MAX = Decimal("999999999999")


def rate_check(rate: Decimal) -> Decimal:
    """A budget rate as stored: positive, to six decimal places; ValueError otherwise."""
    if not rate.is_finite() or rate <= 0:
        raise ValueError("a rate must be more than zero")
    if rate > RATE_MAX:
        raise ValueError("a rate must be less than a trillion")
    rounded = rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    if rounded <= 0:
        raise ValueError("a rate must be at least 0.000001")
    return rounded


def at_rate(foreign: Decimal, rate: Decimal) -> Decimal:
    """A foreign amount in base currency at `rate`, to the cent half up, as Xero converts."""
    return money(foreign / rate)


def average_rate(pairs: Iterable[tuple[Decimal, Decimal]]) -> Decimal | None:
    """The average rate of (foreign, base) amounts, weighted by value (their totals' ratio, the
    rate that converts the total as Xero converted the parts); None when there is nothing."""
    foreign = base = Decimal(0)
    for f, b in pairs:
        foreign += abs(f)
        base += abs(b)
    if not foreign or not base:
        return None
    return rate_check(foreign / base)


@dataclass(frozen=True)
class CurrencyMonth:
    """One account's synced lines in one foreign currency in one month."""

    currency: str
    period: Period
    foreign: Decimal  # in the currency, net of tax, in the P&L's natural sign
    base: Decimal  # the same lines in base currency as Xero converted them

    @property
    def rate(self) -> Decimal | None:
        return (self.foreign / self.base).quantize(RATE_PLACES) if self.base else None


BudgetRates = Mapping[tuple[str, Period | None], Decimal]


def budget_rate_for(rates: BudgetRates, *, currency: str, period: Period) -> Decimal | None:
    """The month's own budget rate, or the currency's rate for every month, or None."""
    return rates.get((currency, period), rates.get((currency, None)))


@dataclass(frozen=True)
class RateEffect:
    """What one currency's rates did to an account's figure over a span."""

    currency: str
    foreign: Decimal  # actual foreign amount
    base: Decimal  # actual, in base currency as Xero converted it
    at_budget_rate: Decimal  # the same foreign amounts at the budget rates (base where none)
    effect: Decimal  # base - at_budget_rate
    missing_months: tuple[Period, ...]  # months with activity but no budget rate

    @property
    def actual_rate(self) -> Decimal | None:
        return (self.foreign / self.base).quantize(RATE_PLACES) if self.base else None

    @property
    def budget_rate(self) -> Decimal | None:
        """The budget rate the span's foreign amount was valued at, on average."""
        if self.missing_months or not self.at_budget_rate:
            return None
        return (self.foreign / self.at_budget_rate).quantize(RATE_PLACES)


@dataclass(frozen=True)
class CurrencySplit:
    """An account's variance split into its parts; volume + rate + gains and losses = variance."""

    actual: Decimal
    budget: Decimal
    variance: Decimal
    volume: Decimal
    rate: Decimal
    gains_losses: Decimal
    by_currency: tuple[RateEffect, ...]
    base_lines: Decimal  # synced lines in base currency
    remainder: Decimal  # the actual less every synced line: not explained by the documents
    fx_account: bool

    @property
    def parts_total(self) -> Decimal:
        return self.volume + self.rate + self.gains_losses

    @property
    def foreign_lines(self) -> Decimal:
        return sum((effect.base for effect in self.by_currency), ZERO)

    @property
    def missing_rates(self) -> tuple[str, ...]:
        return tuple(effect.currency for effect in self.by_currency if effect.missing_months)


def rate_effect(
    *, currency: str, months: Sequence[CurrencyMonth], budget_rates: BudgetRates
) -> RateEffect:
    """The rate effect of one currency over the months given (all of that currency)."""
    foreign = base = at_budget = ZERO
    missing = []
    for month in months:
        if month.currency != currency:
            raise ValueError(f"a {month.currency} month among the {currency} ones")
        foreign += month.foreign
        base += money(month.base)
        rate = budget_rate_for(budget_rates, currency=currency, period=month.period)
        if rate is None:
            # Without a budget rate the month is taken as it came: no rate effect claimed.
            missing.append(month.period)
            at_budget += money(month.base)
        else:
            at_budget += at_rate(month.foreign, rate_check(rate))
    return RateEffect(
        currency=currency,
        foreign=foreign,
        base=base,
        at_budget_rate=at_budget,
        effect=base - at_budget,
        missing_months=tuple(sorted(set(missing))),
    )


def currency_split(
    *,
    actual: Decimal,
    budget: Decimal,
    months: Sequence[CurrencyMonth],
    base_lines: Decimal,
    budget_rates: BudgetRates,
    fx_account: bool = False,
) -> CurrencySplit:
    """Split `actual - budget` of one account over one span.

    `months` are the account's foreign-currency lines by currency and month, `base_lines` the
    total of its lines in base currency. On a currency system account (`fx_account`) the whole
    variance is currency gains and losses.
    """
    actual, budget, base_lines = money(actual), money(budget), money(base_lines)
    variance = actual - budget
    currencies = sorted({m.currency for m in months})
    effects = tuple(
        rate_effect(
            currency=c, months=[m for m in months if m.currency == c], budget_rates=budget_rates
        )
        for c in currencies
    )
    explained = base_lines + sum((e.base for e in effects), ZERO)
    if fx_account:
        rate, gains_losses = ZERO, variance
    else:
        rate, gains_losses = sum((e.effect for e in effects), ZERO), ZERO
    return CurrencySplit(
        actual=actual,
        budget=budget,
        variance=variance,
        volume=variance - rate - gains_losses,
        rate=rate,
        gains_losses=gains_losses,
        by_currency=effects,
        base_lines=base_lines,
        remainder=actual - explained,
        fx_account=fx_account,
    )


def split_to_dict(split: CurrencySplit) -> dict:
    """JSON-safe, every number a string: a narrative's facts and the API's figures."""
    return {
        "actual": str(split.actual),
        "budget": str(split.budget),
        "variance": str(split.variance),
        "volume_effect": str(split.volume),
        "rate_effect": str(split.rate),
        "gains_losses": str(split.gains_losses),
        "remainder": str(split.remainder),
        "currencies": [
            {
                "currency": e.currency,
                "foreign": str(e.foreign),
                "base": str(e.base),
                "actual_rate": None if e.actual_rate is None else str(e.actual_rate),
                "budget_rate": None if e.budget_rate is None else str(e.budget_rate),
                "rate_effect": str(e.effect),
            }
            for e in split.by_currency
        ],
    }
