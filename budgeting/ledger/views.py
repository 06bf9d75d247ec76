import datetime as dt

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from budgeting.ledger import selectors
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
    asked = (request.GET.get("months") or "").strip()
    months = _int(asked)
    windows = selectors.ACTUAL_WINDOWS
    return {
        "options": options,
        "option": option,
        "months": months if months in windows else windows[0],
        # Refused rather than replaced by another window: said on the Months field.
        "months_error": (
            f"“{asked[:20]}” is not one of the windows: choose "
            f"{', '.join(map(str, windows[:-1]))} or {windows[-1]} months."
            if asked and months not in windows
            else ""
        ),
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
        if context["months_error"]:
            context["grid"] = None
    else:
        context["history"] = selectors.sync_history(firm=request.firm, organisation=organisation)
    context["currency"] = context["status"].currency
    profile = context["status"].profile
    if profile is not None:
        month = dt.date(2001, profile.financial_year_end_month, 1)
        context["fy_end"] = f"{profile.financial_year_end_day} {month:%B}"
    status = 400 if context.get("months_error") else 200
    if request.htmx and request.htmx.target == "organisation-tabs":
        return render(request, "budgeting/ledger/organisation.html#tabs", context, status=status)
    return render(request, "budgeting/ledger/organisation.html", context, status=status)


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
    if context["months_error"]:
        return render(request, "400.html", {"reason": context["months_error"]}, status=400)
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
            run.created_at,
            run.get_kind_display(),
            run.get_trigger_display(),
            run.get_state_display(),
            run.started_at,
            run.finished_at,
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
