import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from budgeting.ledger import selectors
from budgeting.ledger.models import SyncRun
from budgeting.ledger.sync import organisation_sync_start
from core.csv import csv_response
from tenants.models import ClientOrganisation
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
)

ORGANISATION_TABS = {"budgets": "Budgets", "actuals": "Actuals by month", "history": "Sync history"}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


# --- Firm dashboard ----------------------------------------------------------------------------


def _dashboard_filters(request: FirmRequest) -> dict[str, str]:
    state = request.GET.get("state", "")
    return {
        "name": request.GET.get("q", "")[:200],
        "state": state if state in selectors.DASHBOARD_FILTERS else "",
    }


@firm_view(Action.VIEW)
@require_GET
def firm_dashboard(request: FirmRequest) -> HttpResponse:
    filters = _dashboard_filters(request)
    context = {
        "rows": selectors.client_organisation_dashboard_list(firm=request.firm, **filters),
        "connections": selectors.xero_connection_list(firm=request.firm),
        "filters": filters,
        "state_choices": selectors.DASHBOARD_FILTERS,
        "query": request.GET.urlencode(),
    }
    if request.htmx and request.htmx.target == "organisation-table":
        return render(request, "budgeting/ledger/dashboard.html#organisation_table", context)
    return render(request, "budgeting/ledger/dashboard.html", context)


@firm_view(Action.VIEW)
@require_GET
def firm_dashboard_csv(request: FirmRequest) -> HttpResponse:
    rows = selectors.client_organisation_dashboard_list(
        firm=request.firm, **_dashboard_filters(request)
    )
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

    def line(row: selectors.OrganisationSyncStatus) -> list:
        run, active = row.last_finished_run, row.active_run
        closed = row.last_closed_month
        return [
            row.organisation.name,
            row.xero_state_label,
            row.currency,
            _local(run.finished_at) if run else "",
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
    request: FirmRequest, status, fragment: str, notice: str = "", level: str = "", polled=False
) -> HttpResponse:
    template = "budgeting/ledger/organisation.html#sync_panel"
    if fragment == "row":
        template = "budgeting/ledger/dashboard.html#row"
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
    status = selectors.organisation_sync_status(firm=request.firm, organisation=organisation)
    blocker = selectors.organisation_sync_blocker(status=status)
    if blocker:
        notice, level = blocker, messages.ERROR
    elif status.active_run is not None:
        notice, level = f"A sync of {organisation.name} is already under way.", messages.INFO
    else:
        organisation_sync_start(
            firm=request.firm, organisation=organisation, trigger=SyncRun.Trigger.MANUAL
        )
        status = selectors.organisation_sync_status(firm=request.firm, organisation=organisation)
        notice, level = f"Sync of {organisation.name} queued.", messages.SUCCESS
    if request.htmx:
        tag = messages.DEFAULT_TAGS[level]
        return _sync_fragment(request, status, fragment, notice, tag)
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
    status = selectors.organisation_sync_status(firm=request.firm, organisation=organisation)
    fragment = "panel" if request.GET.get("fragment") == "panel" else "row"
    return _sync_fragment(request, status, fragment, polled=True)


# --- Organisation page -------------------------------------------------------------------------


def _budgets_context(request: FirmRequest, organisation: ClientOrganisation) -> dict:
    budgets = selectors.budget_list(firm=request.firm, organisation=organisation)
    wanted = _int(request.GET.get("budget"))
    budget = next((b for b in budgets if b.pk == wanted), budgets[0] if budgets else None)
    if wanted is not None and (budget is None or budget.pk != wanted):
        raise Http404("No such budget.")
    return {
        "budgets": [(b, selectors.budget_title(b)) for b in budgets],
        "budget": budget,
        "budget_title": selectors.budget_title(budget) if budget else "",
        "grid": selectors.budget_grid(firm=request.firm, budget=budget) if budget else None,
    }


def _actuals_filters(request: FirmRequest, organisation: ClientOrganisation) -> dict:
    options = selectors.tracking_option_list(firm=request.firm, organisation=organisation)
    wanted = _int(request.GET.get("option"))
    option = next((o for o in options if o.pk == wanted), None)
    if wanted is not None and option is None:
        raise Http404("No such tracking option.")
    months = _int(request.GET.get("months"))
    return {
        "options": options,
        "option": option,
        "months": months if months in selectors.ACTUAL_WINDOWS else selectors.ACTUAL_WINDOWS[0],
    }


def _actuals_context(request: FirmRequest, organisation: ClientOrganisation) -> dict:
    filters = _actuals_filters(request, organisation)
    grid = selectors.actuals_grid(
        firm=request.firm,
        organisation=organisation,
        months=filters["months"],
        tracking_option=filters["option"],
    )
    return {**filters, "grid": grid, "month_windows": selectors.ACTUAL_WINDOWS}


@firm_view(Action.VIEW)
@require_GET
def organisation_detail(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    tab = request.GET.get("tab", "budgets")
    if tab not in ORGANISATION_TABS:
        tab = "budgets"
    context = {
        "organisation": organisation,
        "status": selectors.organisation_sync_status(firm=request.firm, organisation=organisation),
        "tab": tab,
        "tab_label": ORGANISATION_TABS[tab],
        "tabs": ORGANISATION_TABS,
        "page_url": request.path,
    }
    if tab == "budgets":
        context.update(_budgets_context(request, organisation))
    elif tab == "actuals":
        context.update(_actuals_context(request, organisation))
    else:
        context["history"] = selectors.sync_history(firm=request.firm, organisation=organisation)
    context["currency"] = context["status"].currency
    profile = context["status"].profile
    if profile is not None:
        month = dt.date(2001, profile.financial_year_end_month, 1)
        context["fy_end"] = f"{profile.financial_year_end_day} {month:%B}"
    if request.htmx and request.htmx.target == "organisation-tabs":
        return render(request, "budgeting/ledger/organisation.html#tabs", context)
    return render(request, "budgeting/ledger/organisation.html", context)


def _grid_csv(filename: str, first_column: str, grid: selectors.Grid) -> HttpResponse:
    header = [first_column, *(f"{m:%Y-%m}" for m in grid.months), "Total"]
    rows = ([row.label, *row.amounts, row.total] for row in grid.rows)
    return csv_response(filename=filename, rows=[header, *rows])


@firm_view(Action.VIEW)
@require_GET
def organisation_actuals_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    context = _actuals_context(request, organisation)
    option = context["option"]
    scope = slugify(option.name) if option else "overall"
    filename = f"{slugify(organisation.name)}-actuals-{scope}-{context['months']}m.csv"
    return _grid_csv(filename, "Account", context["grid"])


@firm_view(Action.VIEW)
@require_GET
def organisation_budget_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    context = _budgets_context(request, organisation)
    if context["budget"] is None:
        raise Http404("No budgets synced yet.")
    filename = f"{slugify(organisation.name)}-budget-{slugify(context['budget_title'])}.csv"
    return _grid_csv(filename, "Account", context["grid"])


@firm_view(Action.VIEW)
@require_GET
def organisation_sync_history_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    history = selectors.sync_history(firm=request.firm, organisation=organisation, limit=1000)
    header = [
        "Created",
        "Kind",
        "Trigger",
        "State",
        "Started",
        "Finished",
        "Duration (s)",
        "Calls used",
        "Calls planned",
        "Reconciliation",
        "Differences",
        "Error",
    ]

    def line(entry: selectors.SyncHistoryEntry) -> list:
        run = entry.run
        reconciled = {True: "Reconciled", False: "Differences", None: "Not checked"}
        return [
            _local(run.created_at),
            run.get_kind_display(),
            run.get_trigger_display(),
            run.get_state_display(),
            _local(run.started_at),
            _local(run.finished_at),
            round(run.duration.total_seconds()) if run.duration else "",
            run.calls_used,
            run.calls_planned,
            reconciled[run.reconciled],
            "; ".join(
                f"{d.period:%Y-%m} {d.line}"
                + (f" ({d.tracking_option.name})" if d.tracking_option else "")
                + f": {d.difference}"
                for d in entry.differences
            ),
            run.error,
        ]

    filename = f"{slugify(organisation.name)}-sync-history.csv"
    return csv_response(filename=filename, rows=[header, *(line(e) for e in history)])
