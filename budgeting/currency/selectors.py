"""Reads for currency effects: budget rates, and the synced documents' foreign amounts per
account, currency and month (budgeting.ledger's TransactionLine keeps each line's document
currency, LineAmount and CurrencyRate as Xero sent them, so no further sync is needed).

Every function takes the firm explicitly and runs a fixed number of queries whatever the number
of accounts or lines.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import Coalesce

from budgeting.currency.maths import (
    ZERO,
    BudgetRates,
    CurrencyMonth,
    CurrencySplit,
    currency_split,
)
from budgeting.currency.models import BudgetRate
from budgeting.ledger.models import Account, BudgetBalance, TrackingOption, TransactionLine
from core.months import add_months, month_start
from integrations.xero.documents import line_net_of_tax
from tenants.models import ClientOrganisation, Firm

Period = dt.date
# Xero's currency system accounts (Account.SystemAccount), and the P&L line its standard layout
# shows them on (budgeting.ledger.sync.FX_GROUP): their whole variance is a currency effect.
CURRENCY_SYSTEM_ACCOUNTS = frozenset(
    {"REALISEDCURRENCYGAIN", "UNREALISEDCURRENCYGAIN", "BANKCURRENCYGAIN"}
)
FX_GROUP = "FXGROUPID"


def account_is_fx(account: Account) -> bool:
    return account.account_id == FX_GROUP or account.system_account in CURRENCY_SYSTEM_ACCOUNTS


def budget_rates_list(*, firm: Firm, organisation: ClientOrganisation) -> list[BudgetRate]:
    return list(BudgetRate.objects.for_firm(firm).filter(organisation=organisation))


def budget_rates_map(*, firm: Firm, organisation: ClientOrganisation) -> BudgetRates:
    """(currency, month or None for every month) -> rate, for the maths."""
    return {
        (rate.currency, rate.period): rate.rate
        for rate in BudgetRate.objects.for_firm(firm).filter(organisation=organisation)
    }


def budget_rate_get_or_none(
    *, firm: Firm, organisation: ClientOrganisation, rate_id: int
) -> BudgetRate | None:
    return BudgetRate.objects.for_firm(firm).filter(organisation=organisation, pk=rate_id).first()


def _foreign_amount(line: dict) -> Decimal:
    """The line in its document's currency, net of tax, in the P&L's natural sign (the sign of
    its base amount, which the sync stored that way)."""
    net = line_net_of_tax(line["line_amount"], line["tax_amount"], line["line_amount_types"])
    return abs(net).copy_sign(line["amount"]) if line["amount"] else ZERO


def _lines(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    first: Period,
    last: Period,
    tracking_option: TrackingOption | None = None,
    accounts: Iterable[int] | None = None,
):
    lines = TransactionLine.objects.for_firm(firm).filter(
        organisation=organisation,
        account__isnull=False,
        date__gte=first,
        date__lt=add_months(last, 1),
    )
    if accounts is not None:
        lines = lines.filter(account__in=list(accounts))
    if tracking_option is not None:
        lines = lines.filter(
            Q(tracking_option=tracking_option) | Q(tracking_option_2=tracking_option)
        )
    return lines.order_by().values(
        "date",
        "currency_code",
        "amount",
        "line_amount",
        "tax_amount",
        "line_amount_types",
        # A line on a currency system account counts on the P&L line that shows it.
        report_account_id=Coalesce("account__report_group_id", "account_id"),
    )


@dataclass
class AccountActivity:
    """One account's synced lines over a span: foreign ones by currency and month, and the
    total of those in base currency."""

    months: list[CurrencyMonth]
    base_lines: Decimal


def account_activity(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    base_currency: str,
    first: Period,
    last: Period,
    tracking_option: TrackingOption | None = None,
) -> dict[int, AccountActivity]:
    """By account id (the P&L line's): the lines of months first..last, in one query."""
    foreign: dict[int, dict[tuple[str, Period], list[Decimal]]] = defaultdict(dict)
    base: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in _lines(
        firm=firm,
        organisation=organisation,
        first=first,
        last=last,
        tracking_option=tracking_option,
    ):
        account_id = line["report_account_id"]
        base[account_id] += line["amount"]
        currency = line["currency_code"]
        if currency in ("", base_currency):
            continue
        key = (currency, month_start(line["date"]))
        totals = foreign[account_id].setdefault(key, [ZERO, ZERO])
        totals[0] += _foreign_amount(line)
        totals[1] += line["amount"]
    activity = {}
    for account_id, total in base.items():
        months = [
            CurrencyMonth(currency=currency, period=period, foreign=f, base=b)
            for (currency, period), (f, b) in sorted(foreign[account_id].items())
        ]
        activity[account_id] = AccountActivity(
            months=months, base_lines=total - sum((m.base for m in months), ZERO)
        )
    return activity


@dataclass(frozen=True)
class Figures:
    """An account's P&L actual and budget over one span, as variance measured them."""

    actual: Decimal
    budget: Decimal


@dataclass(frozen=True)
class AccountCurrencyEffects:
    account: Account
    month: CurrencySplit
    year_to_date: CurrencySplit


def currency_effects_for(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    base_currency: str,
    accounts: Mapping[int, Account],
    period: Period,
    year_start: Period,
    month_figures: Mapping[int, Figures],
    year_figures: Mapping[int, Figures],
    tracking_option: TrackingOption | None = None,
) -> dict[int, AccountCurrencyEffects]:
    """By account id: the split of the month's and the year to date's variance, for every
    account with foreign-currency lines in the year to date and for the currency gains and
    losses line. Two queries."""
    rates = budget_rates_map(firm=firm, organisation=organisation)
    month_activity = account_activity(
        firm=firm,
        organisation=organisation,
        base_currency=base_currency,
        first=period,
        last=period,
        tracking_option=tracking_option,
    )
    year_activity = account_activity(
        firm=firm,
        organisation=organisation,
        base_currency=base_currency,
        first=year_start,
        last=period,
        tracking_option=tracking_option,
    )
    empty = AccountActivity(months=[], base_lines=ZERO)
    effects = {}
    for account_id, account in accounts.items():
        fx = account_is_fx(account)
        year = year_activity.get(account_id, empty)
        if not fx and not year.months:
            continue
        splits = []
        for figures, activity in (
            (month_figures, month_activity.get(account_id, empty)),
            (year_figures, year),
        ):
            figure = figures.get(account_id, Figures(actual=ZERO, budget=ZERO))
            splits.append(
                currency_split(
                    actual=figure.actual,
                    budget=figure.budget,
                    months=activity.months,
                    base_lines=activity.base_lines,
                    budget_rates=rates,
                    fx_account=fx,
                )
            )
        effects[account_id] = AccountCurrencyEffects(
            account=account, month=splits[0], year_to_date=splits[1]
        )
    return effects


@dataclass(frozen=True)
class ActualRate:
    """A currency's synced lines in one month, over every P&L account."""

    currency: str
    period: Period
    foreign: Decimal
    base: Decimal
    lines: int
    budget_rate: Decimal | None

    @property
    def rate(self) -> Decimal | None:
        return CurrencyMonth(self.currency, self.period, self.foreign, self.base).rate


def actual_rates(
    *, firm: Firm, organisation: ClientOrganisation, base_currency: str, first: Period, last: Period
) -> list[ActualRate]:
    """Per currency and month: the foreign amount, its base value and the average rate of the
    synced document lines on Profit and Loss accounts. Two queries."""
    rates = budget_rates_map(firm=firm, organisation=organisation)
    totals: dict[tuple[str, Period], list] = {}
    profit_and_loss = Account.objects.for_firm(firm).filter(
        organisation=organisation, account_class__in=("REVENUE", "EXPENSE")
    )
    for line in _lines(firm=firm, organisation=organisation, first=first, last=last).filter(
        account__in=profit_and_loss
    ):
        if line["currency_code"] in ("", base_currency):
            continue
        key = (line["currency_code"], month_start(line["date"]))
        row = totals.setdefault(key, [ZERO, ZERO, 0])
        row[0] += _foreign_amount(line)
        row[1] += line["amount"]
        row[2] += 1
    return [
        ActualRate(
            currency=currency,
            period=period,
            foreign=f,
            base=b,
            lines=n,
            budget_rate=rates.get((currency, period), rates.get((currency, None))),
        )
        for (currency, period), (f, b, n) in sorted(totals.items())
    ]


def document_rate_pairs(
    *, firm: Firm, organisation: ClientOrganisation, currency: str, first: Period, last: Period
) -> list[tuple[Decimal, Decimal]]:
    """(foreign, base) of every synced line in `currency` dated in months first..last, on any
    account: the organisation's own documents, the source of an average budget rate."""
    return [
        (_foreign_amount(line), line["amount"])
        for line in _lines(firm=firm, organisation=organisation, first=first, last=last)
        if line["currency_code"] == currency
    ]


def currencies_used(
    *, firm: Firm, organisation: ClientOrganisation, base_currency: str
) -> list[str]:
    """The foreign currencies of the organisation's synced documents, and of its budget rates."""
    used = set(
        TransactionLine.objects.for_firm(firm)
        .filter(organisation=organisation)
        .exclude(currency_code__in=("", base_currency))
        .values_list("currency_code", flat=True)
        .distinct()
    )
    used |= set(
        BudgetRate.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list("currency", flat=True)
    )
    return sorted(used)


def budget_months(*, firm: Firm, organisation: ClientOrganisation) -> tuple[Period, Period] | None:
    """The first and last month of the organisation's budgets, or None with no budget."""
    periods = (
        BudgetBalance.objects.for_firm(firm)
        .filter(organisation=organisation)
        .order_by("period")
        .values_list("period", flat=True)
    )
    first = periods.first()
    if first is None:
        return None
    return first, periods.last()


def documents_first_month(*, firm: Firm, organisation: ClientOrganisation) -> Period | None:
    """The month of the earliest synced document line, or None."""
    first = (
        TransactionLine.objects.for_firm(firm)
        .filter(organisation=organisation)
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    return month_start(first) if first else None
