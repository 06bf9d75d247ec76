"""Sync a client organisation from Xero: fetch everything first, then publish in one transaction.

Fetching makes every API call and holds the answers in memory; nothing is written until it has
all arrived and been checked (unknown accounts, malformed amounts). Publishing then writes the
new state in a single transaction that upserts by Xero's ids and deletes what Xero no longer
has. So a sync killed at any point leaves the previous data exactly as it was, a rerun gives the
same rows, and nobody ever sees a half-synced organisation.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from budgeting.ledger import drivers
from budgeting.ledger.models import (
    Account,
    ActualBalance,
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
from core.history import history_note
from core.months import add_months, financial_year_start, month_end, month_start, months_between
from integrations.models import XeroTenant
from integrations.xero import documents, parsing
from integrations.xero.client import XeroClient
from integrations.xero.errors import XeroError, XeroPayloadError
from integrations.xero.periods import budget_windows, profit_and_loss_calls
from tenants.models import ClientOrganisation, Firm

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# A run queued or running for longer than this is presumed lost with its worker.
STALE_RUN = dt.timedelta(hours=2)
# Xero's standard layout groups multi-currency system accounts into a single row with this id.
FX_GROUP = "FXGROUPID"


# --- What a sync fetches ------------------------------------------------------------------------


@dataclass
class ReportTotals:
    income: Decimal = ZERO
    expenses: Decimal = ZERO
    net_profit: Decimal = ZERO


@dataclass
class Snapshot:
    organisation: parsing.XeroOrganisation
    accounts: list[parsing.XeroAccount]
    tracking_categories: list[parsing.XeroTrackingCategory]
    # None: budgets were not read this time (a webhook-triggered refresh) and stay as they are.
    budgets: list[parsing.XeroBudget] | None
    # The months whose actuals were fetched; rows of other months are left alone.
    actual_months: list[dt.date]
    # (AccountID, TrackingOptionID or None, period) -> amount
    actuals: dict[tuple[str, str | None, dt.date], Decimal]
    # (TrackingOptionID or None, period) -> the report's own totals
    report_totals: dict[tuple[str | None, dt.date], ReportTotals]
    transaction_lines: list[documents.XeroTransactionLine]
    # Transactions: replace every line dated on or after this (initial/full), or only the
    # documents that came back (incremental).
    transactions_since: dt.date | None
    transactions_incremental: bool
    notes: list[str] = field(default_factory=list)


Progress = Callable[[int, str], None]


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


def _column_groups(
    report: parsing.ProfitAndLoss,
    *,
    months: list[dt.date],
    options: list[parsing.XeroTrackingOption] | None,
) -> list[tuple[int, dt.date, str | None]]:
    """(column index, period, TrackingOptionID or None) for the columns we keep.

    Columns come newest period first. With a tracking category each period has one column per
    option (labelled "<option> <date>"), then "Unassigned" and "Total", which we skip: the
    overall figures come from the report without tracking.
    """
    if options is None:
        if len(report.columns) != len(months):
            raise XeroPayloadError(
                "Reports/ProfitAndLoss",
                "Rows[0].Cells",
                f"{len(report.columns)} columns for {len(months)} months",
            )
        return [(i, month, None) for i, month in enumerate(months)]
    per_period = len(report.columns) // len(months) if months else 0
    if per_period * len(months) != len(report.columns):
        raise XeroPayloadError(
            "Reports/ProfitAndLoss", "Rows[0].Cells", "tracking columns do not divide by periods"
        )
    by_name = sorted(options, key=lambda o: -len(o.name))
    keep = []
    for index, label in enumerate(report.columns):
        month = months[index // per_period]
        option = next(
            (o for o in by_name if label == o.name or label.startswith(o.name + " ")), None
        )
        if option is not None:
            keep.append((index, month, option.option_id))
    return keep


def _fetch_actuals(
    client: XeroClient,
    *,
    months: list[dt.date],
    categories: list[parsing.XeroTrackingCategory],
    known_accounts: set[str],
    snapshot_actuals: dict,
    snapshot_totals: dict,
    notes: list[str],
    progress: Callable[[str], None],
) -> None:
    if not months:
        return
    scopes: list[tuple[parsing.XeroTrackingCategory | None, list]] = [(None, [])]
    scopes += [(c, [o for o in c.options if o.status == "ACTIVE"]) for c in categories if c.options]
    for category, options in scopes:
        for base, periods in profit_and_loss_calls(months[0], months[-1]):
            progress(f"Actuals {base:%b %Y}" + (f" by {category.name}" if category else ""))
            report = client.profit_and_loss(
                from_date=base,
                to_date=month_end(base),
                periods=periods or None,
                tracking_category_id=category.category_id if category else None,
            )
            call_months = [add_months(base, -i) for i in range(periods + 1)]
            columns = _column_groups(
                report, months=call_months, options=options if category else None
            )
            for index, month, option_id in columns:
                for row in report.rows:
                    if row.account_id == FX_GROUP:
                        notes.append(f"{month:%b %Y}: Xero grouped foreign-currency accounts")
                        continue
                    if row.account_id not in known_accounts:
                        raise XeroPayloadError(
                            "Reports/ProfitAndLoss",
                            f"{row.section or 'Rows'}: {row.name}: account attribute",
                            f"unknown account {row.account_id!r} (not in Accounts)",
                        )
                    if row.values[index] != ZERO:
                        _add_known(
                            snapshot_actuals, (row.account_id, option_id, month), row.values[index]
                        )
                snapshot_totals[(option_id, month)] = _report_totals(report, index)


def _fetch_budgets(
    client: XeroClient,
    *,
    headers: list[parsing.XeroBudget],
    known_ranges: dict[str, tuple[dt.date, dt.date]],
    default_range: tuple[dt.date, dt.date],
    probe: bool,
    known_accounts: set[str],
    progress: Callable[[str], None],
) -> list[parsing.XeroBudget]:
    """Every budget with its lines over its whole range, in windows of at most 24 months.

    Xero's API does not say how far a budget reaches, so a first sync reads the default range
    and, where balances reach its edge, keeps reading outward; later syncs re-read the range
    already known (budgets are compared by content: Xero's UpdatedDateUTC does not move when a
    user imports a file in Budget Manager).
    """
    budgets = []
    for header in headers:
        first, last = known_ranges.get(header.budget_id, default_range)
        progress(f"Budget {header.description or header.type}")
        lines: dict[str, dict[dt.date, parsing.XeroBudgetBalance]] = defaultdict(dict)
        fetched = None

        def read(
            window_first: dt.date, window_last: dt.date, header=header, lines=lines
        ) -> set[dt.date]:
            nonlocal fetched
            periods_seen = set()
            for date_from, date_to in budget_windows(window_first, window_last):
                fetched = client.budget(header.budget_id, date_from=date_from, date_to=date_to)
                for j, line in enumerate(fetched.lines):
                    if line.account_id not in known_accounts:
                        raise XeroPayloadError(
                            f"Budgets/{header.budget_id}",
                            f"Budgets[0].BudgetLines[{j}].AccountID",
                            f"unknown account {line.account_id!r} (not in Accounts)",
                        )
                    for balance in line.balances:
                        if date_from <= balance.period <= date_to:
                            lines[line.account_id][balance.period] = balance
                            periods_seen.add(balance.period)
            return periods_seen

        read(first, last)
        if probe:
            # Read outward a window at a time while the balances reach the edge already read.
            while lines and _edge(lines, min) == month_start(first):
                previous = add_months(first, -24)
                if not read(previous, first - dt.timedelta(days=1)):
                    break
                first = previous
            while lines and _edge(lines, max) == month_start(last):
                following = month_end(add_months(month_start(last), 24))
                if not read(last + dt.timedelta(days=1), following):
                    break
                last = following
        source = fetched or header
        budgets.append(
            parsing.XeroBudget(
                budget_id=header.budget_id,
                type=source.type,
                description=source.description,
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
        )
    return budgets


def _edge(lines: dict[str, dict[dt.date, object]], pick) -> dt.date:
    return pick(pick(balances) for balances in lines.values() if balances)


def xero_snapshot_fetch(
    *,
    client: XeroClient,
    organisation: ClientOrganisation,
    kind: str,
    today: dt.date | None = None,
    transactions_since: dt.datetime | None = None,
    progress: Progress = lambda percent, step: None,
) -> Snapshot:
    """Make every API call of a sync and return what Xero said. Writes nothing."""
    full = kind in (SyncRun.Kind.INITIAL, SyncRun.Kind.FULL)
    steps = iter(range(1, 1000))

    def step(label: str) -> None:
        # Progress is estimated from the steps done against the steps a sync usually takes.
        progress(min(95, 5 + next(steps) * 90 // expected_steps), label)

    expected_steps = 20
    progress(2, "Organisation")
    xero_organisation = client.organisation()
    accounts = client.accounts()
    tracking_categories = client.tracking_categories()
    known_accounts = {a.account_id for a in accounts}
    # The organisation's month, not ours: its open month starts at its own midnight.
    today = today or clock.today(xero_organisation.timezone)
    current = month_start(today)

    # Actuals: the last N closed months and the open ones (full), or only the months Xero still
    # lets users change: everything after the period lock date (incremental).
    if full:
        first_actual = add_months(current, -settings.XERO_ACTUALS_MONTHS)
    else:
        lock = xero_organisation.period_lock_date
        first_actual = add_months(month_start(lock), 1) if lock else add_months(current, -2)
    actual_months = months_between(first_actual, current)

    budgets = None
    if kind != SyncRun.Kind.TRANSACTIONS:
        known_ranges = _stored_budget_ranges(organisation) if not full else {}
        fy_start = financial_year_start(today, end_month=xero_organisation.financial_year_end_month)
        budgets = _fetch_budgets(
            client,
            headers=client.budgets(),
            known_ranges=known_ranges,
            # 24 months from the month before last financial year's start: budgets start at a
            # financial year's start, so the first read also shows the month before a budget
            # (where it does not reach), and one more read of 24 months past the window's end
            # finds where it ends.
            default_range=(add_months(fy_start, -13), month_end(add_months(fy_start, 10))),
            probe=full or not known_ranges,
            known_accounts=known_accounts,
            progress=step,
        )

    actuals: dict = {}
    totals: dict = {}
    notes: list[str] = []
    _fetch_actuals(
        client,
        months=actual_months,
        categories=tracking_categories,
        known_accounts=known_accounts,
        snapshot_actuals=actuals,
        snapshot_totals=totals,
        notes=notes,
        progress=step,
    )

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

    return Snapshot(
        organisation=xero_organisation,
        accounts=accounts,
        tracking_categories=tracking_categories,
        budgets=budgets,
        actual_months=actual_months,
        actuals=actuals,
        report_totals=totals,
        transaction_lines=[line for line in lines if line.date >= retention_start],
        transactions_since=retention_start,
        transactions_incremental=incremental,
        notes=sorted(set(notes)),
    )


def _stored_budget_ranges(organisation: ClientOrganisation) -> dict[str, tuple[dt.date, dt.date]]:
    from django.db.models import Max, Min

    rows = (
        BudgetBalance.objects.for_firm(organisation.firm)
        .filter(organisation=organisation)
        .values("budget_line__budget__budget_id")
        .annotate(first=Min("period"), last=Max("period"))
    )
    return {r["budget_line__budget__budget_id"]: (r["first"], month_end(r["last"])) for r in rows}


# --- Publishing -------------------------------------------------------------------------------


class _Publisher:
    def __init__(self, *, firm: Firm, organisation: ClientOrganisation, run: SyncRun):
        self.firm, self.organisation, self.run = firm, organisation, run
        self.counts: dict[str, int] = defaultdict(int)

    def objects(self, model):
        return model.objects.for_firm(self.firm).filter(organisation=self.organisation)

    def owned(self, **fields) -> dict:
        return {"firm": self.firm, "organisation": self.organisation, **fields}

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
        before = profile.period_lock_date if profile else None
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
            self.objects(model).bulk_update(changed, list(next(iter(rows.values())).keys()))
        self.counts[f"{model._meta.model_name}_changed"] += len(created) + len(changed)
        return existing

    def accounts(self, accounts: list[parsing.XeroAccount]) -> dict[str, Account]:
        rows = {
            a.account_id: {
                "code": a.code,
                "name": a.name,
                "type": a.type,
                "account_class": a.account_class,
                "status": a.status,
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

    def budgets(
        self,
        budgets: list[parsing.XeroBudget],
        accounts: dict[str, Account],
        options: dict[str, TrackingOption],
    ) -> None:
        reason = f"Synced from Xero ({self.run.get_kind_display().lower()} sync {self.run.pk})"
        existing = {b.budget_id: b for b in self.objects(Budget)}
        for data in budgets:
            option_ids = [option_id for _cat, option_id in data.tracking]
            values = {
                "type": data.type,
                "description": data.description,
                "updated_utc": data.updated_utc,
                "tracking_option": options.get(option_ids[0]) if option_ids else None,
                "tracking_option_2": options.get(option_ids[1]) if len(option_ids) > 1 else None,
            }
            budget = existing.pop(data.budget_id, None)
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
            self._budget_lines(budget, data, accounts, reason)
        for gone in existing.values():
            history_note(gone, reason="No longer in Xero")
            gone.delete()
            self.counts["budgets_deleted"] += 1

    def _budget_lines(
        self, budget: Budget, data: parsing.XeroBudget, accounts, reason: str
    ) -> None:
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
        for account_id, line in list(lines.items()):
            if account_id not in wanted_lines:
                history_note(line, reason="No longer in Xero")
                line.delete()
                del lines[account_id]

        existing = {
            (b.budget_line_id, b.period): b
            for b in self.objects(BudgetBalance).filter(budget_line__budget=budget)
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

    def actuals(self, snapshot: Snapshot, accounts: dict[str, Account], options) -> None:
        if not snapshot.actual_months:
            return
        window = self.objects(ActualBalance).filter(
            period__gte=snapshot.actual_months[0], period__lte=snapshot.actual_months[-1]
        )
        existing = {(a.account_id, a.tracking_option_id, a.period): a for a in window}
        wanted = {
            (accounts[account_id].pk, options[option_id].pk if option_id else None, period): amount
            for (account_id, option_id, period), amount in snapshot.actuals.items()
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
        self.objects(ActualBalance).bulk_update(update, ["amount"], batch_size=2000)
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
            firm=self.firm, organisation=self.organisation, since=snapshot.transactions_since
        )

    def reconcile(self, snapshot: Snapshot, accounts: dict[str, Account], options) -> bool:
        """Per month (overall and per option): our account sums against the report's totals."""
        sums: dict[tuple[str | None, dt.date], ReportTotals] = defaultdict(ReportTotals)
        for (account_id, option_id, period), amount in snapshot.actuals.items():
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
        rows.extend(self._tracking_budget_gaps(snapshot, options))
        Reconciliation.objects.bulk_create(rows, batch_size=2000)
        return ok

    def _tracking_budget_gaps(self, snapshot: Snapshot, options) -> Iterable[Reconciliation]:
        """Tracking budgets of a category against the overall budget, per month (stored, shown;
        firms often budget only some options, so a gap is information, not an error)."""
        if snapshot.budgets is None:
            return []
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
) -> tuple[dict[str, int], bool]:
    with transaction.atomic():
        # One publisher at a time per organisation: the row lock serialises concurrent syncs.
        ClientOrganisation.objects.for_firm(firm).select_for_update().get(pk=organisation.pk)
        publisher = _Publisher(firm=firm, organisation=organisation, run=run)
        publisher.organisation_profile(snapshot.organisation)
        accounts = publisher.accounts(snapshot.accounts)
        options = publisher.tracking(snapshot.tracking_categories)
        if snapshot.budgets is not None:
            publisher.budgets(snapshot.budgets, accounts, options)
        publisher.actuals(snapshot, accounts, options)
        publisher.transactions(snapshot, accounts, options)
        reconciled = publisher.reconcile(snapshot, accounts, options)
    counts = dict(publisher.counts)
    counts.update(
        accounts=len(snapshot.accounts),
        budgets=len(snapshot.budgets or []),
        budget_balances=sum(len(line.balances) for b in snapshot.budgets or [] for line in b.lines),
        actuals=len(snapshot.actuals),
        months=len(snapshot.actual_months),
    )
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


def _interrupted_runs_close(runs) -> None:
    """Runs whose worker died (no heartbeat for a while) are failed; their data was never
    published, because publishing is one transaction."""
    runs.filter(state=SyncRun.State.RUNNING, heartbeat_at__lt=_stale_before()).update(
        state=SyncRun.State.FAILED,
        finished_at=timezone.now(),
        step="Interrupted",
        error="The sync was interrupted (its worker stopped). Nothing it fetched was saved; "
        "the previous data is unchanged. Run it again.",
    )


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
    run = (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, state=SyncRun.State.SUCCEEDED)
        .order_by("-started_at")
        .first()
    )
    return run.started_at if run else None


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

    def progress(percent: int, step: str) -> None:
        SyncRun.objects.for_firm(firm).filter(pk=run.pk).update(
            progress=percent, step=step[:200], heartbeat_at=timezone.now()
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
            progress=progress,
        )
        progress(96, "Saving")
        counts, reconciled = xero_snapshot_publish(
            firm=firm, organisation=organisation, snapshot=snapshot, run=run
        )
        run.state = SyncRun.State.SUCCEEDED
        run.counts = counts
        run.reconciled = reconciled
        run.progress = 100
        run.step = "Done" if reconciled else "Done, with reconciliation differences"
        if snapshot.notes:
            run.error = "; ".join(snapshot.notes)
    except Exception as exc:
        logger.exception("Sync %s of %s failed", run.pk, organisation)
        run.state = SyncRun.State.FAILED
        run.error = _readable(exc)
        run.step = "Failed"
    finally:
        run.calls_used = client.calls if client else 0
        run.finished_at = timezone.now()
        if client is not None:
            client.close()
    run.save()
    logger.info(
        "Sync %s of %s: %s in %.1fs, %d calls",
        run.pk,
        organisation,
        run.state,
        time.monotonic() - started,
        run.calls_used,
    )
    return run


def _readable(exc: Exception) -> str:
    if isinstance(exc, XeroError):
        return f"{exc} The previous data is unchanged."
    return f"Unexpected error ({type(exc).__name__}: {exc}). The previous data is unchanged."
