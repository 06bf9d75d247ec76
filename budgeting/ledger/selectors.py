"""Reads for the budgeting screens. Each takes the firm explicitly."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    Reconciliation,
    SyncRun,
    TrackingOption,
    XeroOrganisation,
)
from budgeting.ledger.sync import STALE_RUN
from core.clock import MonthWindow, month_window
from core.months import last_closed_month, months_between
from integrations.models import XeroConnection, XeroTenant
from tenants.models import ClientOrganisation, Firm

NOT_CONNECTED = "not_connected"
XERO_STATES = {
    XeroConnection.Status.CONNECTED: "Connected",
    XeroConnection.Status.NEEDS_REAUTH: "Needs re-authorisation",
    XeroConnection.Status.REVOKED: "Revoked",
    NOT_CONNECTED: "Not connected",
}
RECONCILED, DIFFERENCES, NOT_CHECKED = "reconciled", "differences", "not_checked"
RECONCILIATION_STATES = {
    RECONCILED: "Reconciled",
    DIFFERENCES: "Differences",
    NOT_CHECKED: "Not checked",
}
# Dashboard filters beyond the Xero states: what needs someone's attention.
SYNCING, SYNC_FAILED = "syncing", "sync_failed"
DASHBOARD_FILTERS = {
    **XERO_STATES,
    SYNCING: "Syncing now",
    SYNC_FAILED: "Last sync failed",
    DIFFERENCES: "Reconciliation differences",
}
ACTUAL_WINDOWS = (12, 24, 36)
# Revenue first, then the costs, as a P&L reads.
_CLASS_ORDER = {"REVENUE": 0, "EXPENSE": 1}


# --- Small helpers ------------------------------------------------------------------------------


def _profile(organisation: ClientOrganisation) -> XeroOrganisation | None:
    try:
        return organisation.xero_organisation
    except XeroOrganisation.DoesNotExist:
        return None


# --- Sync state of organisations ------------------------------------------------------------


@dataclass
class OrganisationSyncStatus:
    """One client organisation as the dashboard and the organisation page's header show it."""

    organisation: ClientOrganisation
    xero_state: str
    profile: XeroOrganisation | None
    latest_run: SyncRun | None
    last_finished_run: SyncRun | None
    last_succeeded_run: SyncRun | None
    firm_slug: str = ""
    # The latest run's state while it counts as under way, else "": organisation_sync_facts'
    # `sync_active_state`, the one judgement the filter, the banner and the row all read.
    active_state: str = ""

    # Links of the row, built from one reversed pattern each rather than a {% url %} per row:
    # the 200-client dashboard renders hundreds of them.
    @property
    def detail_url(self) -> str:
        return _organisation_url("organisation_detail", self.firm_slug, self.organisation.pk)

    @property
    def sync_now_url(self) -> str:
        return _organisation_url("organisation_sync_now", self.firm_slug, self.organisation.pk)

    @property
    def sync_status_url(self) -> str:
        return _organisation_url("organisation_sync_status", self.firm_slug, self.organisation.pk)

    @property
    def xero_state_label(self) -> str:
        return XERO_STATES[self.xero_state]

    @property
    def currency(self) -> str:
        return self.profile.base_currency if self.profile else self.organisation.base_currency

    @property
    def last_closed_month(self) -> dt.date | None:
        return last_closed_month(self.profile.period_lock_date if self.profile else None)

    @property
    def active_run(self) -> SyncRun | None:
        """The run to show progress for; None once it finished or, as the sync service judges,
        its worker was lost (so the page stops polling and offers Sync now again)."""
        return self.latest_run if self.active_state else None

    @property
    def time_left(self) -> dt.timedelta | None:
        """The running sync's time left, from how long the last successful sync of its kind
        took; None with nothing to go by (a first sync, or one still queued)."""
        run, last = self.active_run, self.last_succeeded_run
        if run is None or run.started_at is None or last is None or last.kind != run.kind:
            return None
        if last.duration is None:
            return None
        return max(last.duration - (timezone.now() - run.started_at), dt.timedelta(0))

    @property
    def stalled_run(self) -> SyncRun | None:
        """The latest run when its worker was lost before the stale-run beat job noticed: the
        screen says so in words (rather than a progress bar frozen at "Saving (96%)")."""
        run = self.latest_run
        if run is None or not run.is_active or self.active_run is not None:
            return None
        return run

    @property
    def reconciliation(self) -> str:
        # The data on screen is the last successful sync's, so that is the run whose checks count.
        run = self.last_succeeded_run
        if run is None or run.reconciled is None:
            return NOT_CHECKED
        return RECONCILED if run.reconciled else DIFFERENCES

    @property
    def reconciliation_label(self) -> str:
        return RECONCILIATION_STATES[self.reconciliation]


def _run_subquery(firm: Firm, *states: str, field: str = "pk") -> Subquery:
    """`field` of the organisation's (OuterRef "pk") latest run, of `states` when given."""
    runs = SyncRun.objects.for_firm(firm).filter(organisation=OuterRef("pk"))
    if states:
        runs = runs.filter(state__in=states)
    return Subquery(runs.order_by("-created_at", "-pk").values(field)[:1])


def organisation_sync_facts(*, firm: Firm) -> QuerySet[ClientOrganisation]:
    """The firm's current client organisations with what a list of them filters, orders and
    counts on, as SQL aliases (computed only where a query uses them), so a firm of 1,000
    clients is filtered, sorted and paged by the database rather than in Python:

    - `sync_xero_state`: a key of XERO_STATES (a tenant removed in Xero reads as revoked);
    - `sync_active_state`: the latest run's state while it counts as under way (queued or
      running, younger than STALE_RUN, and a running one's heartbeat not older than
      XERO_SYNC_STALE_SECONDS: past that its worker was lost), else "";
    - `sync_finished_state`, `sync_finished_at`: of the latest run that succeeded or failed;
    - `sync_reconciled`: the latest successful run's check (None while not checked).
    """
    now = timezone.now()
    fresh = now - STALE_RUN
    beating = now - dt.timedelta(seconds=settings.XERO_SYNC_STALE_SECONDS)
    finished = (SyncRun.State.SUCCEEDED, SyncRun.State.FAILED)
    running, queued = SyncRun.State.RUNNING, SyncRun.State.QUEUED
    # Judged inside one subquery on the latest run's own columns: one index probe an
    # organisation. Each case says when a run is under way, so a missing heartbeat (NULL)
    # cannot turn a comparison unknown and drop a run that is.
    under_way = Case(
        When(
            Q(heartbeat_at__isnull=True) | Q(heartbeat_at__gte=beating),
            state=running,
            created_at__gte=fresh,
            then=Value(running.value),
        ),
        When(state=queued, created_at__gte=fresh, then=Value(queued.value)),
        default=Value(""),
    )
    latest = SyncRun.objects.for_firm(firm).filter(organisation=OuterRef("pk"))
    latest = latest.order_by("-created_at", "-pk").annotate(under_way=under_way)
    return (
        ClientOrganisation.objects.for_firm(firm)
        .filter(archived_at__isnull=True)
        .alias(
            sync_xero_state=Case(
                When(xero_tenant__isnull=True, then=Value(NOT_CONNECTED)),
                When(
                    xero_tenant__status=XeroTenant.Status.REMOVED,
                    then=Value(XeroConnection.Status.REVOKED.value),
                ),
                default=F("xero_tenant__connection__status"),
            ),
            sync_active_state=Coalesce(Subquery(latest.values("under_way")[:1]), Value("")),
            sync_finished_state=_run_subquery(firm, *finished, field="state"),
            sync_finished_at=_run_subquery(firm, *finished, field="finished_at"),
            sync_reconciled=_run_subquery(firm, SyncRun.State.SUCCEEDED, field="reconciled"),
        )
    )


def organisation_sync_state_filter(state: str) -> Q:
    """The organisations of organisation_sync_facts in one of DASHBOARD_FILTERS' states."""
    if state in XERO_STATES:
        return Q(sync_xero_state=state)
    if state == SYNCING:
        return ~Q(sync_active_state="")
    if state == SYNC_FAILED:
        return Q(sync_finished_state=SyncRun.State.FAILED)
    if state == DIFFERENCES:
        return Q(sync_reconciled=False)
    return Q()


_SLUG, _PK = "firm-slug-placeholder", 987654321


@functools.cache
def _organisation_url_pattern(name: str) -> str:
    return reverse(name, args=[_SLUG, _PK])


def _organisation_url(name: str, slug: str, pk: int) -> str:
    return _organisation_url_pattern(name).replace(_SLUG, slug).replace(str(_PK), str(pk))


def organisation_sync_status_list(
    *, firm: Firm, organisation_ids: list[int]
) -> list[OrganisationSyncStatus]:
    """The sync state of these client organisations of the firm, by name, in two queries
    whatever their number (the firm dashboard adds each one's variance summary, and chooses
    the page's organisations on organisation_sync_facts: budgeting.dashboard)."""
    organisations = (
        organisation_sync_facts(firm=firm)
        .filter(pk__in=organisation_ids)
        .select_related("xero_tenant__connection", "xero_organisation")
        .defer(
            # Only the connection's status is shown: decrypting two tokens a row cost the
            # 1,000-client dashboard a good part of its time (bench/load.py).
            "xero_tenant__connection__access_token",
            "xero_tenant__connection__refresh_token",
        )
        .annotate(
            xero_state=F("sync_xero_state"),
            active_state=F("sync_active_state"),
            latest_run_id=_run_subquery(firm),
            last_finished_run_id=_run_subquery(firm, SyncRun.State.SUCCEEDED, SyncRun.State.FAILED),
            last_succeeded_run_id=_run_subquery(firm, SyncRun.State.SUCCEEDED),
        )
        .order_by("name", "pk")
    )
    organisations = list(organisations)
    run_ids = {
        run_id
        for o in organisations
        for run_id in (o.latest_run_id, o.last_finished_run_id, o.last_succeeded_run_id)
        if run_id
    }
    runs = SyncRun.objects.for_firm(firm).in_bulk(run_ids) if run_ids else {}
    return [
        OrganisationSyncStatus(
            organisation=o,
            xero_state=o.xero_state,
            profile=_profile(o),
            latest_run=runs.get(o.latest_run_id),
            last_finished_run=runs.get(o.last_finished_run_id),
            last_succeeded_run=runs.get(o.last_succeeded_run_id),
            firm_slug=firm.slug,
            active_state=o.active_state,
        )
        for o in organisations
    ]


def organisation_sync_status(
    *, firm: Firm, organisation: ClientOrganisation
) -> OrganisationSyncStatus:
    return organisation_sync_status_list(firm=firm, organisation_ids=[organisation.pk])[0]


def organisation_sync_blocker(*, status: OrganisationSyncStatus) -> str | None:
    """Why the organisation cannot sync now, saying what to do; None when it can."""
    name = status.organisation.name
    if status.xero_state == NOT_CONNECTED:
        return (
            f"{name} is not linked to a Xero organisation yet. Use Connect Xero on the "
            "dashboard, then link it to this client, and sync again."
        )
    if status.xero_state == XeroConnection.Status.NEEDS_REAUTH:
        return (
            f"The Xero connection of {name} needs re-authorisation: Xero stopped accepting its "
            "sign-in. Use Connect Xero on the dashboard and approve access again, then sync."
        )
    if status.xero_state == XeroConnection.Status.REVOKED:
        return (
            f"{name} is no longer connected to Xero (the access was revoked or the organisation "
            "was removed from the connection). Connect Xero again and link it to sync."
        )
    return None


def xero_connection_list(*, firm: Firm) -> QuerySet[XeroConnection]:
    return XeroConnection.objects.for_firm(firm).select_related("connected_by")


# --- Organisation page -------------------------------------------------------------------------


@dataclass
class GridRow:
    label: str
    amounts: list[Decimal | None]
    total: Decimal
    account: Account | None = None
    is_total: bool = False


@dataclass
class Grid:
    """Rows by months: what the budget and actuals tables, and their CSV exports, show."""

    months: list[dt.date]
    rows: list[GridRow] = field(default_factory=list)
    # The first month whose figures are still moving (the organisation's open month), if shown.
    partial_from: dt.date | None = None

    @property
    def columns(self) -> list[tuple[dt.date, bool]]:
        """(month, partial) for the table's header."""
        return [(m, self.partial_from is not None and m >= self.partial_from) for m in self.months]


def _account_order(account: Account) -> tuple:
    return (_CLASS_ORDER.get(account.account_class, 2), account.code, account.name)


def _grid(
    *, months: list[dt.date], amounts: dict[int, dict[dt.date, Decimal]], accounts: list[Account]
) -> Grid:
    grid = Grid(months=months)
    by_class: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal("0.00")] * len(months))
    for account in sorted(accounts, key=_account_order):
        values = amounts.get(account.pk, {})
        row = [values.get(month) for month in months]
        grid.rows.append(
            GridRow(
                label=str(account),
                account=account,
                amounts=row,
                total=sum((v for v in row if v is not None), Decimal("0.00")),
            )
        )
        totals = by_class[account.account_class or "OTHER"]
        for i, value in enumerate(row):
            if value is not None:
                totals[i] += value
    labels = {"REVENUE": "Total income", "EXPENSE": "Total expenses"}
    for account_class in sorted(by_class, key=lambda c: _CLASS_ORDER.get(c, 2)):
        values = by_class[account_class]
        grid.rows.append(
            GridRow(
                label=labels.get(account_class, f"Total {account_class.lower()}"),
                amounts=values,
                total=sum(values, Decimal("0.00")),
                is_total=True,
            )
        )
    return grid


def budget_list(*, firm: Firm, organisation: ClientOrganisation) -> list[Budget]:
    return list(
        Budget.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("tracking_option__category", "tracking_option_2__category")
        .order_by("type", "description", "pk")
    )


def budget_title(budget: Budget) -> str:
    """Xero names a tracking budget by its option(s); the overall budget by its description."""
    if budget.type == Budget.Type.TRACKING and budget.tracking_option_id:
        options = [o for o in (budget.tracking_option, budget.tracking_option_2) if o]
        return " / ".join(f"{o.category.name}: {o.name}" for o in options)
    return budget.description or budget.get_type_display()


def budget_grid(*, firm: Firm, budget: Budget) -> Grid:
    lines = list(BudgetLine.objects.for_firm(firm).filter(budget=budget).select_related("account"))
    amounts: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    line_accounts = {line.pk: line.account for line in lines}
    periods = set()
    for line_id, period, amount in (
        BudgetBalance.objects.for_firm(firm)
        .filter(budget_line__budget=budget)
        .values_list("budget_line_id", "period", "amount")
    ):
        amounts[line_accounts[line_id].pk][period] = amount
        periods.add(period)
    months = months_between(min(periods), max(periods)) if periods else []
    return _grid(months=months, amounts=amounts, accounts=list(line_accounts.values()))


def tracking_option_list(*, firm: Firm, organisation: ClientOrganisation) -> list[TrackingOption]:
    return list(
        TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("category")
        .order_by("category__name", "name")
    )


def profile_month_window(profile: XeroOrganisation | None) -> MonthWindow:
    """The months of a synced organisation (its time zone and lock date; None before the first
    sync), the one definition every grid, chart, CSV and API response ends its window with."""
    return month_window(
        zone_name=profile.timezone if profile else None,
        period_lock_date=profile.period_lock_date if profile else None,
    )


def organisation_month_window(*, firm: Firm, organisation: ClientOrganisation) -> MonthWindow:
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    return profile_month_window(profile)


def actuals_grid(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    months: int = 12,
    tracking_option: TrackingOption | None = None,
) -> Grid:
    """Accounts by month for the organisation's last `months` months, the open month (partial)
    included, overall or for one tracking option. Accounts with no actual in the window are
    left out."""
    window = organisation_month_window(firm=firm, organisation=organisation)
    actuals = ActualBalance.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option=tracking_option
    )
    periods = window.months(months)
    amounts: dict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for account_id, period, amount in actuals.filter(
        period__gte=periods[0], period__lte=periods[-1]
    ).values_list("account_id", "period", "amount"):
        amounts[account_id][period] = amount
    accounts = list(Account.objects.for_firm(firm).filter(pk__in=amounts.keys()))
    grid = _grid(months=periods, amounts=amounts, accounts=accounts)
    grid.partial_from = window.open_month
    return grid


@dataclass
class SyncHistoryEntry:
    run: SyncRun
    # Checks that failed: the months and lines where our sums differ from Xero's own totals.
    differences: list[Reconciliation]
    # Tracking budgets against the overall budget (information: firms often budget only some
    # options), for the most recent successful run.
    tracking_budget_gaps: list[Reconciliation]


def sync_history(
    *, firm: Firm, organisation: ClientOrganisation, limit: int = 50
) -> list[SyncHistoryEntry]:
    runs = list(
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation)
        .order_by("-created_at", "-pk")[:limit]
    )
    latest_success = next((r for r in runs if r.state == SyncRun.State.SUCCEEDED), None)
    checks = (
        Reconciliation.objects.for_firm(firm)
        .filter(sync_run__in=runs)
        .filter(
            Q(
                kind__in=(Reconciliation.Kind.ACTUALS, Reconciliation.Kind.BALANCE_SHEET),
                sync_run__reconciled=False,
            )
            & ~Q(difference=0)
            | Q(kind=Reconciliation.Kind.TRACKING_BUDGETS, sync_run=latest_success)
            & ~Q(difference=0)
        )
        .select_related("tracking_option__category", "tracking_category")
        .order_by("period", "line", "pk")
    )
    differences, gaps = defaultdict(list), defaultdict(list)
    for check in checks:
        target = gaps if check.kind == Reconciliation.Kind.TRACKING_BUDGETS else differences
        target[check.sync_run_id].append(check)
    return [
        SyncHistoryEntry(
            run=run, differences=differences[run.pk], tracking_budget_gaps=gaps[run.pk]
        )
        for run in runs
    ]
