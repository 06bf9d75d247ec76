"""The firm dashboard's screens: the client list with its filters and CSV, and Sync now with the
live row (or the organisation page's sync panel) polled while a sync runs."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from budgeting.dashboard.selectors import (
    SORTS,
    DashboardRow,
    dashboard_page,
    dashboard_row_get,
    dashboard_rows_sorted,
    dashboard_syncing,
)
from budgeting.dashboard.waiting import waiting_changes_comments, waiting_for_member
from budgeting.ledger import selectors
from budgeting.ledger.models import SyncRun
from budgeting.ledger.sync import organisation_sync_start
from core.csv import csv_response
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view

# --- Firm dashboard ----------------------------------------------------------------------------


def _dashboard_filters(request: FirmRequest) -> dict[str, str]:
    state = request.GET.get("state", "")
    sort = request.GET.get("sort", "")
    return {
        "name": request.GET.get("q", "")[:200],
        "state": state if state in selectors.DASHBOARD_FILTERS else "",
        "sort": sort if sort in SORTS else "attention",
    }


def _page_number(request: FirmRequest) -> int:
    # A page past the end shows the last one; anything that is not a page number, the first.
    raw = request.GET.get("page", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


@firm_view(Action.VIEW)
@require_GET
def firm_dashboard(request: FirmRequest) -> HttpResponse:
    filters = _dashboard_filters(request)
    without_page = request.GET.copy()
    without_page.pop("page", None)
    without_page.pop("fragment", None)
    if request.GET.get("fragment") == "banner":
        # The sync banner polls only its own counts; each row in flight polls itself.
        syncing = dashboard_syncing(firm=request.firm, name=filters["name"], state=filters["state"])
        context = {"page": syncing, "query": without_page.urlencode()}
        return render(request, "budgeting/dashboard/dashboard.html#sync_banner", context)
    page = dashboard_page(firm=request.firm, page=_page_number(request), **filters)
    context = {
        "page": page,
        "rows": page.rows,
        "connections": selectors.xero_connection_list(firm=request.firm),
        "filters": filters,
        "state_choices": selectors.DASHBOARD_FILTERS,
        "sort_choices": SORTS,
        "query": without_page.urlencode(),
    }
    if request.htmx and request.htmx.target == "organisation-table":
        return render(request, "budgeting/dashboard/dashboard.html#organisation_table", context)
    return render(request, "budgeting/dashboard/dashboard.html", context)


@firm_view(Action.VIEW)
@require_GET
def firm_dashboard_csv(request: FirmRequest) -> HttpResponse:
    rows = dashboard_rows_sorted(firm=request.firm, **_dashboard_filters(request))
    header = [
        "Client",
        "Xero",
        "Currency",
        "Last sync finished",
        "Last sync state",
        "Last sync calls",
        "Syncing now (%)",
        "Last closed month",
        "Reconciliation",
    ]

    def line(row: DashboardRow) -> list:
        run, active = row.last_finished_run, row.active_run
        closed = row.last_closed_month
        return [
            row.organisation.name,
            row.xero_state_label,
            row.currency,
            run.finished_at if run else None,
            run.get_state_display() if run else "",
            run.calls_used if run else "",
            active.progress if active else "",
            f"{closed:%Y-%m}" if closed else "",
            row.reconciliation_label,
        ]

    filename = f"{request.firm.slug}-clients-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename=filename, rows=[header, *(line(row) for row in rows)])


# --- Sync now and its progress -----------------------------------------------------------------


def _sync_fragment(
    request: FirmRequest,
    *,
    status: DashboardRow,
    fragment: str,
    notice: str = "",
    level: str = "",
    polled: bool = False,
) -> HttpResponse:
    template = "budgeting/ledger/organisation.html#sync_panel"
    if fragment == "row":
        template = "budgeting/dashboard/dashboard.html#row"
    return render(
        request,
        template,
        {
            "status": status,
            "row": status,
            "notice": notice,
            "notice_level": level,
            "polled": polled,
        },
    )


@firm_view(Action.SYNC)
@require_POST
def organisation_sync_now(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    fragment = "panel" if request.POST.get("fragment") == "panel" else "row"
    status = dashboard_row_get(firm=request.firm, organisation=organisation)
    blocker = selectors.organisation_sync_blocker(status=status)
    if blocker:
        notice, level = blocker, messages.ERROR
    elif status.active_run is not None:
        notice, level = f"A sync of {organisation.name} is already under way.", messages.INFO
    else:
        organisation_sync_start(
            firm=request.firm, organisation=organisation, trigger=SyncRun.Trigger.MANUAL
        )
        status = dashboard_row_get(firm=request.firm, organisation=organisation)
        notice, level = f"Sync of {organisation.name} queued.", messages.SUCCESS
    if request.htmx:
        tag = messages.DEFAULT_TAGS[level]
        return _sync_fragment(request, status=status, fragment=fragment, notice=notice, level=tag)
    messages.add_message(request, level, notice)
    if fragment == "panel":
        return redirect("organisation_detail", request.firm.slug, organisation.pk)
    return redirect("firm_dashboard", request.firm.slug)


@firm_view(Action.VIEW)
@require_GET
def organisation_sync_status(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """The live row (or the organisation page's sync panel), polled while a sync runs; its
    polling trigger goes away once the run has finished, which stops htmx polling."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    status = dashboard_row_get(firm=request.firm, organisation=organisation)
    fragment = "panel" if request.GET.get("fragment") == "panel" else "row"
    return _sync_fragment(request, status=status, fragment=fragment, polled=True)


# --- Waiting for you -----------------------------------------------------------------------------


@firm_view(Action.VIEW)
@require_GET
def waiting_queue(request: FirmRequest) -> HttpResponse:
    """Everything waiting for the signed-in member, across every client organisation."""
    waiting = waiting_for_member(firm=request.firm, user=request.user, role=request.membership.role)
    comments = waiting_changes_comments(firm=request.firm, drafts=waiting.changes_requested)
    for draft in waiting.changes_requested:
        draft.changes_comment = comments.get(draft.pk)
    return render(
        request,
        "budgeting/dashboard/waiting.html",
        {"waiting": waiting, "role": request.membership.get_role_display()},
    )


@firm_view(Action.VIEW)
@require_GET
def waiting_count(request: FirmRequest) -> HttpResponse:
    """The navigation's badge, loaded by htmx after the page so no page pays for it."""
    waiting = waiting_for_member(firm=request.firm, user=request.user, role=request.membership.role)
    return render(request, "budgeting/dashboard/waiting.html#count", {"waiting": waiting})
