"""The facts behind one material variance, and the narrative written from them.

Facts are everything a narrative may cite. They are stored with the narrative (`to_dict`), so a
reader can check every number in the text against the data it came from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgeting.variance.maths import (
    AccountBalances,
    MaterialityThreshold,
    MaterialityThresholds,
    Period,
    comparison_build,
)
from core.money import money
from core.months import add_months

# Enough months to tell a recurring contact from a one-off without reaching back past the
# period a budget was likely set in.
PRIOR_MONTHS = 6


@dataclass(frozen=True)
class TransactionLine:
    """One invoice, bill, credit note, bank transaction or manual journal line posted to the
    account."""

    date: dt.date
    contact_name: str  # "" when the document has no contact (a bank fee, say)
    description: str
    amount: Decimal  # in base currency, with the Profit and Loss's natural sign for the account
    # Xero's: ACCREC, ACCPAY, ACCRECCREDIT, ACCPAYCREDIT, SPEND, RECEIVE; MANJOURNAL for a
    # manual journal
    document_type: str
    document_number: str

    def to_dict(self) -> dict[str, str]:
        return {
            "date": self.date.isoformat(),
            "contact_name": self.contact_name,
            "description": self.description,
            "amount": str(money(self.amount)),
            "document_type": self.document_type,
            "document_number": self.document_number,
        }


@dataclass(frozen=True)
class MonthActivity:
    """The account's synced transaction lines in one month; empty lines mean a quiet month."""

    period: Period
    lines: tuple[TransactionLine, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.isoformat(),
            "lines": [line.to_dict() for line in self.lines],
        }


@dataclass(frozen=True)
class TrendPoint:
    period: Period
    actual: Decimal
    budget: Decimal

    def to_dict(self) -> dict[str, str]:
        return {
            "period": self.period.isoformat(),
            "actual": str(self.actual),
            "budget": str(self.budget),
        }


@dataclass(frozen=True)
class Trend:
    recent: tuple[TrendPoint, ...]  # up to three months before the period, oldest first
    same_month_last_year: TrendPoint | None

    def to_dict(self) -> dict[str, Any]:
        last_year = self.same_month_last_year
        return {
            "recent": [point.to_dict() for point in self.recent],
            "same_month_last_year": last_year.to_dict() if last_year else None,
        }


@dataclass(frozen=True)
class VarianceFacts:
    account_id: str
    account_code: str
    account_name: str
    account_type: str
    account_class: str  # REVENUE or EXPENSE
    period: Period
    currency_code: str
    actual: Decimal
    budget: Decimal
    variance: Decimal  # actual - budget
    percent: Decimal | None  # None when there is no budget
    favourable: bool | None
    threshold: MaterialityThreshold
    lines: tuple[TransactionLine, ...]  # this month's
    prior_months: tuple[MonthActivity, ...]  # each synced month before the period, oldest first
    trend: Trend
    # Who may be named in the text, for masking before anything leaves the app (provider.py):
    # people (the firm's users, the client's staff on wage lines, a salesperson's tracking
    # option), every synced contact of the organisation (a description may name another one
    # than its line's), and email addresses. Not facts a narrative cites: left out of
    # `to_dict`, so they are neither stored nor hashed, and a new member rewrites nothing.
    person_names: tuple[str, ...] = ()
    contact_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    # The month's variance split by currency (budgeting.currency.maths.split_to_dict) and what
    # it says in words, for an account with foreign-currency activity; empty otherwise, and
    # then left out of `to_dict` so the other accounts' facts (and hashes) are unchanged.
    currency_effects: dict[str, Any] | None = None
    currency_sentences: tuple[str, ...] = ()

    @property
    def transactions_total(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), Decimal(0)))

    @property
    def unexplained(self) -> Decimal:
        """What the month's synced lines leave unexplained of the actual (the sync stores the
        same figure as a DriverRemainder): never dropped from what a reader is shown."""
        return money(self.actual - self.transactions_total)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, with every number as a string so nothing is lost to floats."""
        facts = self._to_dict()
        if self.currency_effects:
            facts["currency_effects"] = {
                **self.currency_effects,
                "sentences": list(self.currency_sentences),
            }
        return facts

    def _to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account_code": self.account_code,
            "account_name": self.account_name,
            "account_type": self.account_type,
            "account_class": self.account_class,
            "period": self.period.isoformat(),
            "currency_code": self.currency_code,
            "actual": str(self.actual),
            "budget": str(self.budget),
            "variance": str(self.variance),
            "percent": None if self.percent is None else str(self.percent),
            "favourable": self.favourable,
            "threshold": {
                "percent": str(self.threshold.percent),
                "floor": str(self.threshold.floor),
            },
            "transactions_total": str(self.transactions_total),
            "unexplained": str(self.unexplained),
            "lines": [line.to_dict() for line in self.lines],
            "prior_months": [month.to_dict() for month in self.prior_months],
            "trend": self.trend.to_dict(),
        }


def variance_facts_build(
    *,
    account: AccountBalances,
    period: Period,
    currency_code: str,
    transactions: Iterable[TransactionLine],
    thresholds: MaterialityThresholds | None = None,
    prior_months: int = PRIOR_MONTHS,
    synced_from: Period | None = None,
    person_names: Iterable[str] = (),
    contact_names: Iterable[str] = (),
    emails: Iterable[str] = (),
) -> VarianceFacts:
    """Facts for `account` in `period` from its balances and its synced transaction lines.

    `synced_from` is the first month whose transactions were synced; earlier months are left out
    rather than read as months with no activity.
    """
    thresholds = thresholds or MaterialityThresholds()
    threshold = thresholds.threshold_for(
        account_class=account.account_class, account_type=account.account_type
    )
    comparison = comparison_build(
        actual=account.actual_between(first=period, last=period),
        budget=account.budget_between(first=period, last=period),
        higher_is_favourable=account.account_class == "REVENUE",
        threshold=threshold,
    )
    by_period = _lines_by_period(transactions)
    first_prior = add_months(period, -prior_months)
    if synced_from is not None:
        first_prior = max(first_prior, synced_from)
    return VarianceFacts(
        account_id=account.account_id,
        account_code=account.code,
        account_name=account.name,
        account_type=account.account_type,
        account_class=account.account_class,
        period=period,
        currency_code=currency_code,
        actual=comparison.actual,
        budget=comparison.budget,
        variance=comparison.variance,
        percent=comparison.percent,
        favourable=comparison.favourable,
        threshold=threshold,
        lines=by_period.get(period, ()),
        prior_months=tuple(
            MonthActivity(period=month, lines=by_period.get(month, ()))
            for month in _months_between(first=first_prior, before=period)
        ),
        trend=_trend(account, period=period),
        person_names=tuple(person_names),
        contact_names=tuple(contact_names),
        emails=tuple(emails),
    )


def _lines_by_period(
    transactions: Iterable[TransactionLine],
) -> dict[Period, tuple[TransactionLine, ...]]:
    grouped: dict[Period, list[TransactionLine]] = {}
    for line in transactions:
        grouped.setdefault(line.date.replace(day=1), []).append(line)
    # Sorted so the same data always gives the same facts, whatever order the database used.
    return {
        month: tuple(sorted(lines, key=lambda x: (x.date, x.document_number, x.description)))
        for month, lines in grouped.items()
    }


def _months_between(*, first: Period, before: Period) -> list[Period]:
    months = []
    month = first
    while month < before:
        months.append(month)
        month = add_months(month, 1)
    return months


def _trend(account: AccountBalances, *, period: Period) -> Trend:
    def point(month: Period) -> TrendPoint | None:
        if month not in account.actuals:
            return None
        return TrendPoint(
            period=month,
            actual=money(account.actuals[month]),
            budget=money(account.budgets.get(month, 0)),
        )

    recent = (point(add_months(period, offset)) for offset in (-3, -2, -1))
    return Trend(
        recent=tuple(p for p in recent if p is not None),
        same_month_last_year=point(add_months(period, -12)),
    )


@dataclass(frozen=True)
class Narrative:
    """A plain-English explanation, stored with the facts and drivers every number came from."""

    text: str
    facts: dict[str, Any]
    generator: str
    drivers: list[dict[str, Any]]
    # Why the outside provider's answer was not used (its check failed, or it gave none); empty
    # when it was, or when the local generator was the one asked.
    fallback: str = ""
