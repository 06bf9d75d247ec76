"""Reports: ProfitAndLoss, BudgetSummary, BalanceSheet and TrialBalance in Xero's row format.

Amounts are strings with two decimals, as Xero writes them in reports (xero-api-facts §2).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.months import add_months_to_date, month_end, month_start
from integrations.xero.sandbox.context import ApiContext, Handler
from integrations.xero.sandbox.ledger import (
    POSTED_STATUSES,
    SYNTHETIC_NAMES,
    financial_year_start,
    journal_natural_amount,
    natural_amount,
    posted_journals,
    postings,
)
from integrations.xero.sandbox.model import (
    CURRENCY_SYSTEM_ACCOUNTS,
    PROFIT_AND_LOSS_TYPES,
    SandboxOrganisation,
)
from integrations.xero.sandbox.msdate import long_date, ms_date, parse_query_date, short_column_date
from integrations.xero.sandbox.serializers import money
from integrations.xero.sandbox.wsgi import Response, validation_error

TIMEFRAME_MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}
MAX_PERIODS = 12  # spec: "integer between 1 and 12"
# Docs: the standard layout groups "multi currency system accounts into a single line with a
# Value of FXGROUPID (instead of an AccountID)"; the label is the sandbox's choice.
FX_GROUP_ID = "FXGROUPID"
FX_GROUP_LABEL = "Foreign Currency Gains and Losses"

# P&L sections in Xero's order: (title, account types, summary label, sign in net profit).
# The leading space in " Income" is what Xero's docs example shows.
_PL_SECTIONS = [
    (" Income", ("REVENUE", "SALES"), "Total Income", 1),
    ("Less Cost of Sales", ("DIRECTCOSTS",), "Total Cost of Sales", -1),
    ("Plus Other Income", ("OTHERINCOME",), "Total Other Income", 1),
    (
        "Less Operating Expenses",
        ("EXPENSE", "OVERHEADS", "DEPRECIATN"),
        "Total Operating Expenses",
        -1,
    ),
]


class ReportParamError(ValueError):
    pass


@dataclass(frozen=True)
class Column:
    label: str
    start: dt.date
    end: dt.date
    # (TrackingCategoryID, TrackingOptionID or None for "Unassigned") filters a line must meet.
    tracking: tuple[tuple[str, str | None], ...] = ()

    def takes_tracking(self, tracking: dict[str, str]) -> bool:
        return all(tracking.get(category) == option for category, option in self.tracking)


def amount(value: Decimal) -> str:
    return f"{money(value):.2f}"


def _report(
    ctx: ApiContext, report_id: str, name: str, titles: list[str], rows: list[Any]
) -> Response:
    report = {
        "ReportID": report_id,
        "ReportName": name,
        "ReportType": report_id,
        "ReportTitles": titles,
        "ReportDate": long_date(ctx.today),
        "UpdatedDateUTC": ms_date(ctx.now),
        "Fields": [],
        "Rows": rows,
    }
    return ctx.ok("Reports", [report])


def _account_cells(label: str, account_id: str | None, values: list[str]) -> list[dict[str, Any]]:
    if account_id is None:
        return [{"Value": label}, *({"Value": v} for v in values)]
    attributes = [{"Value": account_id, "Id": "account"}]
    return [{"Value": v, "Attributes": attributes} for v in (label, *values)]


def _header(first: str, labels: list[str]) -> dict[str, Any]:
    return {"RowType": "Header", "Cells": [{"Value": first}, *({"Value": v} for v in labels)]}


def _summary(label: str, values: list[Decimal]) -> dict[str, Any]:
    return {
        "RowType": "SummaryRow",
        "Cells": _account_cells(label, None, [amount(v) for v in values]),
    }


def _int_param(ctx: ApiContext, name: str) -> int | None:
    value = ctx.request.param(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as error:
        raise ReportParamError(f"{name} must be a whole number.") from error


def _date(ctx: ApiContext, name: str) -> dt.date | None:
    value = ctx.request.param(name)
    if not value:
        return None
    try:
        return parse_query_date(value)
    except ValueError as error:
        raise ReportParamError(f"{name} must be a date in the format YYYY-MM-DD.") from error


def _periods(ctx: ApiContext) -> int:
    periods = _int_param(ctx, "periods") or 0
    if not 0 <= periods <= MAX_PERIODS:
        raise ReportParamError(f"periods must be between 1 and {MAX_PERIODS}.")
    return periods


def _reject_payments_only(ctx: ApiContext) -> None:
    if (ctx.request.param("paymentsOnly") or "").lower() == "true":
        # The sandbox has no payments to build a cash-basis report from; say so, never guess.
        raise ReportParamError("The Xero sandbox does not support paymentsOnly=true.")


def _reporting(handler: Handler) -> Handler:
    """Turn a bad report parameter into Xero's 400 ValidationException."""

    @functools.wraps(handler)
    def wrapped(ctx: ApiContext) -> Response:
        try:
            return handler(ctx)
        except ReportParamError as error:
            return validation_error(str(error))

    return wrapped


# --- Profit and Loss ------------------------------------------------------------------------------


def _pl_periods(ctx: ApiContext) -> list[tuple[dt.date, dt.date]]:
    from_date = _date(ctx, "fromDate")
    to_date = _date(ctx, "toDate")
    # Docs: fromDate defaults to the start and toDate to the end of the current month.
    if from_date is None:
        from_date = month_start(to_date or ctx.today)
    if to_date is None:
        to_date = month_end(from_date)
    if to_date < from_date:
        raise ReportParamError("toDate must be on or after fromDate.")
    periods = _periods(ctx)
    timeframe = (ctx.request.param("timeframe") or "MONTH").upper()
    if timeframe not in TIMEFRAME_MONTHS:
        raise ReportParamError("timeframe must be MONTH, QUARTER or YEAR.")
    span = to_date - from_date
    ranges = [(from_date, to_date)]
    for index in range(1, periods + 1):
        start = add_months_to_date(from_date, -index * TIMEFRAME_MONTHS[timeframe])
        # Docs: "the specified date range will apply to each period (i.e. if the specified date
        # range is for a 30 day month, each prior period will only include the first 30 days)".
        # A prior period never runs into the next one (an assumption where the docs are silent).
        end = min(start + span, ranges[-1][0] - dt.timedelta(days=1))
        ranges.append((start, end))
    return ranges


def _pl_tracking(ctx: ApiContext) -> list[tuple[str, tuple[tuple[str, str | None], ...], bool]]:
    """(label, filters, optional) per tracking column; one unfiltered column without tracking.

    `optional` marks columns that came from a whole category (not an asked-for option), which
    `pl_missing_options="omitted"` may drop when they have no amounts.
    """
    categories = {c.category_id.lower(): c for c in ctx.org.tracking_categories}
    choices: list[list[tuple[str, tuple[str, str | None], bool]]] = []
    for suffix in ("", "2"):
        category_id = ctx.request.param(f"trackingCategoryID{suffix}")
        option_id = ctx.request.param(f"trackingOptionID{suffix}")
        if not category_id:
            continue
        category = categories.get(category_id.lower())
        if category is None:
            raise ReportParamError(f"Tracking category {category_id} was not found.")
        options = [o for o in category.options if o.status == "ACTIVE"]
        if option_id:
            options = [o for o in category.options if o.option_id.lower() == option_id.lower()]
            if not options:
                raise ReportParamError(f"Tracking option {option_id} was not found.")
            choices.append([(o.name, (category.category_id, o.option_id), False) for o in options])
        else:
            # Docs: "figures for each of the options in the category as separate columns".
            choice = [(o.name, (category.category_id, o.option_id), True) for o in options]
            if ctx.behaviour.pl_unassigned_column:
                choice.append(("Unassigned", (category.category_id, None), True))
            choices.append(choice)
    if not choices:
        return [("", (), False)]
    combos: list[tuple[str, tuple[tuple[str, str | None], ...], bool]] = [("", (), False)]
    for choice in choices:
        combos = [
            (
                f"{label}, {name}" if label else name,
                (*filters, pair),
                optional or more,
            )
            for label, filters, optional in combos
            for name, pair, more in choice
        ]
    if len(combos) > 1:
        combos.append(("Total", (), False))
    return combos


def _pl_date_label(ctx: ApiContext, end: dt.date) -> str:
    style = ctx.behaviour.pl_header_labels
    if style == "long":
        return f"{end.day} {end:%b %Y}"
    if style == "month":
        return f"{end:%b %Y}"
    return short_column_date(end)


@_reporting
def profit_and_loss(ctx: ApiContext) -> Response:
    _reject_payments_only(ctx)
    tracked = any(ctx.request.param(f"trackingCategoryID{s}") for s in ("", "2"))
    periods_sent = ctx.request.param("periods") not in (None, "")
    mode = ctx.behaviour.pl_periods_with_tracking
    if tracked and periods_sent and mode == "rejected":
        raise ReportParamError("periods cannot be used together with trackingCategoryID.")
    ranges = _pl_periods(ctx)  # newest first
    if tracked and mode == "ignored":
        ranges = ranges[:1]
    if ctx.behaviour.pl_column_order == "oldest_first":
        ranges = ranges[::-1]
    tracking = _pl_tracking(ctx)
    columns: list[Column] = []
    optional: list[int] = []  # column index -> combo index, for option columns that may go
    for start, end in ranges:
        for combo, (label, filters, droppable) in enumerate(tracking):
            date_label = _pl_date_label(ctx, end)
            if not label:
                column_label = date_label
            else:
                column_label = label if len(ranges) == 1 else f"{label} {date_label}"
            columns.append(Column(column_label, start, end, filters))
            optional.append(combo if droppable else -1)
    totals = profit_and_loss_figures(ctx.org, columns)
    if ctx.behaviour.pl_missing_options == "omitted":
        # An option with no amount in any period of the range gets no column in any period.
        used = {optional[i] for (_, i), value in totals.items() if value}
        keep = [i for i, combo in enumerate(optional) if combo == -1 or combo in used]
        position = {old: new for new, old in enumerate(keep)}
        totals = {
            (account_id, position[i]): value
            for (account_id, i), value in totals.items()
            if i in position
        }
        columns = [columns[i] for i in keep]
    accounts = sorted((a for a in ctx.org.accounts if a.on_profit_and_loss), key=lambda a: a.code)
    rows: list[dict[str, Any]] = [_header("", [c.label for c in columns])]
    net = [Decimal(0)] * len(columns)
    gross: list[Decimal] | None = None
    for title, types, summary_label, sign in _PL_SECTIONS:
        if title == "Plus Other Income" and gross is not None:
            rows.append(_plain_row_section("Gross Profit", gross))
        section_rows = []
        section_total = [Decimal(0)] * len(columns)
        for label, row_id, account_ids in _pl_lines(ctx.org, accounts, types):
            values = [
                sum((totals.get((a, i), Decimal(0)) for a in account_ids), Decimal(0))
                for i in range(len(columns))
            ]
            if not any(values):
                continue
            section_rows.append(
                {
                    "RowType": "Row",
                    "Cells": _account_cells(label, row_id, [amount(v) for v in values]),
                }
            )
            section_total = [t + v for t, v in zip(section_total, values, strict=True)]
        net = [n + sign * t for n, t in zip(net, section_total, strict=True)]
        if section_rows:
            section_rows.append(_summary(summary_label, section_total))
            rows.append({"RowType": "Section", "Title": title, "Rows": section_rows})
            if title == "Less Cost of Sales":
                gross = list(net)
    rows.append(_plain_row_section("NET PROFIT", net))
    first, last = max(ranges)
    titles = ["Profit and Loss", ctx.org.name, f"{long_date(first)} to {long_date(last)}"]
    return _report(ctx, "ProfitAndLoss", "Profit and Loss", titles, rows)


def _pl_lines(
    org: SandboxOrganisation, accounts: list[Any], types: tuple[str, ...]
) -> list[tuple[str, str, list[str]]]:
    """(label, row id, AccountIDs) per P&L row of a section: one row per account, except that
    the currency system accounts share one FXGROUPID row (where the first of them sits)."""
    lines: list[tuple[str, str, list[str]]] = []
    group: list[str] | None = None
    for account in accounts:
        if account.type not in types:
            continue
        if org.currency_accounts_grouped and account.system_account in CURRENCY_SYSTEM_ACCOUNTS:
            if group is None:
                group = []
                lines.append((FX_GROUP_LABEL, FX_GROUP_ID, group))
            group.append(account.account_id)
            continue
        lines.append((account.name, account.account_id, [account.account_id]))
    return lines


def _plain_row_section(label: str, values: list[Decimal]) -> dict[str, Any]:
    # Docs example: Gross Profit and NET PROFIT are plain Rows (no account) in an untitled Section.
    row = {"RowType": "Row", "Cells": _account_cells(label, None, [amount(v) for v in values])}
    return {"RowType": "Section", "Title": "", "Rows": [row]}


def profit_and_loss_figures(
    org: SandboxOrganisation, columns: list[Column]
) -> dict[tuple[str, int], Decimal]:
    """(AccountID, column index) -> natural amount: the sum of the posted documents' lines'
    base_amount (tax-exclusive, in base currency) and of the posted manual journals' lines."""
    accounts = {a.account_id: a for a in org.accounts if a.on_profit_and_loss}
    first = min(c.start for c in columns)
    last = max(c.end for c in columns)
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    # The columns whose months hold a date, worked out once per date rather than per line: a
    # large organisation's year of lines against twelve or more columns is most of a sync's
    # time in the sandbox.
    by_date: dict[dt.date, list[tuple[int, Column]]] = {}

    def dated(date: dt.date) -> list[tuple[int, Column]]:
        found = by_date.get(date)
        if found is None:
            found = by_date[date] = [
                (i, c) for i, c in enumerate(columns) if c.start <= date <= c.end
            ]
        return found

    for doc in org.documents:
        if doc.status not in POSTED_STATUSES or not first <= doc.date <= last:
            continue
        for line in doc.lines:
            account = accounts.get(line.account_id)
            if account is None:
                continue
            tracking = dict(line.tracking)
            value = natural_amount(doc, line, account.account_class)
            for index, column in dated(doc.date):
                if column.takes_tracking(tracking):
                    totals[(line.account_id, index)] += value
    for journal in posted_journals(org):
        if not first <= journal.date <= last:
            continue
        for journal_line in journal.lines:
            account = accounts.get(journal_line.account_id)
            if account is None:
                continue
            tracking = dict(journal_line.tracking)
            value = journal_natural_amount(journal_line, account.account_class)
            for index, column in dated(journal.date):
                if column.takes_tracking(tracking):
                    totals[(journal_line.account_id, index)] += value
    return totals


# --- Budget Summary -------------------------------------------------------------------------------


@_reporting
def budget_summary(ctx: ApiContext) -> Response:
    """The overall budget by month, quarter or year (timeframe is an integer 1, 3 or 12)."""
    date = _date(ctx, "date") or ctx.today
    periods = _periods(ctx) or 12
    timeframe = _int_param(ctx, "timeframe") or 1
    if timeframe not in (1, 3, 12):
        raise ReportParamError("timeframe must be 1 (month), 3 (quarter) or 12 (year).")
    # Spec example: columns run forward from the month of `date`, each labelled by its last
    # month (MMM-YY), oldest first.
    starts = [add_months_to_date(month_start(date), i * timeframe) for i in range(periods)]
    column_months = [
        [f"{add_months_to_date(s, m):%Y-%m}" for m in range(timeframe)] for s in starts
    ]
    labels = [f"{add_months_to_date(s, timeframe - 1):%b-%y}" for s in starts]
    budget = next((b for b in ctx.org.budgets if b.type == "OVERALL"), None)
    lines = budget.lines if budget else {}
    accounts = sorted((a for a in ctx.org.accounts if a.on_profit_and_loss), key=lambda a: a.code)

    def section(types: tuple[str, ...], title: str) -> tuple[list[Any], list[Decimal]]:
        rows, total = [], [Decimal(0)] * periods
        for account in accounts:
            if account.type not in types or account.account_id not in lines:
                continue
            amounts = lines[account.account_id]
            values = [
                sum((amounts.get(m, Decimal(0)) for m in months), Decimal(0))
                for months in column_months
            ]
            rows.append(
                {
                    "RowType": "Row",
                    "Cells": _account_cells(
                        account.name, account.account_id, [amount(v) for v in values]
                    ),
                }
            )
            total = [t + v for t, v in zip(total, values, strict=True)]
        return ([{"RowType": "Section", "Title": title, "Rows": rows}] if rows else []), total

    income_rows, income = section(("REVENUE", "SALES", "OTHERINCOME"), "Income")
    cost_rows, cost = section(("DIRECTCOSTS",), "Less Cost of Sales")
    expense_rows, expenses = section(
        ("EXPENSE", "OVERHEADS", "DEPRECIATN"), "Less Operating Expenses"
    )
    gross = [i - c for i, c in zip(income, cost, strict=True)]
    net = [g - e for g, e in zip(gross, expenses, strict=True)]
    rows: list[Any] = [
        _header("Account", labels),
        *income_rows,
        *cost_rows,
        {"RowType": "Section", "Title": "", "Rows": [_summary("Gross Profit", gross)]},
        *expense_rows,
        {"RowType": "Section", "Title": "", "Rows": [_summary("Total Expenses", expenses)]},
        {"RowType": "Section", "Title": "", "Rows": [_summary("Net Profit", net)]},
    ]
    end = add_months_to_date(starts[-1], timeframe - 1)
    titles = ["Overall Budget", "Budget Summary", ctx.org.name, f"{starts[0]:%B %Y} to {end:%B %Y}"]
    return _report(ctx, "BudgetSummary", "Budget Summary", titles, rows)


# --- Balance sheet and trial balance ----------------------------------------------------------------


def _account_info(org: SandboxOrganisation) -> dict[str, tuple[str, str, str, str]]:
    """Ledger key -> (name, code, class, type) for real and synthetic accounts."""
    info = {a.account_id: (a.name, a.code, a.account_class, a.type) for a in org.accounts}
    for key, (name, account_class, account_type) in SYNTHETIC_NAMES.items():
        info[key] = (name, "", account_class, account_type)
    return info


Daily = list[tuple[dt.date, dict[str, Decimal]]]


def _daily(org: SandboxOrganisation, options: frozenset[str] = frozenset()) -> Daily:
    """The postings summed per day and ledger key, oldest day first: a report asks for many
    ranges (a balance sheet, two per column), and deriving the postings is the slow part, so it
    is done once per report rather than once per range."""
    days: dict[dt.date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for posting in postings(org, options):
        days[posting.date][posting.key] += posting.debit
    return sorted(days.items())


def _balances(daily: Daily, start: dt.date | None, end: dt.date) -> dict[str, Decimal]:
    found: dict[str, Decimal] = defaultdict(Decimal)
    for day, sums in daily:
        if day > end:
            break
        if start is None or day >= start:
            for key, debit in sums.items():
                found[key] += debit
    return found


def _equity_split(
    org: SandboxOrganisation, as_at: dt.date, daily: Daily
) -> tuple[dict[str, Decimal], Decimal, Decimal]:
    """Balance-sheet balances, this year's earnings and earlier years' earnings (credit positive)."""
    info = _account_info(org)
    year_start = financial_year_start(org, as_at)
    balances = _balances(daily, None, as_at)
    current = Decimal(0)
    retained = Decimal(0)
    this_year = _balances(daily, year_start, as_at)
    sheet: dict[str, Decimal] = {}
    for key, value in balances.items():
        if info[key][3] in PROFIT_AND_LOSS_TYPES:
            retained -= value - this_year.get(key, Decimal(0))
            current -= this_year.get(key, Decimal(0))
        else:
            sheet[key] = value
    return sheet, current, retained


_BS_GROUPS = [
    ("Bank", "ASSET", lambda t: t == "BANK"),
    ("Current Assets", "ASSET", lambda t: t in ("CURRENT", "PREPAYMENT", "INVENTORY")),
    ("Fixed Assets", "ASSET", lambda t: t == "FIXED"),
    (
        "Non-current Assets",
        "ASSET",
        lambda t: t not in ("BANK", "CURRENT", "PREPAYMENT", "INVENTORY", "FIXED"),
    ),
    ("Current Liabilities", "LIABILITY", lambda t: t not in ("TERMLIAB", "NONCURRENT")),
    ("Non-Current Liabilities", "LIABILITY", lambda t: t in ("TERMLIAB", "NONCURRENT")),
]


@_reporting
def balance_sheet(ctx: ApiContext) -> Response:
    _reject_payments_only(ctx)
    # Docs: "a balance sheet for the end of the month of the specified date"; without periods it
    # also "returns the value at the end of the same month for the previous year".
    as_at = month_end(_date(ctx, "date") or ctx.today)
    periods = _periods(ctx)
    timeframe = (ctx.request.param("timeframe") or "MONTH").upper()
    if timeframe not in TIMEFRAME_MONTHS:
        raise ReportParamError("timeframe must be MONTH, QUARTER or YEAR.")
    if periods:
        dates = [
            month_end(add_months_to_date(as_at, -i * TIMEFRAME_MONTHS[timeframe]))
            for i in range(periods + 1)
        ]
    else:
        dates = [as_at, month_end(add_months_to_date(as_at, -12))]
    info = _account_info(ctx.org)
    options, option_names = _balance_sheet_options(ctx)
    daily = _daily(ctx.org, options)
    per_date = [_equity_split(ctx.org, d, daily) for d in dates]
    keys = sorted(
        {k for sheet, _, _ in per_date for k in sheet}, key=lambda k: (info[k][1], info[k][0])
    )

    def value(key: str, index: int) -> Decimal:
        raw = per_date[index][0].get(key, Decimal(0))
        return raw if info[key][2] == "ASSET" else -raw

    rows: list[Any] = [_header("", [f"{d.day} {d:%b %Y}" for d in dates])]
    totals: dict[str, list[Decimal]] = {}
    for account_class, title in (("ASSET", "Assets"), ("LIABILITY", "Liabilities")):
        rows.append({"RowType": "Section", "Title": title, "Rows": []})
        class_total = [Decimal(0)] * len(dates)
        for group, group_class, accepts in _BS_GROUPS:
            if group_class != account_class:
                continue
            group_rows, group_total = [], [Decimal(0)] * len(dates)
            for key in keys:
                if info[key][2] != account_class or not accepts(info[key][3]):
                    continue
                values = [value(key, i) for i in range(len(dates))]
                if not any(values):
                    continue
                account_id = None if key.startswith("__") else key
                group_rows.append(
                    {
                        "RowType": "Row",
                        "Cells": _account_cells(
                            info[key][0], account_id, [amount(v) for v in values]
                        ),
                    }
                )
                group_total = [t + v for t, v in zip(group_total, values, strict=True)]
            if group_rows:
                group_rows.append(_summary(f"Total {group}", group_total))
                rows.append({"RowType": "Section", "Title": group, "Rows": group_rows})
                class_total = [t + v for t, v in zip(class_total, group_total, strict=True)]
        rows.append(
            {"RowType": "Section", "Title": "", "Rows": [_summary(f"Total {title}", class_total)]}
        )
        totals[account_class] = class_total
    net_assets = [a - liab for a, liab in zip(totals["ASSET"], totals["LIABILITY"], strict=True)]
    rows.append(
        {
            "RowType": "Section",
            "Title": "",
            "Rows": [
                {
                    "RowType": "Row",
                    "Cells": _account_cells("Net Assets", None, [amount(v) for v in net_assets]),
                }
            ],
        }
    )
    equity_rows = []
    equity_total = [Decimal(0)] * len(dates)
    for key in keys:
        if info[key][2] != "EQUITY":
            continue
        values = [value(key, i) for i in range(len(dates))]
        if any(values):
            equity_rows.append(
                {
                    "RowType": "Row",
                    "Cells": _account_cells(info[key][0], key, [amount(v) for v in values]),
                }
            )
            equity_total = [t + v for t, v in zip(equity_total, values, strict=True)]
    for label, position in (("Current Year Earnings", 1), ("Retained Earnings", 2)):
        values = [split[position] for split in per_date]
        equity_rows.append(
            {"RowType": "Row", "Cells": _account_cells(label, None, [amount(v) for v in values])}
        )
        equity_total = [t + v for t, v in zip(equity_total, values, strict=True)]
    equity_rows.append(_summary("Total Equity", equity_total))
    rows.append({"RowType": "Section", "Title": "Equity", "Rows": equity_rows})
    titles = ["Balance Sheet", ctx.org.name, f"As at {long_date(as_at)}"]
    if option_names:
        titles.append(", ".join(option_names))
    return _report(ctx, "BalanceSheet", "Balance Sheet", titles, rows)


def _balance_sheet_options(ctx: ApiContext) -> tuple[frozenset[str], list[str]]:
    """trackingOptionID1/2: only what was posted with those options (docs: "you cannot filter
    just by the TrackingCategory")."""
    by_id = {
        o.option_id.lower(): (o.option_id, o.name)
        for c in ctx.org.tracking_categories
        for o in c.options
    }
    ids, names = [], []
    for name in ("trackingOptionID1", "trackingOptionID2"):
        value = ctx.request.param(name)
        if not value:
            continue
        found = by_id.get(value.strip().lower())
        if found is None:
            raise ReportParamError(f"Tracking option {value} was not found.")
        ids.append(found[0])
        names.append(found[1])
    return frozenset(ids), names


@_reporting
def trial_balance(ctx: ApiContext) -> Response:
    """Docs: "a trial balance for the current month up to the date specified. YTD values are
    shown too." Debit/Credit are the month's movements; YTD is the year to date for P&L
    accounts and the balance for balance-sheet accounts, with earlier years' profit in equity."""
    _reject_payments_only(ctx)
    as_at = _date(ctx, "date") or ctx.today
    info = _account_info(ctx.org)
    daily = _daily(ctx.org)
    month = _balances(daily, month_start(as_at), as_at)
    sheet, _, retained = _equity_split(ctx.org, as_at, daily)
    year = _balances(daily, financial_year_start(ctx.org, as_at), as_at)
    ytd = {k: v for k, v in year.items() if info[k][3] in PROFIT_AND_LOSS_TYPES} | sheet
    sections = [
        ("Revenue", "REVENUE"),
        ("Expenses", "EXPENSE"),
        ("Assets", "ASSET"),
        ("Liabilities", "LIABILITY"),
        ("Equity", "EQUITY"),
    ]
    keys = sorted(set(month) | set(ytd), key=lambda k: (info[k][1], info[k][0]))
    totals = [Decimal(0)] * 4
    rows: list[Any] = [_header("Account", ["Debit", "Credit", "YTD Debit", "YTD Credit"])]

    def cells(movement: Decimal, balance: Decimal) -> list[Decimal | None]:
        return [
            movement if movement > 0 else None,
            -movement if movement < 0 else None,
            balance if balance > 0 else None,
            -balance if balance < 0 else None,
        ]

    for title, account_class in sections:
        section_rows = []
        entries = [
            (k, month.get(k, Decimal(0)), ytd.get(k, Decimal(0)))
            for k in keys
            if info[k][2] == account_class
        ]
        if account_class == "EQUITY" and retained:
            entries.append(("__retained__", Decimal(0), -retained))
        for key, movement, balance in entries:
            if not movement and not balance:
                continue
            values = cells(movement, balance)
            totals = [t + (v or 0) for t, v in zip(totals, values, strict=True)]
            name, code = ("Retained Earnings", "") if key == "__retained__" else info[key][:2]
            label = f"{name} ({code})" if code else name
            account_id = None if key.startswith("__") else key
            section_rows.append(
                {
                    "RowType": "Row",
                    "Cells": _account_cells(
                        label, account_id, ["" if v is None else amount(v) for v in values]
                    ),
                }
            )
        if section_rows:
            rows.append({"RowType": "Section", "Title": title, "Rows": section_rows})
    rows.append({"RowType": "Section", "Title": "", "Rows": [_summary("Total", totals)]})
    titles = ["Trial Balance", ctx.org.name, f"As at {long_date(as_at)}"]
    return _report(ctx, "TrialBalance", "Trial Balance", titles, rows)
