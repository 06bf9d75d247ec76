"""The firm dashboard's rows: the ledger's sync state of each organisation plus its variance."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.db.models import Case, Count, F, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce, Lower

from budgeting.ledger.models import SyncRun
from budgeting.ledger.selectors import (
    NOT_CONNECTED,
    OrganisationSyncStatus,
    organisation_sync_facts,
    organisation_sync_state_filter,
    organisation_sync_status_list,
)
from budgeting.variance.models import VarianceSummary
from budgeting.variance.selectors import (
    variance_summaries_latest,
    variance_summary_latest_field,
)
from integrations.models import XeroConnection
from tenants.models import ClientOrganisation, Firm


@dataclass
class DashboardRow(OrganisationSyncStatus):
    """One client organisation's row on the firm dashboard."""

    # The latest month the variance refresh summarised (net profit, material count).
    variance: VarianceSummary | None = None


def dashboard_row_list(*, firm: Firm, organisation_ids: list[int]) -> list[DashboardRow]:
    """These organisations' rows, by name, in three queries whatever their number."""
    statuses = organisation_sync_status_list(firm=firm, organisation_ids=organisation_ids)
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


def _dashboard_organisations(*, firm: Firm, name: str, state: str) -> QuerySet:
    """The matching organisations with what the order reads, as SQL (nothing loaded yet)."""
    organisations = organisation_sync_facts(firm=firm).alias(
        variance_material=variance_summary_latest_field(firm=firm, field="material_count"),
        variance_net_profit=variance_summary_latest_field(firm=firm, field="net_profit_variance"),
        variance_favourable=variance_summary_latest_field(firm=firm, field="net_profit_favourable"),
    )
    if name.strip():
        organisations = organisations.filter(name__icontains=name.strip())
    if state:
        organisations = organisations.filter(organisation_sync_state_filter(state))
    return organisations


# How urgently a client needs someone, most urgent lowest: Xero access lost (nothing syncs
# until a person acts), a failed sync, figures that do not reconcile, material variances, net
# profit under budget; then the rest, those not linked to Xero before those that are.
_ATTENTION = Case(
    When(
        sync_xero_state__in=(XeroConnection.Status.NEEDS_REAUTH, XeroConnection.Status.REVOKED),
        then=Value(0),
    ),
    When(sync_finished_state=SyncRun.State.FAILED, then=Value(1)),
    When(sync_reconciled=False, then=Value(2)),
    When(variance_material__gt=0, then=Value(3)),
    When(variance_favourable=False, then=Value(4)),
    When(sync_xero_state=NOT_CONNECTED, then=Value(5)),
    default=Value(6),
)


def _ordering(sort: str) -> list[OrderBy]:
    # Names compare case-insensitively; the id settles equal names, so pages never overlap.
    by_name = [Lower("name").asc(), F("pk").asc()]
    if sort == "name":
        return by_name
    if sort == "material":
        # A client with no variance summary yet comes after those with none material.
        return [Coalesce("variance_material", Value(-1)).desc(), *by_name]
    if sort == "net_profit":
        # Furthest under budget first: the most negative variance of net profit; none last.
        return [F("variance_net_profit").asc(nulls_last=True), *by_name]
    if sort == "last_sync":
        # Never finished a sync first, then the oldest finish.
        return [F("sync_finished_at").asc(nulls_first=True), *by_name]
    return [_ATTENTION.asc(), Coalesce("variance_material", Value(0)).desc(), *by_name]


def _dashboard_ids(
    organisations: QuerySet, *, sort: str, start: int = 0, stop: int | None = None
) -> list[int]:
    ordered = organisations.order_by(*_ordering(sort if sort in SORTS else "attention"))
    return list(ordered.values_list("pk", flat=True)[start:stop])


def dashboard_rows_sorted(
    *, firm: Firm, name: str = "", state: str = "", sort: str = "attention"
) -> list[DashboardRow]:
    """Every matching row, in the order asked (the CSV exports them all)."""
    ids = _dashboard_ids(_dashboard_organisations(firm=firm, name=name, state=state), sort=sort)
    rows = {row.organisation.pk: row for row in dashboard_row_list(firm=firm, organisation_ids=ids)}
    return [rows[pk] for pk in ids if pk in rows]


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


def _dashboard_counts(organisations: QuerySet) -> dict[str, int]:
    """How many organisations match, and of them how many sync: one pass, grouped by whether
    and how each one's latest run is under way."""
    grouped = (
        organisations.annotate(active=F("sync_active_state"))
        .order_by()
        .values("active")
        .annotate(n=Count("pk"))
    )
    by_state = {row["active"]: row["n"] for row in grouped}
    return {
        "total": sum(by_state.values()),
        "running": by_state.get(SyncRun.State.RUNNING, 0),
        "queued": by_state.get(SyncRun.State.QUEUED, 0),
    }


def dashboard_syncing(*, firm: Firm, name: str = "", state: str = "") -> DashboardSyncing:
    """The banner's counts alone, polled every few seconds while syncs run: one count in SQL
    (no row loaded, no page rendered), filtered as the page is."""
    counts = _dashboard_counts(_dashboard_organisations(firm=firm, name=name, state=state))
    return DashboardSyncing(**counts)


def dashboard_page(
    *,
    firm: Firm,
    name: str = "",
    state: str = "",
    sort: str = "attention",
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> DashboardPage:
    """One page of the dashboard: counted, filtered, sorted and paged by the database over
    every client, then only the page's rows loaded whole, so its cost does not grow with the
    number of clients' rows built (bench/load.py)."""
    organisations = _dashboard_organisations(firm=firm, name=name, state=state)
    counts = _dashboard_counts(organisations)
    pages = max(1, -(-counts["total"] // per_page))
    number = min(max(page, 1), pages)
    start = (number - 1) * per_page
    ids = _dashboard_ids(organisations, sort=sort, start=start, stop=start + per_page)
    whole = {
        row.organisation.pk: row for row in dashboard_row_list(firm=firm, organisation_ids=ids)
    }
    return DashboardPage(
        # A client archived between the two reads is left out, not an error.
        rows=[whole[pk] for pk in ids if pk in whole],
        number=number,
        pages=pages,
        per_page=per_page,
        **counts,
    )
