"""Writes for currency effects: budget rates entered, imported from a CSV file, or taken as the
average rate of a past period of the organisation's own documents. One transaction per user
action; every change goes to the rate's history with its reason (the audit log reads it)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from budgeting.currency.maths import average_rate, rate_check
from budgeting.currency.models import BudgetRate
from budgeting.currency.selectors import budget_months, currencies_used, document_rate_pairs
from core.history import REQUEST_USER, history_note
from core.months import month_key, parse_month
from tenants.models import ClientOrganisation, Firm

CURRENCY_CODE = re.compile(r"[A-Z]{3}")
CSV_COLUMNS = ("currency", "month", "rate")
MAX_ROWS = 2000


class BudgetRateRefused(ValueError):
    """A budget rate that cannot be kept, with the reason in words."""


def budget_rate_set(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    currency: str,
    period,
    rate: Decimal,
    source: str = BudgetRate.Source.ENTERED,
    note: str = "",
    reason: str = "Budget rate set",
    user=REQUEST_USER,
) -> BudgetRate:
    """Keep `rate` for `currency` (for one month, or every month when `period` is None)."""
    rate = rate_check(rate)
    budget_rate = BudgetRate.objects.for_firm(firm).filter(
        organisation=organisation, currency=currency, period=period
    ).first() or BudgetRate(firm=firm, organisation=organisation, currency=currency, period=period)
    budget_rate.rate = rate
    budget_rate.source = source
    budget_rate.note = note
    budget_rate.updated_at = timezone.now()
    history_note(budget_rate, reason=reason, user=user)
    budget_rate.save()
    return budget_rate


def budget_rate_remove(
    *, firm: Firm, organisation: ClientOrganisation, budget_rate: BudgetRate
) -> None:
    if budget_rate.firm_id != firm.pk or budget_rate.organisation_id != organisation.pk:
        raise BudgetRate.DoesNotExist
    history_note(budget_rate, reason="Budget rate removed")
    budget_rate.delete()


def currency_refusal(
    *, currency: str, base_currency: str, known: list[str], period=None, months=None
) -> str | None:
    """Why `currency` (and `period`) cannot have a budget rate, or None."""
    if not CURRENCY_CODE.fullmatch(currency):
        return f"{currency!r} is not a three-letter currency code"
    if currency == base_currency:
        return f"{currency} is the organisation's base currency, which needs no rate"
    if currency not in known:
        used = ", ".join(known) or "none yet"
        return f"unknown currency {currency}: not in the organisation's documents (they use {used})"
    if period is not None:
        if months is None:
            return "the organisation has no budget yet, so no month can have its own rate"
        if not months[0] <= period <= months[1]:
            return (
                f"{month_key(period)} is outside the budget "
                f"({month_key(months[0])} to {month_key(months[1])})"
            )
    return None


@dataclass
class RatesImport:
    saved: list[BudgetRate] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line of the file, reason)


def budget_rates_import(
    *, firm: Firm, organisation: ClientOrganisation, base_currency: str, text: str
) -> RatesImport:
    """Rows of `currency,month,rate` (month YYYY-MM, or blank for every month). A bad row is
    refused with its line and reason; the good ones are kept, in one transaction."""
    result = RatesImport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in ("currency", "rate") if c not in header]
    if missing:
        result.refused.append((1, f"missing column(s): {', '.join(missing)}"))
        return result
    reader.fieldnames = header
    known = currencies_used(firm=firm, organisation=organisation, base_currency=base_currency)
    months = budget_months(firm=firm, organisation=organisation)
    seen: dict[tuple[str, object], int] = {}
    rows = []
    for record in reader:
        line = reader.line_num
        if len(rows) + len(result.refused) >= MAX_ROWS:
            result.refused.append((line, f"more than {MAX_ROWS} rows: the rest were not read"))
            break
        currency = (record.get("currency") or "").strip().upper()
        month_text = (record.get("month") or "").strip()
        rate_text = (record.get("rate") or "").strip()
        if not (currency or month_text or rate_text):
            continue
        period = parse_month(month_text) if month_text else None
        if month_text and period is None:
            result.refused.append((line, f"month {month_text!r} is not a month like 2026-07"))
            continue
        refusal = currency_refusal(
            currency=currency,
            base_currency=base_currency,
            known=known,
            period=period,
            months=months,
        )
        if refusal:
            result.refused.append((line, refusal))
            continue
        try:
            rate = rate_check(Decimal(rate_text.replace(",", "")))
        except InvalidOperation:
            result.refused.append((line, f"rate {rate_text!r} is not a number"))
            continue
        except ValueError as error:
            result.refused.append((line, f"rate {rate_text}: {error}"))
            continue
        if (currency, period) in seen:
            result.refused.append(
                (
                    line,
                    f"{currency} {month_text or 'every month'} is already on line "
                    f"{seen[(currency, period)]}",
                )
            )
            continue
        seen[(currency, period)] = line
        rows.append((currency, period, rate, line))
    with transaction.atomic():
        for currency, period, rate, line in rows:
            result.saved.append(
                budget_rate_set(
                    firm=firm,
                    organisation=organisation,
                    currency=currency,
                    period=period,
                    rate=rate,
                    source=BudgetRate.Source.IMPORTED,
                    note=f"Imported, line {line}",
                    reason="Budget rate imported from a file",
                )
            )
    return result


@transaction.atomic
def budget_rate_from_average(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    base_currency: str,
    currency: str,
    first,
    last,
) -> BudgetRate:
    """The every-month rate of `currency` as the value-weighted average rate of the
    organisation's synced lines in that currency dated first..last (months)."""
    known = currencies_used(firm=firm, organisation=organisation, base_currency=base_currency)
    refusal = currency_refusal(currency=currency, base_currency=base_currency, known=known)
    if refusal:
        raise BudgetRateRefused(refusal)
    if last < first:
        raise BudgetRateRefused("the period ends before it starts")
    pairs = document_rate_pairs(
        firm=firm, organisation=organisation, currency=currency, first=first, last=last
    )
    rate = average_rate(pairs)
    if rate is None:
        raise BudgetRateRefused(
            f"no synced {currency} documents between {month_key(first)} and {month_key(last)}"
        )
    return budget_rate_set(
        firm=firm,
        organisation=organisation,
        currency=currency,
        period=None,
        rate=rate,
        source=BudgetRate.Source.AVERAGE,
        note=f"Average of {len(pairs)} document lines, {month_key(first)} to {month_key(last)}",
        reason="Budget rate taken from past documents",
    )


def budget_rates_from_period(
    *, firm: Firm, organisation: ClientOrganisation, base_currency: str, first, last
) -> list[BudgetRate]:
    """Every foreign currency of the organisation's documents at its average rate of months
    first..last (a currency with no documents then is left as it was)."""
    saved = []
    for currency in currencies_used(
        firm=firm, organisation=organisation, base_currency=base_currency
    ):
        try:
            saved.append(
                budget_rate_from_average(
                    firm=firm,
                    organisation=organisation,
                    base_currency=base_currency,
                    currency=currency,
                    first=first,
                    last=last,
                )
            )
        except BudgetRateRefused:
            continue
    return saved
