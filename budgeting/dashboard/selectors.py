"""The firm dashboard's rows: the ledger's sync state of each organisation plus its variance."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from budgeting.ledger.models import SyncRun
from budgeting.ledger.selectors import (
    DIFFERENCES,
    NOT_CONNECTED,
    OrganisationSyncStatus,
    organisation_sync_status_list,
)
from budgeting.variance.models import VarianceSummary
from budgeting.variance.selectors import variance_summaries_latest
from integrations.models import XeroConnection
from tenants.models import ClientOrganisation, Firm


@dataclass
class DashboardRow(OrganisationSyncStatus):
    """One client organisation's row on the firm dashboard."""

    # The latest month the variance refresh summarised (net profit, material count).
    variance: VarianceSummary | None = None


def dashboard_row_list(
    *,
    firm: Firm,
    name: str = "",
    state: str = "",
    organisation_ids: list[int] | None = None,
    for_sorting: bool = False,
) -> list[DashboardRow]:
    """The dashboard's rows in three queries whatever the number of organisations; with
    `for_sorting`, only what filtering and ordering read (organisation_sync_status_list)."""
    statuses = organisation_sync_status_list(
        firm=firm,
        name=name,
        state=state,
        organisation_ids=organisation_ids,
        for_sorting=for_sorting,
    )
    summaries = variance_summaries_latest(
        firm=firm, organisation_ids=[s.organisation.pk for s in statuses]
    )
    return [
        DashboardRow(
            **{f.name: getattr(status, f.name) for f in dataclasses.fields(status)},
            variance=summaries.get(status.organisation.pk),
        )
        for status in statuses
    ]


def dashboard_row_get(*, firm: Firm, organisation: ClientOrganisation) -> DashboardRow:
    return dashboard_row_list(firm=firm, organisation_ids=[organisation.pk])[0]


# How a firm looks for the clients that need it: the first is the default.
SORTS = {
    "attention": "Needs attention first",
    "name": "Name",
    "material": "Most material variances",
    "net_profit": "Net profit furthest under budget",
    "last_sync": "Longest since a sync",
}
PAGE_SIZE = 50


def dashboard_attention(row: DashboardRow) -> tuple[int, str]:
    """How urgently a client needs someone, most urgent lowest, with the reason in words: Xero
    access lost (nothing syncs until a person acts), a failed sync, figures that do not
    reconcile, material variances, net profit under budget; then the rest."""
    last = row.last_finished_run
    variance = row.variance
    if row.xero_state in (XeroConnection.Status.NEEDS_REAUTH, XeroConnection.Status.REVOKED):
        return 0, row.xero_state_label
    if last is not None and last.state == SyncRun.State.FAILED:
        return 1, "Last sync failed"
    if row.reconciliation == DIFFERENCES:
        return 2, "Reconciliation differences"
    if variance is not None and variance.material_count:
        return 3, "Material variances"
    if variance is not None and variance.net_profit_favourable is False:
        return 4, "Net profit under budget"
    if row.xero_state == NOT_CONNECTED:
        return 5, ""
    return 6, ""


def _sort_key(sort: str):
    def name(row: DashboardRow) -> tuple:
        return (row.organisation.name.casefold(), row.organisation.pk)

    if sort == "name":
        return name
    if sort == "material":
        return lambda row: (-(row.variance.material_count if row.variance else -1), *name(row))
    if sort == "net_profit":
        # Furthest under budget first: the most negative variance of net profit; none last.
        return lambda row: (
            row.variance is None,
            row.variance.net_profit_variance if row.variance else 0,
            *name(row),
        )
    if sort == "last_sync":
        return lambda row: (
            row.last_finished_run is not None,
            row.last_finished_run.finished_at if row.last_finished_run else None,
            *name(row),
        )

    def attention(row: DashboardRow) -> tuple:
        rank, _reason = dashboard_attention(row)
        material = row.variance.material_count if row.variance else 0
        return (rank, -material, *name(row))

    return attention


def dashboard_rows_sorted(
    *, firm: Firm, name: str = "", state: str = "", sort: str = "attention"
) -> list[DashboardRow]:
    """Every matching row, in the order asked (the CSV exports them all)."""
    rows = dashboard_row_list(firm=firm, name=name, state=state)
    rows.sort(key=_sort_key(sort if sort in SORTS else "attention"))
    return rows


@dataclass
class DashboardPage:
    rows: list[DashboardRow]
    total: int
    number: int
    pages: int
    per_page: int
    # Of the matching organisations, those with a sync running or waiting for a worker.
    running: int = 0
    queued: int = 0

    @property
    def syncing(self) -> int:
        return self.running + self.queued

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)

    @property
    def previous_number(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


@dataclass(frozen=True)
class DashboardSyncing:
    """What the dashboard's sync banner says: of the matching organisations, how many sync."""

    total: int
    running: int
    queued: int

    @property
    def syncing(self) -> int:
        return self.running + self.queued


def dashboard_syncing(*, firm: Firm, name: str = "", state: str = "") -> DashboardSyncing:
    """The banner's counts alone, polled every few seconds while syncs run: the sorting read
    of the statuses (no variance, no page of rows rendered), filtered as the page is."""
    statuses = organisation_sync_status_list(firm=firm, name=name, state=state, for_sorting=True)
    active = [s.active_run.state for s in statuses if s.active_run is not None]
    return DashboardSyncing(
        total=len(statuses),
        running=active.count(SyncRun.State.RUNNING),
        queued=active.count(SyncRun.State.QUEUED),
    )


def dashboard_page(
    *,
    firm: Firm,
    name: str = "",
    state: str = "",
    sort: str = "attention",
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> DashboardPage:
    """One page of the dashboard: sorted and filtered over every client in the same few
    queries, then only the page's rows rendered (the rows, not the queries, cost time)."""
    rows = dashboard_row_list(firm=firm, name=name, state=state, for_sorting=True)
    rows.sort(key=_sort_key(sort if sort in SORTS else "attention"))
    pages = max(1, -(-len(rows) // per_page))
    number = min(max(page, 1), pages)
    start = (number - 1) * per_page
    ids = [row.organisation.pk for row in rows[start : start + per_page]]
    whole = {
        row.organisation.pk: row for row in dashboard_row_list(firm=firm, organisation_ids=ids)
    }
    active = [row.active_run.state for row in rows if row.active_run is not None]
    return DashboardPage(
        # A client archived between the two reads is left out, not an error.
        rows=[whole[pk] for pk in ids if pk in whole],
        total=len(rows),
        number=number,
        pages=pages,
        per_page=per_page,
        running=active.count(SyncRun.State.RUNNING),
        queued=active.count(SyncRun.State.QUEUED),
    )
