"""What Xero would answer and the fewest calls it allows, worked out from the sandbox's own
data and Xero's documented rules, independently of the sync's code: the sync tests compare
what the sync stored and how many calls it made with these."""

import calendar
import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal

from core.months import add_months, month_key, months_between
from integrations.xero.sandbox.behaviour import BUDGET_CAP_MONTHS, Behaviour
from integrations.xero.sandbox.model import CURRENCY_SYSTEM_ACCOUNTS
from integrations.xero.sandbox.orgs.ledger import (
    profit_and_loss_by_month,
    profit_and_loss_by_option,
)


def fewest_report_calls(months: list[dt.date]) -> int:
    """The fewest P&L calls that return whole months, by Xero's documented rule: one call is a
    base month plus up to 11 earlier months, each no longer than the base month (the base
    month's date range is applied to every prior period). Worked out by dynamic programming."""
    days = [calendar.monthrange(m.year, m.month)[1] for m in months]
    best = [0] + [10**9] * len(months)  # best[i]: calls for the first i months (oldest first)
    for end in range(1, len(months) + 1):
        base = end - 1
        for start in range(base, max(-1, base - 12), -1):
            if days[start] > days[base]:
                break
            best[end] = min(best[end], best[start] + 1)
    return best[-1]


def fewest_balance_sheet_calls(months: list[dt.date]) -> int:
    """A balance sheet is at a date: one call gives a month's end and up to 11 before it."""
    return math.ceil(len(months) / 12)


def budget_horizon(current: dt.date, year_end_month: int) -> tuple[dt.date, int]:
    """The first month and the number of months the budgets are read over: from the start of
    the financial year of the last closed month to the end of the financial year twelve months
    ahead."""

    def year_start(month: dt.date) -> dt.date:
        start = year_end_month % 12 + 1
        return dt.date(month.year if month.month >= start else month.year - 1, start, 1)

    last_closed = dt.date(current.year - (current.month == 1), (current.month - 2) % 12 + 1, 1)
    ahead = dt.date(current.year + 1, current.month, 1)
    first = year_start(last_closed)
    return first, len(months_between(first, year_start(ahead))) + 11


def expected_calls(org, behaviour: Behaviour, current: dt.date, actual_months: int) -> int:
    """The fewest calls Xero's answers allow under this behaviour, worked out from the
    sandbox's own data and Xero's documented rules, independently of the sync's code."""
    months = months_between(add_months(current, -actual_months), current)
    categories = sum(1 for c in org.tracking_categories if c.options)
    tracking_combined = behaviour.pl_periods_with_tracking == "combined"
    per_category = fewest_report_calls(months) if tracking_combined else len(months)
    _first, horizon = budget_horizon(current, org.financial_year_end_month)
    window = BUDGET_CAP_MONTHS if behaviour.budget_window == "capped" else 24
    retention = add_months(current, -6)
    since = dt.datetime(retention.year, retention.month, 1)
    pages = sum(
        max(
            1,
            math.ceil(
                sum(1 for d in org.documents if d.endpoint == e and d.updated_utc >= since) / 1000
            ),
        )
        for e in ("Invoices", "CreditNotes", "BankTransactions")
    )
    # ManualJournals, paged the same way (Xero's own currency entries are not listed).
    journals = sum(1 for j in org.manual_journals if not j.system and j.updated_utc >= since)
    pages += max(1, math.ceil(journals / 1000))
    return (
        4
        + len(org.budgets) * math.ceil(horizon / window)
        + fewest_report_calls(months)
        + fewest_balance_sheet_calls(months)
        + categories * per_category
        + pages
        + _options_left_out_unproven(org, behaviour, months)
    )


def _options_left_out_unproven(org, behaviour: Behaviour, months: list[dt.date]) -> int:
    """Option-months a report leaves out (no figures) where nothing shows they are zero: with
    no Unassigned column, a month's Total differs from its option columns whenever lines with
    no option of the category have figures. Each needs a request with trackingOptionID. (The
    cases here leave options out only on month-by-month reports.)"""
    if behaviour.pl_missing_options != "omitted" or behaviour.pl_unassigned_column:
        return 0
    assert behaviour.pl_periods_with_tracking != "combined"
    overall, by_option = xero_ledger(org)
    count = 0
    for category in org.tracking_categories:
        options = [o.option_id for o in category.options if o.status == "ACTIVE"]
        for key in (month_key(m) for m in months):
            rows = {a for (a, k) in overall if k == key}
            empty = [o for o in options if not any(by_option.get((o, a, key)) for a in rows)]
            unassigned = any(
                overall[(a, key)] != sum(by_option.get((o, a, key), Decimal(0)) for o in options)
                for a in rows
            )
            count += len(empty) if unassigned else 0
    return count


def xero_ledger(org) -> tuple[dict, dict]:
    """What Xero's P&L holds, from the sandbox's documents and journals: per (AccountID or
    FXGROUPID, "YYYY-MM") overall, and per option."""
    grouped = org.currency_accounts_grouped
    currency = {a.account_id for a in org.accounts if a.system_account in CURRENCY_SYSTEM_ACCOUNTS}

    def row(account_id: str) -> str:
        return "FXGROUPID" if grouped and account_id in currency else account_id

    overall: dict = defaultdict(Decimal)
    for account_id, by_key in profit_and_loss_by_month(
        org.accounts, org.documents, org.manual_journals
    ).items():
        for key, amount in by_key.items():
            overall[(row(account_id), key)] += amount
    by_option: dict = defaultdict(Decimal)
    for option_id, actuals in profit_and_loss_by_option(org.accounts, org.documents).items():
        for account_id, by_key in actuals.items():
            for key, amount in by_key.items():
                by_option[(option_id, row(account_id), key)] += amount
    classes = {a.account_id: a.account_class for a in org.accounts if a.on_profit_and_loss}
    for journal in org.manual_journals:
        if journal.status != "POSTED":
            continue
        for line in journal.lines:
            if line.account_id not in classes:
                continue
            # LineAmount is a debit when positive: it adds to an expense account.
            amount = (
                -line.line_amount if classes[line.account_id] == "REVENUE" else line.line_amount
            )
            for _category, option_id in line.tracking:
                by_option[(option_id, row(line.account_id), month_key(journal.date))] += amount
    return overall, by_option
