"""Publishing to Xero: make an approved draft's Budget Manager import files and download one;
pick the forecast budget from the synced budgets; turn "replace the original" on or off.
Thin: the work is in budgeting.publishing.services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from budgeting.drafts.selectors import draft_get_or_404
from budgeting.ledger.models import Budget
from budgeting.publishing.import_file import whole_units
from budgeting.publishing.models import BudgetPublication, ForecastBudget
from budgeting.publishing.selectors import budget_publication_rollback_choices
from budgeting.publishing.services import (
    PublicationError,
    budget_publication_figures_before,
    budget_publication_rollback,
    draft_publish,
    forecast_budget_choose,
    publishing_setting_update,
)
from core import clock
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)


@firm_view(Action.VIEW)
def budget_publication_download(
    request: FirmRequest, organisation_id: int, publication_id: int
) -> HttpResponse:
    publication = get_firm_object_or_404(
        BudgetPublication, firm=request.firm, pk=publication_id, organisation_id=organisation_id
    )
    response = HttpResponse(publication.file_content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{publication.file_name}"'
    return response


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_publish_view(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    try:
        made = draft_publish(firm=request.firm, draft=draft, user=request.user)
        waiting = [p for p in made if p.status == BudgetPublication.Status.WAITING_FOR_BUDGET]
        text = f"{len(made)} import file{'s' if len(made) != 1 else ''} made and emailed to you. "
        if waiting:
            names = ", ".join(f"“{p.budget_name}”" for p in waiting)
            text += (
                f"First add the forecast budget {names} in Xero's Budget Manager (the steps are "
                "below); the next sync finds it. Then import each file into it."
            )
        else:
            text += "Import each in Xero's Budget Manager; the next sync checks them."
        messages.success(request, text)
    except PublicationError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def forecast_budget_choose_view(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    forecast_id, budget_id = request.POST.get("forecast", ""), request.POST.get("budget", "")
    if not (forecast_id.isdigit() and budget_id.isdigit()):
        # Bad input, not a missing object (and never a ValueError from the lookup).
        return HttpResponseBadRequest(
            "forecast, budget: choose the forecast budget from the list.", content_type="text/plain"
        )
    forecast = get_firm_object_or_404(
        ForecastBudget, firm=request.firm, pk=int(forecast_id), organisation=organisation
    )
    budget = get_firm_object_or_404(
        Budget, firm=request.firm, pk=int(budget_id), organisation=organisation
    )
    try:
        forecast_budget_choose(
            firm=request.firm, forecast=forecast, budget=budget, user=request.user
        )
        messages.success(
            request, f"“{budget}” is the forecast budget beside {forecast.original_name}."
        )
    except PublicationError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


@firm_view(Action.MANAGE_POLICIES)
@require_POST
# Turning on overwriting a client's original budget asks for the password again unless it was
# entered in the last few minutes (allauth replays the POST); turning it off, the safe way, does not.
@reauthentication_required(enabled=lambda request: request.POST.get("replace_original") == "on")
def replace_original_view(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    replace = request.POST.get("replace_original") == "on"
    try:
        publishing_setting_update(
            firm=request.firm,
            organisation=organisation,
            replace_original=replace,
            reason=request.POST.get("reason", ""),
            user=request.user,
        )
        messages.success(
            request,
            "Approved forecasts of this organisation now replace the original budget."
            if replace
            else "Approved forecasts go into the forecast budget; the original is kept.",
        )
    except PublicationError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


@firm_view(Action.PREPARE_DRAFTS)
def budget_publication_rollback_view(
    request: FirmRequest, organisation_id: int, publication_id: int
):
    """GET: the confirmation (the earlier revisions to choose from, the figures that go back,
    what happens in Xero). POST: make the rollback draft, then open it to submit."""
    publication = get_firm_object_or_404(
        BudgetPublication,
        firm=request.firm,
        pk=publication_id,
        organisation_id=organisation_id,
    )
    choices = budget_publication_rollback_choices(firm=request.firm, publication=publication)
    raw = (request.POST if request.method == "POST" else request.GET).get("to", "")
    if raw and not raw.isdigit():
        return HttpResponseBadRequest(
            "to: choose an earlier file from the list, or leave it empty for the figures before "
            "the first.",
            content_type="text/plain",
        )
    to = None
    if raw:
        # Only the listed revisions; anything else (another budget's, another firm's) is a 404.
        to = next((p for p in choices if p.pk == int(raw)), None)
        if to is None:
            raise Http404("No such earlier revision of this budget.")
    if request.method == "POST":
        try:
            rollback = budget_publication_rollback(
                firm=request.firm,
                publication=publication,
                to=to,
                user=request.user,
                reason=request.POST.get("reason", ""),
            )
        except PublicationError as exc:
            messages.error(request, str(exc))
            return redirect(request.path + (f"?to={to.pk}" if to else ""))
        messages.success(
            request,
            f"Rollback draft made with the earlier figures. Submit it for approval; once "
            f"approved, make its import file and import it into “{publication.budget_name}” in "
            "Xero's Budget Manager. The next sync verifies it.",
        )
        return redirect("draft_detail", request.firm.slug, organisation_id, rollback.draft_id)
    before = budget_publication_figures_before(publication=publication)
    earlier = dict(before)
    if to is not None:
        for row in to.expected:
            earlier[(row["account"], dt.date.fromisoformat(row["period"]))] = Decimal(row["amount"])
    rows = []
    for row in publication.expected:
        cell = (row["account"], dt.date.fromisoformat(row["period"]))
        rows.append(
            {
                "label": f"{row['name']} ({row['code']})",
                "period": cell[1],
                "published": Decimal(row["amount"]),
                "earlier": whole_units(earlier.get(cell, Decimal(0))),
            }
        )
    return render(
        request,
        "budgeting/publishing/rollback.html",
        {
            "organisation": publication.organisation,
            "publication": publication,
            "choices": choices,
            "to": to,
            "rows": rows,
            "changed": sum(1 for r in rows if r["published"] != r["earlier"]),
        },
    )


@firm_view(Action.VIEW)
def budget_publication_list_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """Every import file of the organisation, newest first, with its verification."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    publications = (
        BudgetPublication.objects.for_firm(request.firm)
        .filter(organisation=organisation)
        .select_related("draft", "created_by")
        .order_by("-created_at", "-pk")
    )
    header = [
        "Budget",
        "Beside the original",
        "Replaces the original",
        "Draft",
        "Made",
        "Made by",
        "Status",
        "Checked",
        "Verified",
        "Differences in the file",
        "Differences in the original",
        "File",
    ]

    def line(p: BudgetPublication) -> list:
        draft = f"Forecast from {p.draft.first_period:%b %Y}" if p.draft else ""
        return [
            p.budget_name,
            p.original_budget_name,
            "yes" if p.replaces_original else "no",
            draft,
            p.created_at,
            p.created_by.display_name if p.created_by else "",
            p.get_status_display(),
            p.checked_at,
            p.verified_at,
            len(p.differences),
            len(p.original_differences),
            p.file_name,
        ]

    filename = csv_filename(organisation.name, "import-files", clock.today())
    return csv_response(filename=filename, rows=[header, *(line(p) for p in publications)])
