"""Sync a client organisation from Xero: fetch everything first, then publish scope by scope.

Fetching makes every API call and holds the answers in memory; nothing is written until they
have all arrived and been checked (unknown accounts, malformed amounts, report columns that are
not what was asked). The sync is cut into scopes: the reference data (organisation, accounts,
tracking categories), each budget, the organisation's actuals, each tracking category's actuals
and the transactions. Publishing writes each scope in a transaction of its own that upserts by
Xero's ids and deletes what Xero no longer has. So a scope that fails, or a sync killed at any
point, leaves each scope either as it was or wholly new, a rerun gives the same rows, and nobody
ever sees a half-synced scope. A failed scope is named in the run and fetched again in full by
the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import redis
from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgeting.ledger import drivers
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    BalanceSheetBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    Reconciliation,
    SyncRun,
    TrackingCategory,
    TrackingOption,
    XeroOrganisation,
)
from core import clock, tasks
from core.db import DATABASE_LOST, rows_update
from core.history import history_note
from core.months import add_months, financial_year_start, month_end, month_start, months_between
from integrations.models import XeroTenant
from integrations.xero import documents, parsing
from integrations.xero.client import BUDGET_WINDOW_MONTHS, XeroClient
from integrations.xero.errors import XeroAuthError, XeroError, XeroHttpError, XeroPayloadError
from integrations.xero.periods import balance_sheet_calls, budget_windows, profit_and_loss_calls
from integrations.xero.ratelimit import DailyLimitReached, SlotTimeout
from tenants.models import ClientOrganisation, Firm

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# Redis (the shared Xero rate limiter) restarting or unreachable: said in words, tried again.
REDIS_LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
REDIS_LOST_WORDS = (
    "our Redis server (which paces the calls to Xero) could not be reached; a new sync was "
    "queued at once to fetch it again"
)
DATABASE_LOST_WORDS = (
    "our database connection was lost while saving it (the database restarted or cut the "
    "connection); a new sync was queued at once to fetch it again"
)
# A run queued or running for longer than this is presumed lost with its worker.
STALE_RUN = dt.timedelta(hours=2)
# Xero's standard layout groups multi-currency system accounts into a single row with this id.
FX_GROUP = "FXGROUPID"


# --- What a sync fetches ------------------------------------------------------------------------

# The currency system accounts that Xero's standard layout groups under FXGROUPID.
_CURRENCY_SYSTEM_ACCOUNTS = {"REALISEDCURRENCYGAIN", "UNREALISEDCURRENCYGAIN", "BANKCURRENCYGAIN"}
FX_ACCOUNT_NAME = "FX gains and losses"
DRIVERS_FROM_STORED_LINES = (
    "Unexplained amounts were worked out again against the transactions an earlier sync saved, "
    "as this run could not save them: documents changed since show as unexplained until the "
    "next sync reads them"
)
# A sync may spend at most this share of the organisation's daily call limit on fallbacks, so a
# Xero that answers an undocumented corner differently never starves the day's other syncs.
CALL_BUDGET_SHARE = 0.5
# Errors after which no further call can succeed: the scopes still to fetch fail with them.
_STOPPING = (XeroAuthError, DailyLimitReached, SlotTimeout)


@dataclass
class ReportTotals:
    income: Decimal = ZERO
    expenses: Decimal = ZERO
    net_profit: Decimal = ZERO


@dataclass
class ActualsScope:
    """The organisation's actuals (no category) or one tracking category's, saved together."""

    key: str  # "actuals" or "actuals:<TrackingCategoryID>"
    name: str  # "Organisation actuals", "Region actuals"
    category: parsing.XeroTrackingCategory | None
    months: list[dt.date]  # oldest first
    path: str = ""  # the request shape that answered

    def holds(self, option_id: str | None) -> bool:
        if self.category is None:
            return option_id is None
        return option_id in {o.option_id for o in self.category.options}


@dataclass
class ScopeFailure:
    key: str
    name: str
    error: str


@dataclass
class CallPlan:
    """The fewest calls Xero's documented rules allow for what a sync fetches, by step. A step
    that had to fall back to another request shape is planned at that shape's minimum."""

    steps: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.steps.values())


@dataclass
class Snapshot:
    organisation: parsing.XeroOrganisation
    accounts: list[parsing.XeroAccount]
    tracking_categories: list[parsing.XeroTrackingCategory]
    # None: budgets were not read this time (a webhook-triggered refresh) and stay as they are.
    # Otherwise the budgets read in full; a budget that failed is in `failures` instead.
    budgets: list[parsing.XeroBudget] | None
    # The months of the organisation-level actuals asked for.
    actual_months: list[dt.date]
    # (AccountID, TrackingOptionID or None, period) -> amount, of the scopes that succeeded
    actuals: dict[tuple[str, str | None, dt.date], Decimal]
    # (TrackingOptionID or None, period) -> the report's own totals
    report_totals: dict[tuple[str | None, dt.date], ReportTotals]
    transaction_lines: list[documents.XeroTransactionLine]
    # Transactions: replace every line dated on or after this (initial/full), or only the
    # documents that came back (incremental).
    transactions_since: dt.date | None
    transactions_incremental: bool
    notes: list[str] = field(default_factory=list)
    # Every BudgetID Xero listed (a budget not listed is deleted), and the months read of each.
    budget_ids: set[str] = field(default_factory=set)
    budget_window: tuple[dt.date, dt.date] | None = None
    # The actuals scopes fetched and verified (their figures are in actuals/report_totals).
    actual_scopes: list[ActualsScope] = field(default_factory=list)
    transactions_fetched: bool = True
    failures: list[ScopeFailure] = field(default_factory=list)
    plan: CallPlan = field(default_factory=CallPlan)
    # Currency system accounts shown on the FX line (FXGROUPID) of this organisation's P&L.
    fx_grouped_accounts: set[str] = field(default_factory=set)
    # The balance sheet at each month's end, or None if it was not read (or failed).
    balance_sheet: BalanceSheetFetch | None = None
    # What this run found out about how Xero answers a P&L of 12 months by tracking category,
    # to remember for the next runs (XeroOrganisation.tracking_report_layout): "" when 12 months
    # a request worked, the fallback's path when it did not, None when it was not found out.
    tracking_report_layout: str | None = None


Progress = Callable[[int, str], None]

BALANCE_SHEET_KEY = "balance_sheet"
# Xero's own lines of the Balance Sheet's equity that carry no account (the sandbox's, and
# Xero's when its row has no account attribute): stored by their label.
CURRENT_YEAR_EARNINGS = "Current Year Earnings"
RETAINED_EARNINGS = "Retained Earnings"
_EQUITY_LINES = (CURRENT_YEAR_EARNINGS, RETAINED_EARNINGS)
# The report's own totals each month is reconciled to.
_SHEET_TOTALS = {
    "ASSET": "Total Assets",
    "LIABILITY": "Total Liabilities",
    "EQUITY": "Total Equity",
}
_SHEET_LINES = {"ASSET": "assets", "LIABILITY": "liabilities", "EQUITY": "equity"}


@dataclass
class BalanceSheetFetch:
    """The Balance Sheet report at each month's end: its lines and its own totals."""

    months: list[dt.date]
    # (row key: AccountID or label, period) -> (name, section, amount as the report shows it)
    lines: dict[tuple[str, dt.date], tuple[str, str, Decimal]] = field(default_factory=dict)
    # period -> {"Total Assets": ..., "Total Liabilities": ..., "Total Equity": ...}
    totals: dict[dt.date, dict[str, Decimal]] = field(default_factory=dict)
    path: str = "12 months per request"


def _fetch_balance_sheet(
    client: XeroClient,
    months: list[dt.date],
    *,
    known_accounts: set[str],
    plan: CallPlan,
    budget: _CallBudget,
    notes: list[str],
    step: Callable[[str], None],
) -> BalanceSheetFetch:
    """The month-end balance sheets of `months`, one call per 12 months (date + periods +
    timeframe=MONTH), each column mapped by its header as the P&L's are. When the columns are
    not the months asked for, the rest is read one month per request (the month and, as Xero
    documents, the same month a year earlier, of which only the month is kept)."""
    fetched = BalanceSheetFetch(months=months)
    if not months:
        return fetched
    chunks = list(balance_sheet_calls(months[0], months[-1]))
    planned = 0
    by_month: list[dt.date] = []
    for number, (base, periods) in enumerate(chunks):
        chunk_months = [add_months(base, -i) for i in range(periods + 1)]
        if by_month:
            by_month.extend(chunk_months)
            continue
        step(f"Balance sheet {base:%b %Y}")
        report = client.balance_sheet(date=month_end(base), periods=periods or None)
        # Without periods Xero adds the same month a year earlier (docs).
        asked = chunk_months if periods else [base, add_months(base, -12)]
        try:
            layout = parsing.profit_and_loss_layout(report, months=asked)
        except parsing.ReportLayoutMismatch as exc:
            if not periods:
                raise parsing.ReportLayoutMismatch(
                    exc.problem, endpoint="Reports/BalanceSheet"
                ) from exc
            by_month.extend(chunk_months)
            later = sum(p + 1 for _b, p in chunks[number + 1 :])
            budget.check(len(chunk_months) + later, "Reading the balance sheet by month")
            fetched.path = (
                "one month per request, because the report's columns were not the months "
                f"asked for ({exc.problem})"
            )
            continue
        planned += 1
        _balance_sheet_take(fetched, report, layout, chunk_months, known_accounts)
    for month in sorted(by_month, reverse=True):
        step(f"Balance sheet {month:%b %Y}")
        report = client.balance_sheet(date=month_end(month))
        try:
            layout = parsing.profit_and_loss_layout(report, months=[month, add_months(month, -12)])
        except parsing.ReportLayoutMismatch as exc:
            raise parsing.ReportLayoutMismatch(
                exc.problem, endpoint="Reports/BalanceSheet"
            ) from exc
        _balance_sheet_take(fetched, report, layout, [month], known_accounts)
    planned += len(by_month)
    plan.steps[BALANCE_SHEET_KEY] = planned
    if by_month:
        notes.append(f"Balance sheet: {fetched.path} ({planned} calls)")
    return fetched


def _balance_sheet_take(
    fetched: BalanceSheetFetch,
    report: parsing.ProfitAndLoss,
    layout: parsing.ProfitAndLossLayout,
    wanted: list[dt.date],
    known_accounts: set[str],
) -> None:
    for index, key in layout.columns:
        if key.month not in wanted:
            continue
        for row in report.rows:
            if row.account_id not in known_accounts and row.name.strip() in _EQUITY_LINES:
                # Xero's own line, whatever id it carries: stored by its label.
                fetched.lines[(row.name.strip(), key.month)] = (
                    row.name.strip(),
                    "Equity",
                    row.values[index],
                )
                continue
            if row.account_id not in known_accounts:
                raise XeroPayloadError(
                    "Reports/BalanceSheet",
                    f"{row.section or 'Rows'}: {row.name}: account attribute",
                    f"unknown account {row.account_id!r} (not in Accounts)",
                )
            fetched.lines[(row.account_id, key.month)] = (row.name, row.section, row.values[index])
        for label in _EQUITY_LINES:
            if label in report.totals:
                fetched.lines[(label, key.month)] = (label, "Equity", report.totals[label][index])
        fetched.totals[key.month] = {
            label: report.totals[label][index]
            for label in _SHEET_TOTALS.values()
            if label in report.totals
        }


def _add_known(values: dict, key, amount: Decimal) -> None:
    values[key] = values.get(key, ZERO) + amount


def _report_totals(report: parsing.ProfitAndLoss, column: int) -> ReportTotals:
    totals = ReportTotals()
    for label, values in report.totals.items():
        name = label.strip().lower()
        if name.startswith("total") and "income" in name:
            totals.income += values[column]
        elif name.startswith("total") and ("cost of sales" in name or "expenses" in name):
            totals.expenses += values[column]
        elif name == "net profit":
            totals.net_profit = values[column]
    return totals


class _CallBudget:
    def __init__(self, client: XeroClient):
        self.client = client
        self.limit = int(settings.XERO_RATE_LIMIT_PER_DAY * CALL_BUDGET_SHARE)

    def check(self, needed: int, what: str) -> None:
        if self.client.calls + needed > self.limit:
            raise XeroError(
                f"{what} would need {needed} more calls, over this sync's budget of "
                f"{self.limit:,} (half the organisation's daily limit)."
            )


class _ActualsFetch:
    """One scope's P&L reports, read by their headers, falling back to documented shapes.

    First choice: a report per 12 months (`periods`, with the category's option columns). When
    the answer is not what was asked (Xero ignored `periods` with tracking, refused the
    combination with a 400, or labelled the columns in a way that cannot be matched), the rest
    of the scope is read one month per request; an option a month's report leaves out, and whose
    absence its Total column does not prove to be zero, is read with `trackingOptionID`.
    """

    def __init__(
        self, client, scope, *, known_accounts, plan, budget, notes, fx_sections, step, learnt
    ):
        # learnt: what earlier scopes of this sync found out about Xero's answers, so a
        # fallback found for one category is taken at once for the next.
        self.learnt = learnt
        self.client, self.scope = client, scope
        self.known_accounts, self.plan, self.budget = known_accounts, plan, budget
        self.notes, self.fx_sections, self.step = notes, fx_sections, step
        self.actuals: dict = {}
        self.totals: dict = {}
        # (month, TrackingOptionID) a report left out without proof that it is zero.
        self.pending: list[tuple[dt.date, str]] = []
        category = scope.category
        self.options = {o.name: o.option_id for o in category.options} if category else None

    def _report(self, base: dt.date, periods: int, option_id: str | None = None):
        category = self.scope.category
        self.step(f"Actuals {base:%b %Y}" + (f" by {category.name}" if category else ""))
        return self.client.profit_and_loss(
            from_date=base,
            to_date=month_end(base),
            periods=periods or None,
            tracking_category_id=category.category_id if category else None,
            tracking_option_id=option_id,
        )

    def run(self) -> None:
        months = self.scope.months
        if not months:
            return
        chunks = list(profit_and_loss_calls(months[0], months[-1]))
        self.plan.steps[self.scope.key] = len(chunks)
        planned = 0
        by_month: list[dt.date] = []
        path = "12 months per request" if any(p for _b, p in chunks) else "one month per request"
        remembered = False
        if self.scope.category is not None and "tracking_by_month" in self.learnt:
            path = self.learnt["tracking_by_month"]
            remembered = self.learnt.get("remembered") == path
            by_month = [
                m for base, p in chunks for m in (add_months(base, -i) for i in range(p + 1))
            ]
            self.budget.check(len(by_month), f"Reading {self.scope.name} by month")
            chunks = []
        for number, (base, periods) in enumerate(chunks):
            chunk_months = [add_months(base, -i) for i in range(periods + 1)]
            if by_month:
                by_month.extend(chunk_months)
                continue
            try:
                report = self._report(base, periods)
                layout = parsing.profit_and_loss_layout(
                    report, months=chunk_months, options=self.options
                )
            except (parsing.ReportLayoutMismatch, XeroHttpError) as exc:
                if not periods or (isinstance(exc, XeroHttpError) and exc.status != 400):
                    raise
                # Xero does not document how `periods` combines with tracking: fall back to one
                # month per request, a shape it does document.
                by_month.extend(chunk_months)
                later = sum(p + 1 for _b, p in chunks[number + 1 :])
                self.budget.check(len(chunk_months) + later, f"Reading {self.scope.name} by month")
                path = f"one month per request, because {_reason(exc)}"
                if self.scope.category is not None:
                    self.learnt["tracking_by_month"] = path
                continue
            planned += 1
            if periods and self.scope.category is not None:
                self.learnt["tracking_periods"] = "12 months per request"
            self._take(report, layout)
        for month in sorted(by_month, reverse=True):
            report = self._report(month, 0)
            try:
                layout = parsing.profit_and_loss_layout(
                    report, months=[month], options=self.options
                )
            except parsing.ReportLayoutMismatch:
                if remembered:
                    # The layout an earlier sync found no longer fits Xero's answers: the next
                    # run finds it out afresh.
                    self.learnt["forget"] = path
                raise
            self._take(report, layout)
        planned += len(by_month)
        planned += self._unresolved_options()
        self.plan.steps[self.scope.key] = planned
        self.scope.path = path
        logger.info("%s: %s, %d calls planned", self.scope.name, path, planned)
        if by_month:
            source = " (as an earlier sync found)" if remembered else ""
            self.notes.append(f"{self.scope.name}: {path}{source} ({planned} calls)")

    def _take(self, report: parsing.ProfitAndLoss, layout: parsing.ProfitAndLossLayout) -> None:
        for index, key in layout.columns:
            if key.kind not in ("all", "option"):
                continue
            self._column(report, index, key.month, key.option_id)
        for month, options in layout.zero.items():
            for option_id in options:
                self.totals[(option_id, month)] = ReportTotals()
        self.pending += [
            (month, option_id)
            for month, options in layout.unresolved.items()
            for option_id in sorted(options)
        ]

    def _column(self, report, index: int, month: dt.date, option_id: str | None) -> None:
        for row in report.rows:
            if row.account_id == FX_GROUP:
                self.fx_sections.add(row.section)
            elif row.account_id not in self.known_accounts:
                raise XeroPayloadError(
                    "Reports/ProfitAndLoss",
                    f"{row.section or 'Rows'}: {row.name}: account attribute",
                    f"unknown account {row.account_id!r} (not in Accounts)",
                )
            if row.values[index] != ZERO:
                _add_known(self.actuals, (row.account_id, option_id, month), row.values[index])
        self.totals[(option_id, month)] = _report_totals(report, index)

    def _unresolved_options(self) -> int:
        """One request per option and month the reports left out without proof of zero. Xero
        documents trackingOptionID as "just one option will be returned (i.e. 1 column only)"."""
        pending = self.pending
        if not pending:
            return 0
        self.budget.check(len(pending), f"Reading {self.scope.name} option by option")
        names = {option_id: name for name, option_id in self.options.items()}
        for month, option_id in pending:
            report = self._report(month, 0, option_id)
            labels = [parsing.parse_column_label(c) for c in report.columns]
            if (
                len(labels) != 1
                or labels[0].month not in (None, month)
                or labels[0].name.lower() not in ("", names[option_id].lower())
            ):
                raise parsing.ReportLayoutMismatch(
                    f"asked for {names[option_id]} in {month:%b %Y}, got columns {list(report.columns)}"
                )
            self._column(report, 0, month, option_id)
        self.notes.append(
            f"{self.scope.name}: {len(pending)} option-months left out of the reports were read one "
            "option per request"
        )
        return len(pending)


def _reason(exc: Exception) -> str:
    if isinstance(exc, XeroHttpError):
        return f"Xero refused periods with a tracking category ({exc.status}: {exc.detail})"
    if isinstance(exc, parsing.ReportLayoutMismatch):
        return f"the report's columns were not the months asked for ({exc.problem})"
    return str(exc)


def budget_horizon(today: dt.date, *, year_end_month: int) -> tuple[dt.date, dt.date]:
    """The months of budgets a sync reads: from the start of the financial year of the last
    closed month (its year to date is measured against budget) to the end of the financial year
    twelve months ahead (the rolling forecast's horizon). 24 months, or 36 when the last closed
    month ends a year."""
    current = month_start(today)
    first = financial_year_start(add_months(current, -1), end_month=year_end_month)
    last_year = financial_year_start(add_months(current, 12), end_month=year_end_month)
    return first, month_end(add_months(last_year, 11))


class _BudgetWindow:
    """How many months one GET Budgets/{id} returns. Xero documents at most 24 ("You can
    retrieve a maximum of 24 months of data in a single request"); a Xero that silently returns
    fewer is found out once and the remaining requests are sized to it."""

    def __init__(self, notes: list[str]):
        self.months = BUDGET_WINDOW_MONTHS
        self.proven = 0  # the most months one answer has been seen to hold
        self.notes = notes

    def capped(self, months: int) -> None:
        self.months = months
        self.notes.append(
            f"Budgets: Xero returned at most {months} months per request (24 documented); "
            f"read in {months}-month windows"
        )


def _fetch_budget(
    client: XeroClient,
    header: parsing.XeroBudget,
    *,
    window: tuple[dt.date, dt.date],
    known_accounts: set[str],
    size: _BudgetWindow,
) -> parsing.XeroBudget:
    """One budget over the window, in as few requests as Xero allows (one per 24 months)."""
    lines: dict[str, dict[dt.date, parsing.XeroBudgetBalance]] = defaultdict(dict)
    fetched = None

    def read(first: dt.date, last: dt.date) -> set[dt.date]:
        nonlocal fetched
        fetched = client.budget(header.budget_id, date_from=first, date_to=month_end(last))
        periods = set()
        for j, line in enumerate(fetched.lines):
            if line.account_id not in known_accounts:
                raise XeroPayloadError(
                    f"Budgets/{header.budget_id}",
                    f"Budgets[0].BudgetLines[{j}].AccountID",
                    f"unknown account {line.account_id!r} (not in Accounts)",
                )
            lines.setdefault(line.account_id, {})  # a line with no balance in the window
            for balance in line.balances:
                # A Xero that answers more than was asked (the whole budget) is read only
                # within what was asked, so every sync stores the same months.
                if first <= balance.period <= last:
                    lines[line.account_id][balance.period] = balance
                    periods.add(balance.period)
        return periods

    start, last = month_start(window[0]), month_start(window[1])
    while start <= last:
        end = min(add_months(start, size.months - 1), last)
        periods = read(start, end)
        if not periods:
            start = add_months(end, 1)
            continue
        answered = len(months_between(start, max(periods)))
        if max(periods) < end and answered >= size.proven:
            # Fewer months than asked, and no answer has yet held more: the budget ends here,
            # or Xero caps the months of a request. The next months tell which.
            following = add_months(max(periods), 1)
            probe_end = min(add_months(following, answered - 1), last)
            if not read(following, probe_end):
                # The budget ends there; Xero is not capping at that many months, so shorter
                # budgets after this one are not probed again.
                size.proven = max(size.proven, answered + 1)
                break
            size.capped(answered)
            size.proven = answered
            start = add_months(probe_end, 1)
            continue
        size.proven = max(size.proven, answered)
        start = add_months(end, 1)
    source = fetched or header
    return parsing.XeroBudget(
        budget_id=header.budget_id,
        type=source.type,
        description=source.description or header.description,
        updated_utc=source.updated_utc,
        tracking=source.tracking or header.tracking,
        lines=tuple(
            parsing.XeroBudgetLine(
                account_id=account_id,
                account_code="",
                balances=tuple(balances[p] for p in sorted(balances)),
            )
            for account_id, balances in sorted(lines.items())
        ),
    )


def _budget_name(budget: parsing.XeroBudget) -> str:
    return (
        f"Budget '{budget.description}'" if budget.description else f"{budget.type.title()} budget"
    )


def _fx_account(sections: set[str], accounts: list[parsing.XeroAccount]) -> parsing.XeroAccount:
    """The "FX gains and losses" line: Xero's standard layout shows the currency system accounts
    as one row whose account attribute is FXGROUPID, not an AccountID (xero-api-facts §2). It is
    kept as an account of its own, of the kind of the section it appears in."""
    section = " ".join(sorted(sections)).lower()
    if "income" in section:
        kind = ("OTHERINCOME", "REVENUE")
    elif "cost of sales" in section:
        kind = ("DIRECTCOSTS", "EXPENSE")
    else:
        grouped = [a for a in accounts if a.system_account in _CURRENCY_SYSTEM_ACCOUNTS]
        kind = (grouped[0].type, "EXPENSE") if grouped else ("OVERHEADS", "EXPENSE")
    return parsing.XeroAccount(
        account_id=FX_GROUP,
        code="",
        name=FX_ACCOUNT_NAME,
        type=kind[0],
        account_class=kind[1],
        status="ACTIVE",
        updated_utc=None,
    )


def xero_snapshot_fetch(
    *,
    client: XeroClient,
    organisation: ClientOrganisation,
    kind: str,
    today: dt.date | None = None,
    transactions_since: dt.datetime | None = None,
    retry: set[str] = frozenset(),
    tracking_report_layout: str = "",
    progress: Progress = lambda percent, step: None,
) -> Snapshot:
    """Make every API call of a sync and return what Xero said. Writes nothing.

    Each scope (a budget, the organisation's actuals, a tracking category's actuals, the
    transactions) is fetched and checked on its own: one that fails is recorded in `failures`
    and the others go on. The reference data (organisation, accounts, tracking categories) is
    needed by all, so a failure there fails the sync. Scopes in `retry` failed last time and
    are fetched over their full range. `tracking_report_layout` is how an earlier sync found
    Xero answers a P&L of 12 months by tracking category (XeroOrganisation's field): an
    incremental sync takes its fallback at once; an initial or full one finds it out afresh.
    """
    full = kind in (SyncRun.Kind.INITIAL, SyncRun.Kind.FULL)
    steps = iter(range(1, 1000))

    def step(label: str) -> None:
        # Progress is estimated from the steps done against the steps a sync usually takes.
        progress(min(95, 5 + next(steps) * 90 // expected_steps), label)

    expected_steps = 20
    plan = CallPlan()
    progress(2, "Organisation")
    xero_organisation = client.organisation()
    accounts = client.accounts()
    tracking_categories = client.tracking_categories()
    plan.steps["reference"] = 3
    known_accounts = {a.account_id for a in accounts}
    # The organisation's month, not ours: its open month starts at its own midnight.
    today = today or clock.today(xero_organisation.timezone)
    current = month_start(today)
    failures: list[ScopeFailure] = []
    notes: list[str] = []
    stopped: XeroError | None = None

    def attempt(key: str, name: str, fetch: Callable[[], object]):
        """Run one scope's fetch; a failure is recorded and the sync goes on."""
        nonlocal stopped
        if stopped is not None:
            failures.append(ScopeFailure(key, name, _readable_scope(stopped)))
            return None
        try:
            return fetch()
        except XeroError as exc:
            logger.warning("Sync of %s: %s failed: %s", organisation, name, exc)
            failures.append(ScopeFailure(key, name, _readable_scope(exc)))
            if isinstance(exc, _STOPPING):
                stopped = exc
            return None

    # Actuals: the last N closed months and the open ones (full), or only the months Xero still
    # lets users change: everything after the period lock date (incremental).
    full_first = add_months(current, -settings.XERO_ACTUALS_MONTHS)
    if full:
        first_actual = full_first
    else:
        lock = xero_organisation.period_lock_date
        first_actual = add_months(month_start(lock), 1) if lock else add_months(current, -2)
    actual_months = months_between(first_actual, current)

    budgets = None
    budget_ids: set[str] = set()
    window = None
    headers = None
    if kind != SyncRun.Kind.TRANSACTIONS:
        plan.steps["reference"] += 1
        headers = attempt("budgets", "Budgets", client.budgets)
    if headers is not None:
        budget_ids = {h.budget_id for h in headers}
        window = budget_horizon(today, year_end_month=xero_organisation.financial_year_end_month)
        size = _BudgetWindow(notes)
        budgets = []
        for header in headers:
            step(f"Budget {header.description or header.type}")
            budget = attempt(
                f"budget:{header.budget_id}",
                _budget_name(header),
                lambda header=header: _fetch_budget(
                    client, header, window=window, known_accounts=known_accounts, size=size
                ),
            )
            if budget is not None:
                budgets.append(budget)
        # Planned at the months per request Xero turned out to allow (24, as documented).
        per_budget = len(list(budget_windows(*window, months=size.months)))
        plan.steps["budgets"] = len(headers) * per_budget

    actuals: dict = {}
    totals: dict = {}
    fx_sections: set[str] = set()
    scopes = [ActualsScope("actuals", "Organisation actuals", None, [])]
    scopes += [
        ActualsScope(f"actuals:{c.category_id}", f"{c.name} actuals", c, [])
        for c in tracking_categories
        if c.options
    ]
    budget = _CallBudget(client)
    learnt: dict[str, str] = {}
    if tracking_report_layout and not full:
        learnt["tracking_by_month"] = learnt["remembered"] = tracking_report_layout
    fetched_scopes = []
    for scope in scopes:
        scope.months = months_between(full_first, current) if scope.key in retry else actual_months
        fetch = _ActualsFetch(
            client,
            scope,
            known_accounts=known_accounts,
            plan=plan,
            budget=budget,
            notes=notes,
            fx_sections=fx_sections,
            step=step,
            learnt=learnt,
        )
        if attempt(scope.key, scope.name, lambda fetch=fetch: fetch.run() or True):
            actuals.update(fetch.actuals)
            totals.update(fetch.totals)
            fetched_scopes.append(scope)
    layout_found: str | None = None
    if "forget" in learnt:
        layout_found = ""
    elif "tracking_by_month" in learnt:
        layout_found = learnt["tracking_by_month"]
    elif "tracking_periods" in learnt:
        layout_found = ""
    fx_grouped: set[str] = set()
    if fx_sections:
        accounts = [*accounts, _fx_account(fx_sections, accounts)]
        fx_grouped = {
            a.account_id for a in accounts if a.system_account in _CURRENCY_SYSTEM_ACCOUNTS
        }

    sheet_months = (
        months_between(full_first, current) if BALANCE_SHEET_KEY in retry else actual_months
    )
    balance_sheet = attempt(
        BALANCE_SHEET_KEY,
        "Balance sheet",
        lambda: _fetch_balance_sheet(
            client,
            sheet_months,
            known_accounts=known_accounts,
            plan=plan,
            budget=budget,
            notes=notes,
            step=step,
        ),
    )

    transactions_key = "transactions"
    if transactions_key in retry:
        transactions_since = None
    fetched = attempt(
        transactions_key,
        "Transactions",
        lambda: _fetch_transactions(
            client,
            full=full,
            current=current,
            transactions_since=transactions_since,
            known_accounts=known_accounts,
            notes=notes,
            step=step,
        ),
    )
    lines, retention_start, incremental = fetched or ([], None, False)
    plan.steps["transactions"] = (
        sum(client.pages_read.values()) or len(documents.DOCUMENT_ENDPOINTS) + 1
    )

    return Snapshot(
        organisation=xero_organisation,
        accounts=accounts,
        tracking_categories=tracking_categories,
        budgets=budgets,
        actual_months=actual_months,
        actuals=actuals,
        report_totals=totals,
        transaction_lines=lines,
        transactions_since=retention_start,
        transactions_incremental=incremental,
        notes=sorted(set(notes)),
        budget_ids=budget_ids,
        budget_window=window,
        actual_scopes=fetched_scopes,
        transactions_fetched=fetched is not None,
        failures=failures,
        plan=plan,
        fx_grouped_accounts=fx_grouped,
        balance_sheet=balance_sheet,
        tracking_report_layout=layout_found,
    )


def _fetch_transactions(
    client: XeroClient,
    *,
    full: bool,
    current: dt.date,
    transactions_since: dt.datetime | None,
    known_accounts: set[str],
    notes: list[str],
    step: Callable[[str], None],
) -> tuple[list[documents.XeroTransactionLine], dt.date, bool]:
    # Transaction lines, the drivers behind variances. Xero's list endpoints take
    # If-Modified-Since; a first sync asks for everything modified since the retention start,
    # which includes every document dated after it.
    retention_start = add_months(current, -settings.XERO_TRANSACTION_MONTHS)
    incremental = not full and transactions_since is not None
    modified_since = (
        transactions_since
        if incremental
        else dt.datetime.combine(retention_start, dt.time(), tzinfo=dt.UTC)
    )
    lines = drivers.transaction_lines_fetch(
        client,
        modified_since=modified_since,
        known_accounts=known_accounts,
        notes=notes,
        progress=step,
    )

    return [line for line in lines if line.date >= retention_start], retention_start, incremental


# --- Publishing -------------------------------------------------------------------------------


class _Publisher:
    def __init__(self, *, firm: Firm, organisation: ClientOrganisation, run: SyncRun):
        self.firm, self.organisation, self.run = firm, organisation, run
        self.counts: dict[str, int] = defaultdict(int)

    def objects(self, model):
        return model.objects.for_firm(self.firm).filter(organisation=self.organisation)

    def owned(self, **fields) -> dict:
        return {"firm": self.firm, "organisation": self.organisation, **fields}

    def lock_date_seen(self, profile: XeroOrganisation) -> dt.date | None:
        """The lock date as the last sync that succeeded saw it, not as the profile holds it:
        a run lost after saving the profile (kill -9, a dropped connection) ran no pipeline,
        so the close it saw must still count as new for the run that takes over."""
        last = (
            SyncRun.objects.for_firm(self.firm)
            .filter(organisation=self.organisation, state=SyncRun.State.SUCCEEDED)
            .exclude(pk=self.run.pk)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if last is None:
            return None
        try:
            return profile.history.as_of(last).period_lock_date
        except XeroOrganisation.DoesNotExist:
            return None

    def organisation_profile(self, xero: parsing.XeroOrganisation) -> None:
        values = {
            "xero_organisation_id": xero.organisation_id,
            "name": xero.name,
            "base_currency": xero.base_currency,
            "country_code": xero.country_code,
            "timezone": xero.timezone,
            "financial_year_end_day": xero.financial_year_end_day,
            "financial_year_end_month": xero.financial_year_end_month,
            "period_lock_date": xero.period_lock_date,
            "end_of_year_lock_date": xero.end_of_year_lock_date,
        }
        profile = (
            XeroOrganisation.objects.for_firm(self.firm)
            .filter(organisation=self.organisation)
            .first()
        )
        before = self.lock_date_seen(profile) if profile else None
        if xero.period_lock_date and (before is None or xero.period_lock_date > before):
            # A month was closed since the last sync: the post-close pipeline drafts a forecast.
            self.counts["closed_up_to"] = xero.period_lock_date.isoformat()
        if profile is None:
            profile = XeroOrganisation(**self.owned(**values))
            history_note(profile, reason="First sync from Xero")
            profile.save()
        elif any(getattr(profile, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(profile, k, v)
            history_note(profile, reason="Synced from Xero")
            profile.save()
        profile.synced_at = timezone.now()
        XeroOrganisation.objects.for_firm(self.firm).filter(pk=profile.pk).update(
            synced_at=profile.synced_at
        )
        if self.organisation.base_currency != xero.base_currency:
            self.organisation.base_currency = xero.base_currency
            history_note(self.organisation, reason="Base currency from Xero")
            self.organisation.save()

    def _upsert(self, model, key: str, rows: dict[str, dict]) -> dict[str, object]:
        """Insert or update plain reference rows keyed by a Xero id; returns id -> object."""
        existing = {getattr(o, key): o for o in self.objects(model)}
        created, changed = [], []
        for xero_id, values in rows.items():
            obj = existing.get(xero_id)
            if obj is None:
                obj = model(**self.owned(**{key: xero_id}, **values))
                created.append(obj)
                existing[xero_id] = obj
            elif any(getattr(obj, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(obj, f, v)
                changed.append(obj)
        model.objects.bulk_create(created)
        if changed:
            rows_update(
                queryset=self.objects(model),
                rows=changed,
                fields=list(next(iter(rows.values())).keys()),
            )
        self.counts[f"{model._meta.model_name}_changed"] += len(created) + len(changed)
        return existing

    def tracking_report_layout(self, layout: str | None) -> None:
        """Remember how Xero answered a P&L of 12 months by tracking category, for the next
        runs (not a change to the organisation's figures: no history row)."""
        if layout is None:
            return
        self.objects(XeroOrganisation).exclude(tracking_report_layout=layout).update(
            tracking_report_layout=layout
        )

    def accounts(self, accounts: list[parsing.XeroAccount]) -> dict[str, Account]:
        rows = {
            a.account_id: {
                "code": a.code,
                "name": a.name,
                "type": a.type,
                "account_class": a.account_class,
                "status": a.status,
                "system_account": a.system_account,
            }
            for a in accounts
        }
        return self._upsert(Account, "account_id", rows)

    def tracking(self, categories: list[parsing.XeroTrackingCategory]) -> dict[str, TrackingOption]:
        saved = self._upsert(
            TrackingCategory,
            "category_id",
            {c.category_id: {"name": c.name, "status": c.status} for c in categories},
        )
        rows = {
            o.option_id: {"category": saved[c.category_id], "name": o.name, "status": o.status}
            for c in categories
            for o in c.options
        }
        if not rows:
            return {}
        return self._upsert(TrackingOption, "option_id", rows)

    def fx_group(self, accounts: dict[str, Account], grouped: set[str]) -> None:
        """Point the currency system accounts at the FX line their figures show on."""
        fx = accounts.get(FX_GROUP)
        if fx is None or not grouped:
            return
        changed = [
            a
            for account_id, a in accounts.items()
            if account_id in grouped and a.report_group_id != fx.pk
        ]
        for account in changed:
            account.report_group = fx
        if changed:
            rows_update(queryset=self.objects(Account), rows=changed, fields=["report_group"])

    def budget(
        self,
        data: parsing.XeroBudget,
        accounts: dict[str, Account],
        options: dict[str, TrackingOption],
        window: tuple[dt.date, dt.date],
    ) -> None:
        reason = f"Synced from Xero ({self.run.get_kind_display().lower()} sync {self.run.pk})"
        option_ids = [option_id for _cat, option_id in data.tracking]
        values = {
            "type": data.type,
            "description": data.description,
            "updated_utc": data.updated_utc,
            "tracking_option": options.get(option_ids[0]) if option_ids else None,
            "tracking_option_2": options.get(option_ids[1]) if len(option_ids) > 1 else None,
        }
        budget = self.objects(Budget).filter(budget_id=data.budget_id).first()
        if budget is None:
            budget = Budget(**self.owned(budget_id=data.budget_id, **values))
            history_note(budget, reason=reason)
            budget.save()
            self.counts["budgets_changed"] += 1
        elif any(getattr(budget, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(budget, k, v)
            history_note(budget, reason=reason)
            budget.save()
            self.counts["budgets_changed"] += 1
        self._budget_lines(budget, data, accounts, reason, window)

    def budgets_gone(self, listed: set[str]) -> None:
        """Budgets Xero no longer lists are deleted."""
        for gone in self.objects(Budget).exclude(budget_id__in=listed):
            history_note(gone, reason="No longer in Xero")
            gone.delete()
            self.counts["budgets_deleted"] += 1

    def _budget_lines(
        self,
        budget: Budget,
        data: parsing.XeroBudget,
        accounts,
        reason: str,
        window: tuple[dt.date, dt.date],
    ) -> None:
        """The budget's balances within the window read; months outside it are left alone."""
        lines = {
            line.account.account_id: line
            for line in self.objects(BudgetLine).filter(budget=budget).select_related("account")
        }
        new_lines = [
            BudgetLine(**self.owned(budget=budget, account=accounts[line.account_id]))
            for line in data.lines
            if line.account_id not in lines
        ]
        if new_lines:
            for line in bulk_create_with_history(
                new_lines, BudgetLine, default_change_reason=reason
            ):
                lines[line.account.account_id] = line
            # bulk_create_with_history returns the objects; Postgres gives them their ids.
        wanted_lines = {line.account_id for line in data.lines}
        balances = self.objects(BudgetBalance).filter(budget_line__budget=budget)
        outside = set(
            balances.exclude(period__gte=window[0], period__lte=window[1]).values_list(
                "budget_line_id", flat=True
            )
        )
        for account_id, line in list(lines.items()):
            if account_id not in wanted_lines and line.pk not in outside:
                history_note(line, reason="No longer in Xero")
                line.delete()
                del lines[account_id]

        existing = {
            (b.budget_line_id, b.period): b
            for b in balances.filter(period__gte=window[0], period__lte=window[1])
        }
        create, update = [], []
        wanted = set()
        for data_line in data.lines:
            line = lines[data_line.account_id]
            for balance in data_line.balances:
                key = (line.pk, balance.period)
                wanted.add(key)
                current = existing.get(key)
                if current is None:
                    create.append(
                        BudgetBalance(
                            **self.owned(
                                budget_line=line,
                                period=balance.period,
                                amount=balance.amount,
                                notes=balance.notes,
                            )
                        )
                    )
                elif current.amount != balance.amount or current.notes != balance.notes:
                    current.amount, current.notes = balance.amount, balance.notes
                    update.append(current)
        if create:
            bulk_create_with_history(create, BudgetBalance, default_change_reason=reason)
        if update:
            bulk_update_with_history(
                update,
                BudgetBalance,
                ["amount", "notes"],
                default_change_reason=reason,
                manager=BudgetBalance.objects.with_scope(firm=self.firm),
            )
        for key, balance in existing.items():
            if key not in wanted:
                history_note(balance, reason="No longer in Xero")
                balance.delete()
        self.counts["budget_balances_changed"] += len(create) + len(update)

    def actuals(
        self, scope: ActualsScope, snapshot: Snapshot, accounts: dict[str, Account], options
    ) -> None:
        """One scope's actuals over its months: the organisation's own, or one category's."""
        if not scope.months:
            return
        window = self.objects(ActualBalance).filter(
            period__gte=scope.months[0], period__lte=scope.months[-1]
        )
        if scope.category is None:
            window = window.filter(tracking_option__isnull=True)
        else:
            window = window.filter(
                tracking_option__category__category_id=scope.category.category_id
            )
        existing = {(a.account_id, a.tracking_option_id, a.period): a for a in window}
        wanted = {
            (accounts[account_id].pk, options[option_id].pk if option_id else None, period): amount
            for (account_id, option_id, period), amount in snapshot.actuals.items()
            if scope.holds(option_id) and scope.months[0] <= period <= scope.months[-1]
        }
        create, update = [], []
        for (account_pk, option_pk, period), amount in wanted.items():
            current = existing.get((account_pk, option_pk, period))
            if current is None:
                create.append(
                    ActualBalance(
                        **self.owned(
                            account_id=account_pk,
                            tracking_option_id=option_pk,
                            period=period,
                            amount=amount,
                        )
                    )
                )
            elif current.amount != amount:
                current.amount = amount
                update.append(current)
        gone = [a.pk for key, a in existing.items() if key not in wanted]
        ActualBalance.objects.bulk_create(create, batch_size=2000)
        rows_update(queryset=self.objects(ActualBalance), rows=update, fields=["amount"])
        if gone:
            self.objects(ActualBalance).filter(pk__in=gone).delete()
        self.counts["actuals_changed"] += len(create) + len(update) + len(gone)

    def transactions(self, snapshot: Snapshot, accounts: dict[str, Account], options) -> None:
        self.counts["transaction_lines"] = drivers.transaction_lines_publish(
            firm=self.firm,
            organisation=self.organisation,
            lines=snapshot.transaction_lines,
            since=snapshot.transactions_since,
            incremental=snapshot.transactions_incremental,
            accounts=accounts,
            options=options,
        )
        # What the lines do not explain, per account and month, against the actuals just saved.
        self.counts["driver_remainders"] = drivers.driver_remainders_refresh(
            firm=self.firm,
            organisation=self.organisation,
            since=snapshot.transactions_since,
            until=snapshot.actual_months[-1],
        )
        return True

    def driver_remainders(self, snapshot: Snapshot) -> None:
        """The remainders against the actuals just saved and the lines an earlier sync saved,
        when this run could not save the transactions: a remainder then never describes P&L
        figures the screens no longer show. Documents changed since that earlier sync are
        unexplained until a sync reads them, and the run says so."""
        current = snapshot.actual_months[-1]
        self.counts["driver_remainders"] = drivers.driver_remainders_refresh(
            firm=self.firm,
            organisation=self.organisation,
            since=add_months(current, -settings.XERO_TRANSACTION_MONTHS),
            until=current,
        )
        snapshot.notes.append(DRIVERS_FROM_STORED_LINES)

    def reconcile(
        self, scope: ActualsScope, snapshot: Snapshot, accounts: dict[str, Account], options
    ) -> bool:
        """Per month (overall, or per option of the scope's category): our account sums against
        the report's totals, net profit to the cent."""
        sums: dict[tuple[str | None, dt.date], ReportTotals] = defaultdict(ReportTotals)
        for (account_id, option_id, period), amount in snapshot.actuals.items():
            if not scope.holds(option_id):
                continue
            totals = sums[(option_id, period)]
            if accounts[account_id].account_class == "REVENUE":
                totals.income += amount
            else:
                totals.expenses += amount
        rows = []
        ok = True
        for (option_id, period), report in sorted(
            snapshot.report_totals.items(), key=lambda kv: (kv[0][1], kv[0][0] or "")
        ):
            if not scope.holds(option_id):
                continue
            mine = sums.get((option_id, period), ReportTotals())
            mine.net_profit = mine.income - mine.expenses
            for line in ("income", "expenses", "net_profit"):
                expected, synced = getattr(report, line), getattr(mine, line)
                ok &= expected == synced
                rows.append(
                    Reconciliation(
                        **self.owned(
                            sync_run=self.run,
                            kind=Reconciliation.Kind.ACTUALS,
                            period=period,
                            tracking_option=options.get(option_id) if option_id else None,
                            line=line,
                            expected=expected,
                            synced=synced,
                            difference=synced - expected,
                        )
                    )
                )
        # A run taken over after its worker died (Celery redelivers it) may have saved this
        # scope already: its checks are replaced, never added twice.
        done = self.objects(Reconciliation).filter(
            sync_run=self.run, kind=Reconciliation.Kind.ACTUALS
        )
        if scope.category is None:
            done = done.filter(tracking_option__isnull=True)
        else:
            done = done.filter(tracking_option__category__category_id=scope.category.category_id)
        done.delete()
        Reconciliation.objects.bulk_create(rows, batch_size=2000)
        return ok

    def balance_sheet(
        self, fetched: BalanceSheetFetch, accounts: dict[str, Account], year_end_month: int
    ) -> bool:
        """The month-end balance sheets over the months read, then their checks: each class
        against the report's own total, assets against liabilities plus equity, and current
        year earnings against the year to date's net profit of the synced P&L."""
        if not fetched.months:
            return True
        first, last = fetched.months[0], fetched.months[-1]
        window = self.objects(BalanceSheetBalance).filter(period__gte=first, period__lte=last)
        existing = {(b.row_key, b.period): b for b in window}
        create, update = [], []
        for (row_key, period), (name, section, amount) in fetched.lines.items():
            account = accounts.get(row_key)
            account_class = (
                account.account_class
                if account is not None and account.account_class in BalanceSheetBalance.Class
                else BalanceSheetBalance.Class.EQUITY
            )
            values = {
                "account": account,
                "name": name[:150],
                "section": section[:60],
                "account_class": account_class,
                "amount": amount,
            }
            current = existing.get((row_key, period))
            if current is None:
                create.append(
                    BalanceSheetBalance(**self.owned(row_key=row_key, period=period, **values))
                )
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                update.append(current)
        gone = [b.pk for key, b in existing.items() if key not in fetched.lines]
        BalanceSheetBalance.objects.bulk_create(create, batch_size=2000)
        rows_update(
            queryset=self.objects(BalanceSheetBalance),
            rows=update,
            fields=["account", "name", "section", "account_class", "amount"],
        )
        if gone:
            self.objects(BalanceSheetBalance).filter(pk__in=gone).delete()
        self.counts["balance_sheet_changed"] += len(create) + len(update) + len(gone)
        return self._balance_sheet_reconcile(fetched, accounts, year_end_month)

    def _balance_sheet_reconcile(
        self, fetched: BalanceSheetFetch, accounts: dict[str, Account], year_end_month: int
    ) -> bool:
        sums: dict[dt.date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        earnings: dict[dt.date, Decimal] = {}
        for (row_key, period), (_name, _section, amount) in fetched.lines.items():
            account = accounts.get(row_key)
            account_class = account.account_class if account is not None else "EQUITY"
            sums[period][account_class] += amount
            if row_key == CURRENT_YEAR_EARNINGS:
                earnings[period] = amount
        profit = self._year_to_date_profit(fetched.months, year_end_month)
        rows, ok = [], True

        def check(period: dt.date, line: str, expected: Decimal, synced: Decimal) -> None:
            nonlocal ok
            ok &= expected == synced
            rows.append(
                Reconciliation(
                    **self.owned(
                        sync_run=self.run,
                        kind=Reconciliation.Kind.BALANCE_SHEET,
                        period=period,
                        line=line,
                        expected=expected,
                        synced=synced,
                        difference=synced - expected,
                    )
                )
            )

        for period in fetched.months:
            mine = sums[period]
            for account_class, label in _SHEET_TOTALS.items():
                reported = fetched.totals.get(period, {}).get(label)
                if reported is not None:
                    check(period, _SHEET_LINES[account_class], reported, mine[account_class])
            check(period, "balance", mine["ASSET"], mine["LIABILITY"] + mine["EQUITY"])
            if period in profit and period in earnings:
                check(period, "current_year_earnings", profit[period], earnings[period])
        self.objects(Reconciliation).filter(
            sync_run=self.run, kind=Reconciliation.Kind.BALANCE_SHEET
        ).delete()
        Reconciliation.objects.bulk_create(rows, batch_size=2000)
        return ok

    def _year_to_date_profit(
        self, months: list[dt.date], year_end_month: int
    ) -> dict[dt.date, Decimal]:
        """Net profit from the start of each month's financial year to its end, from the
        organisation's synced P&L, for the months whose whole year to date was synced."""
        actuals = self.objects(ActualBalance).filter(tracking_option__isnull=True)
        earliest = actuals.order_by("period").values_list("period", flat=True).first()
        if earliest is None:
            return {}
        first_year = financial_year_start(months[0], end_month=year_end_month)
        monthly: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
        for period, account_class, amount in actuals.filter(
            period__gte=first_year, period__lte=months[-1]
        ).values_list("period", "account__account_class", "amount"):
            monthly[period] += amount if account_class == "REVENUE" else -amount
        profit = {}
        for month in months:
            year_start = financial_year_start(month, end_month=year_end_month)
            if year_start < earliest:
                continue
            profit[month] = sum((v for p, v in monthly.items() if year_start <= p <= month), ZERO)
        return profit

    def tracking_budget_gaps(self, snapshot: Snapshot) -> None:
        """Tracking budgets of a category against the overall budget, per month (stored, shown;
        firms often budget only some options, so a gap is information, not an error)."""
        if snapshot.budgets is None:
            return
        # Replaced, not added again, when a redelivered run saves the budgets a second time.
        self.objects(Reconciliation).filter(
            sync_run=self.run, kind=Reconciliation.Kind.TRACKING_BUDGETS
        ).delete()
        Reconciliation.objects.bulk_create(self._tracking_budget_gaps(snapshot), batch_size=2000)

    def _tracking_budget_gaps(self, snapshot: Snapshot) -> Iterable[Reconciliation]:
        overall = next((b for b in snapshot.budgets if b.type == "OVERALL"), None)
        if overall is None:
            return []
        overall_by_month: dict[dt.date, Decimal] = defaultdict(lambda: ZERO)
        for line in overall.lines:
            for balance in line.balances:
                overall_by_month[balance.period] += balance.amount
        by_category: dict[str, dict[dt.date, Decimal]] = defaultdict(
            lambda: defaultdict(lambda: ZERO)
        )
        for budget in snapshot.budgets:
            if budget.type != "TRACKING" or not budget.tracking:
                continue
            category_id = budget.tracking[0][0]
            for line in budget.lines:
                for balance in line.balances:
                    by_category[category_id][balance.period] += balance.amount
        categories = {c.category_id: c for c in self.objects(TrackingCategory)}
        rows = []
        for category_id, months in by_category.items():
            for period in sorted(months):
                expected = overall_by_month.get(period, ZERO)
                rows.append(
                    Reconciliation(
                        **self.owned(
                            sync_run=self.run,
                            kind=Reconciliation.Kind.TRACKING_BUDGETS,
                            period=period,
                            tracking_category=categories.get(category_id),
                            line="budget",
                            expected=expected,
                            synced=months[period],
                            difference=months[period] - expected,
                        )
                    )
                )
        return rows


def xero_snapshot_publish(
    *, firm: Firm, organisation: ClientOrganisation, snapshot: Snapshot, run: SyncRun
) -> tuple[dict[str, int], bool | None]:
    """Save each scope in a transaction of its own: the reference data first (every scope needs
    it), then each budget, each actuals scope with its reconciliation, the transactions. A scope
    that cannot be saved keeps its previous data and is added to the snapshot's failures."""
    publisher = _Publisher(firm=firm, organisation=organisation, run=run)

    @contextmanager
    def scope_transaction():
        with transaction.atomic():
            # One publisher at a time per organisation: the row lock serialises concurrent syncs.
            ClientOrganisation.objects.for_firm(firm).select_for_update().get(pk=organisation.pk)
            yield

    with scope_transaction():
        publisher.organisation_profile(snapshot.organisation)
        publisher.tracking_report_layout(snapshot.tracking_report_layout)
        accounts = publisher.accounts(snapshot.accounts)
        publisher.fx_group(accounts, snapshot.fx_grouped_accounts)
        options = publisher.tracking(snapshot.tracking_categories)

    def publish(key: str, name: str, write: Callable[[], object]):
        try:
            with scope_transaction():
                return write()
        except Exception as exc:
            logger.exception("Sync %s of %s: saving %s failed", run.pk, organisation, name)
            if isinstance(exc, DATABASE_LOST):
                # The next scope gets a fresh connection rather than the broken one.
                db.connection.close()
                problem = DATABASE_LOST_WORDS
            else:
                problem = f"it could not be saved ({type(exc).__name__}: {exc})"
            snapshot.failures.append(ScopeFailure(key, name, problem))
            return None

    if snapshot.budgets is not None:
        for data in snapshot.budgets:
            publish(
                f"budget:{data.budget_id}",
                _budget_name(data),
                lambda data=data: publisher.budget(data, accounts, options, snapshot.budget_window),
            )
        with scope_transaction():
            publisher.budgets_gone(snapshot.budget_ids)
            publisher.tracking_budget_gaps(snapshot)
    reconciled: bool | None = None
    actuals_saved = False
    for scope in snapshot.actual_scopes:

        def write(scope=scope) -> bool:
            publisher.actuals(scope, snapshot, accounts, options)
            return publisher.reconcile(scope, snapshot, accounts, options)

        result = publish(scope.key, scope.name, write)
        if result is not None:
            actuals_saved = True
            reconciled = result if reconciled is None else reconciled and result
    if snapshot.balance_sheet is not None:
        result = publish(
            BALANCE_SHEET_KEY,
            "Balance sheet",
            lambda: publisher.balance_sheet(
                snapshot.balance_sheet,
                accounts,
                snapshot.organisation.financial_year_end_month,
            ),
        )
        if result is not None:
            reconciled = result if reconciled is None else reconciled and result
    transactions_saved = snapshot.transactions_fetched and bool(
        publish(
            "transactions",
            "Transactions",
            lambda: publisher.transactions(snapshot, accounts, options),
        )
    )
    if actuals_saved and not transactions_saved:
        publish(
            "driver_remainders",
            "Unexplained amounts",
            lambda: publisher.driver_remainders(snapshot),
        )
    counts = dict(publisher.counts)
    counts.update(
        accounts=len(snapshot.accounts),
        budgets=len(snapshot.budgets or []),
        budget_balances=sum(len(line.balances) for b in snapshot.budgets or [] for line in b.lines),
        actuals=len(snapshot.actuals),
        months=len(snapshot.actual_months),
    )
    # The call plan by step, for the run log.
    for name, calls in snapshot.plan.steps.items():
        step = "actuals" if name.startswith("actuals") else name
        counts[f"calls_planned_{step}"] = counts.get(f"calls_planned_{step}", 0) + calls
    if snapshot.notes:
        counts["notes"] = len(snapshot.notes)
    return counts, reconciled


# --- The whole sync ---------------------------------------------------------------------------


def organisation_sync_start(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    trigger: str,
    kind: str | None = None,
    enqueue: bool = True,
) -> SyncRun:
    """Queue a sync, unless one is already queued or running for the organisation."""
    with transaction.atomic():
        ClientOrganisation.objects.for_firm(firm).select_for_update().get(pk=organisation.pk)
        runs = SyncRun.objects.for_firm(firm).filter(organisation=organisation)
        _interrupted_runs_close(runs)
        active = runs.filter(
            state__in=(SyncRun.State.QUEUED, SyncRun.State.RUNNING),
            created_at__gte=timezone.now() - STALE_RUN,
        ).first()
        if active is not None:
            lost = timezone.now() - dt.timedelta(seconds=settings.XERO_SYNC_QUEUED_SECONDS)
            if enqueue and active.state == SyncRun.State.QUEUED and active.created_at < lost:
                # Its message was lost (a Redis restart): a click sends it again at once.
                tasks.enqueue("integrations.xero.tasks.xero_sync_organisation", firm.pk, active.pk)
            return active
        run = SyncRun.objects.for_firm(firm).create(
            firm=firm,
            organisation=organisation,
            kind=_sync_kind(firm, organisation, kind),
            trigger=trigger,
        )
        if enqueue:
            tasks.enqueue("integrations.xero.tasks.xero_sync_organisation", firm.pk, run.pk)
    return run


def _stale_before() -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=settings.XERO_SYNC_STALE_SECONDS)


INTERRUPTED = "Interrupted"
INTERRUPTED_ERROR = (
    "The sync stopped at {step} ({progress}%): the worker running it was lost (restarted, "
    "killed or cut off from the database). Each part is saved whole or not at all, so nothing "
    "is half saved; the previous data of the parts it had not saved is unchanged."
)
# A run whose worker keeps dying (a client too big for its memory, say) is not queued again
# for ever: after this many interruptions in a row it waits for a person's Sync now.
INTERRUPTIONS_RETRIED = 3


def _lost_infrastructure(step: str, error: str) -> bool:
    """The run, or a part of it, stopped because a worker, the database or Redis went away
    (not because of Xero or the data): what the product retries by itself."""
    return step == INTERRUPTED or DATABASE_LOST_WORDS in error or REDIS_LOST_WORDS in error


def _interrupted_runs_close(runs, *, again: str = "Run it again.") -> list[SyncRun]:
    """Runs whose worker died (no heartbeat for a while) are failed, saying so in words; each
    scope is published in a transaction of its own, so none is half saved."""
    closed = list(
        runs.filter(state=SyncRun.State.RUNNING, heartbeat_at__lt=_stale_before())
        .select_for_update()
        .only("pk", "step", "progress", "organisation_id", "kind")
    )
    for run in closed:
        run.state = SyncRun.State.FAILED
        run.finished_at = timezone.now()
        run.error = f"{INTERRUPTED_ERROR.format(step=run.step or 'its start', progress=run.progress)} {again}"
        run.step = INTERRUPTED
        run.save(update_fields=["state", "finished_at", "error", "step"])
    return closed


def _interrupted_run_requeue(*, firm: Firm, run: SyncRun) -> bool:
    """Queue a new run of an interrupted one's kind, unless its organisation was interrupted
    INTERRUPTIONS_RETRIED times in a row or has a run queued or running already."""
    runs = SyncRun.objects.for_firm(firm).filter(organisation_id=run.organisation_id)
    recent = list(
        runs.filter(finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("step", "error")[:INTERRUPTIONS_RETRIED]
    )
    if len(recent) == INTERRUPTIONS_RETRIED and all(_lost_infrastructure(*r) for r in recent):
        runs.filter(pk=run.pk).update(
            error=f"{run.error} It stopped {INTERRUPTIONS_RETRIED} times in a row, so it was "
            "not queued again: use Sync now to try again."
        )
        return False
    if runs.filter(state__in=(SyncRun.State.QUEUED, SyncRun.State.RUNNING)).exists():
        return False
    again = runs.create(
        firm=firm,
        organisation_id=run.organisation_id,
        kind=run.kind,
        trigger=SyncRun.Trigger.SCHEDULE,
    )
    tasks.enqueue("integrations.xero.tasks.xero_sync_organisation", firm.pk, again.pk)
    return True


def sync_runs_recover(*, firm: Firm) -> dict[str, int]:
    """Beat: runs whose worker was lost are marked interrupted and queued again, with no click.

    A running sync whose heartbeat stopped (the worker was killed, or its task crashed on a
    dropped database connection) is failed as "Interrupted" and a new run of the same kind is
    queued, unless its organisation was interrupted INTERRUPTIONS_RETRIED times in a row. A
    queued run that no worker took within XERO_SYNC_QUEUED_SECONDS (its message was lost with
    a Redis restart, or a task crashed before claiming it) is queued again under the same id:
    the claim is a conditional update, so a second message for it does nothing.
    """
    requeued = interrupted = 0
    with transaction.atomic():
        runs = SyncRun.objects.for_firm(firm)
        closed = _interrupted_runs_close(runs, again="It was queued again automatically.")
        interrupted = len(closed)
        for old in closed:
            requeued += _interrupted_run_requeue(firm=firm, run=old)
        lost = runs.filter(
            state=SyncRun.State.QUEUED,
            started_at__isnull=True,
            created_at__lt=timezone.now() - dt.timedelta(seconds=settings.XERO_SYNC_QUEUED_SECONDS),
        ).values_list("pk", flat=True)
        for run_id in lost:
            tasks.enqueue("integrations.xero.tasks.xero_sync_organisation", firm.pk, run_id)
            requeued += 1
    return {"interrupted": interrupted, "requeued": requeued}


def sync_run_claim(*, firm: Firm, run_id: int) -> bool:
    """Conditional update: of two workers given the same run, exactly one gets to do it. A run
    left running by a dead worker (Celery redelivers it: acks_late) is taken over."""
    from django.db.models import Q

    return bool(
        SyncRun.objects.for_firm(firm)
        .filter(pk=run_id)
        .filter(
            Q(state=SyncRun.State.QUEUED)
            | Q(state=SyncRun.State.RUNNING, heartbeat_at__lt=_stale_before())
        )
        .update(
            state=SyncRun.State.RUNNING,
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
            step="Starting",
        )
    )


def _sync_kind(firm: Firm, organisation: ClientOrganisation, requested: str | None) -> str:
    if requested:
        return requested
    has_data = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).exists()
    return SyncRun.Kind.INCREMENTAL if has_data else SyncRun.Kind.INITIAL


def _last_success_started(firm: Firm, organisation: ClientOrganisation) -> dt.datetime | None:
    """The start of the last run that saved the transactions."""
    runs = (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, state=SyncRun.State.SUCCEEDED)
        .order_by("-started_at")
        .only("started_at", "failed_scopes")
    )
    for run in runs.iterator():
        if "transactions" not in {f.get("key") for f in run.failed_scopes or []}:
            return run.started_at
    return None


def _tracking_report_layout(firm: Firm, organisation: ClientOrganisation) -> str:
    """How an earlier sync found Xero answers a P&L of 12 months by tracking category."""
    return (
        XeroOrganisation.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list("tracking_report_layout", flat=True)
        .first()
        or ""
    )


def _scopes_to_retry(firm: Firm, organisation: ClientOrganisation) -> set[str]:
    """Scopes that failed in any run since the last one that saved everything."""
    keys: set[str] = set()
    runs = (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, finished_at__isnull=False)
        .order_by("-finished_at")
        .only("state", "failed_scopes")
    )
    for run in runs.iterator():
        if run.state == SyncRun.State.SUCCEEDED and not run.failed_scopes:
            break
        keys |= {f.get("key") for f in run.failed_scopes or []}
    return keys


def _failures_sentence(failures: list[ScopeFailure]) -> str:
    """ "Region actuals and Transactions, because ...; Budget 'FY27', because ..." """
    by_reason: dict[str, list[str]] = defaultdict(list)
    for failure in failures:
        if failure.name not in by_reason[failure.error]:
            by_reason[failure.error].append(failure.name)
    parts = []
    for reason, names in by_reason.items():
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"{who}, because {reason.rstrip('.')}")
    return "; ".join(parts)


def _readable_scope(exc: Exception) -> str:
    if isinstance(exc, XeroError):
        return str(exc)
    if isinstance(exc, DATABASE_LOST):
        return DATABASE_LOST_WORDS
    if isinstance(exc, REDIS_LOST):
        return REDIS_LOST_WORDS
    return f"an unexpected error ({type(exc).__name__}: {exc})"


def organisation_sync(
    *,
    firm: Firm,
    run_id: int,
    client_factory: Callable[[XeroTenant], XeroClient] | None = None,
    today: dt.date | None = None,
    on_progress: Progress | None = None,
) -> SyncRun:
    """Run a claimed-or-queued SyncRun to the end. A failure keeps the previous data."""
    run = SyncRun.objects.for_firm(firm).select_related("organisation").get(pk=run_id)
    if not sync_run_claim(firm=firm, run_id=run_id):
        return run
    run.refresh_from_db()
    organisation = run.organisation
    started = time.monotonic()
    client = None
    expected_calls = _expected_calls(firm=firm, organisation=organisation, kind=run.kind)

    def progress(percent: int, step: str) -> None:
        calls = client.calls if client else 0
        if expected_calls and percent < 96:
            # The calls made against the calls the last such sync took: what the screen's
            # bar and "time left" read, rather than a guess from the step's number.
            percent = max(2, min(95, calls * 95 // expected_calls))
        SyncRun.objects.for_firm(firm).filter(pk=run.pk).update(
            progress=percent, step=step[:200], calls_used=calls, heartbeat_at=timezone.now()
        )
        if on_progress is not None:
            on_progress(percent, step)

    try:
        tenant = (
            XeroTenant.objects.for_firm(firm)
            .select_related("connection", "firm")
            .get(client_organisation=organisation)
        )
        if tenant.status != XeroTenant.Status.CONNECTED:
            raise XeroError(
                f"{organisation.name} was removed from the Xero connection. Connect Xero again "
                "and link it to sync."
            )
        client = (client_factory or (lambda t: XeroClient(tenant=t)))(tenant)
        since = _last_success_started(firm, organisation)
        snapshot = xero_snapshot_fetch(
            client=client,
            organisation=organisation,
            kind=run.kind,
            today=today,
            # A margin for clock skew between us and Xero.
            transactions_since=since - dt.timedelta(minutes=10) if since else None,
            retry=_scopes_to_retry(firm, organisation),
            tracking_report_layout=_tracking_report_layout(firm, organisation),
            progress=progress,
        )
        progress(96, "Saving")
        counts, reconciled = xero_snapshot_publish(
            firm=firm, organisation=organisation, snapshot=snapshot, run=run
        )
        run.calls_planned = snapshot.plan.total
        run.counts = counts
        run.reconciled = reconciled
        run.progress = 100
        run.failed_scopes = [
            {"key": f.key, "name": f.name, "error": f.error} for f in snapshot.failures
        ]
        tried = {f"budget:{b.budget_id}" for b in snapshot.budgets or []}
        tried |= {scope.key for scope in snapshot.actual_scopes}
        tried |= {"transactions"} if snapshot.transactions_fetched else set()
        tried |= {BALANCE_SHEET_KEY} if snapshot.balance_sheet is not None else set()
        saved_any = bool(tried - {f.key for f in snapshot.failures})
        reasons = {f.error for f in snapshot.failures}
        if snapshot.failures and not saved_any and len(reasons) == 1:
            run.state = SyncRun.State.FAILED
            run.error = f"{reasons.pop().rstrip()} The previous data is unchanged."
            run.step = "Failed"
        elif snapshot.failures and not saved_any:
            run.state = SyncRun.State.FAILED
            run.error = (
                f"Nothing was saved: {_failures_sentence(snapshot.failures)}. "
                "The previous data is unchanged."
            )
            run.step = "Failed"
        else:
            run.state = SyncRun.State.SUCCEEDED
            run.step = (
                "Done" if reconciled is not False else "Done, with reconciliation differences"
            )
            messages = []
            if snapshot.failures:
                run.step = f"Done, except {len(snapshot.failures)} of its parts"
                messages.append(
                    f"Succeeded, except: {_failures_sentence(snapshot.failures)}. Their previous "
                    "data is unchanged; the next sync fetches them again."
                )
            messages += snapshot.notes
            run.error = "; ".join(messages)
    except Exception as exc:
        logger.exception("Sync %s of %s failed", run.pk, organisation)
        run.state = SyncRun.State.FAILED
        run.error = _readable(exc)
        run.step = INTERRUPTED if isinstance(exc, DATABASE_LOST + REDIS_LOST) else "Failed"
    finally:
        run.calls_used = client.calls if client else 0
        run.finished_at = timezone.now()
        if client is not None:
            client.close()
    try:
        run.save()
    except DATABASE_LOST:
        # The connection that dropped is gone for good; a new one records the outcome, so the
        # run does not stay "running" until the stale-run beat job finds it.
        db.connection.close()
        run.save()
    if _lost_infrastructure(run.step, run.error):
        # Cut off from the database or Redis, not refused by Xero: tried again without a click
        # (the parts that failed are fetched again in full).
        with transaction.atomic():
            ClientOrganisation.objects.for_firm(firm).select_for_update().get(pk=organisation.pk)
            _interrupted_run_requeue(firm=firm, run=run)
    logger.info(
        "Sync %s of %s: %s in %.1fs, %d calls (planned %d)",
        run.pk,
        organisation,
        run.state,
        time.monotonic() - started,
        run.calls_used,
        run.calls_planned,
    )
    return run


def _expected_calls(*, firm: Firm, organisation: ClientOrganisation, kind: str) -> int | None:
    """How many calls the organisation's last successful sync of this kind made: what this one
    will make, near enough (the same organisation, budgets and months). None for a first."""
    return (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, kind=kind, state=SyncRun.State.SUCCEEDED)
        .exclude(calls_used=0)
        .order_by("-finished_at")
        .values_list("calls_used", flat=True)
        .first()
    )


def _readable(exc: Exception) -> str:
    if isinstance(exc, XeroError):
        return f"{exc} The previous data is unchanged."
    if isinstance(exc, DATABASE_LOST):
        return (
            "Our database connection was lost during the sync (the database restarted or cut "
            "the connection). Nothing is half saved and the previous data is unchanged; the "
            "sync is tried again automatically."
        )
    if isinstance(exc, REDIS_LOST):
        return (
            "Our Redis server, which paces the calls to Xero, could not be reached (it was "
            "restarting). The previous data is unchanged; the sync is tried again automatically."
        )
    return f"Unexpected error ({type(exc).__name__}: {exc}). The previous data is unchanged."
