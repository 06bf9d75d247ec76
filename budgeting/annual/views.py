"""The annual draft screens: "Draft next year's budget" for an organisation (choose the year,
default the next one; draft a year again, superseding its draft), and applying the firm's
tendency to a line. The draft itself opens in the drafts' review, with the flags panel
(budgeting/templatetags/annual_panels.py). Thin views: the work is in budgeting.annual.services.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from budgeting.annual import services
from budgeting.annual.forms import AnnualDraftForm
from budgeting.annual.models import AnnualDraft, AnnualLineFlag
from budgeting.annual.selectors import (
    annual_counts,
    annual_draft_current,
    annual_drafts,
    annual_lines_to_draft,
    annual_years,
)
from budgeting.drafts.selectors import draft_get_or_404
from core.tasks import enqueue
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)

# Above this many lines, a worker drafts the year (budgeting.tasks.annual_draft_create_task).
BACKGROUND_ABOVE = 300


def _page(request: FirmRequest, organisation, form: AnnualDraftForm, status: int = 200):
    years = annual_years(firm=request.firm, organisation=organisation)
    chosen = str(form["financial_year"].value() or "")
    year = years.get(int(chosen)) if chosen.isdigit() else None
    year = year or years.default
    current = (
        annual_draft_current(firm=request.firm, organisation=organisation, financial_year=year.year)
        if year is not None
        else None
    )
    return render(
        request,
        "budgeting/annual/new.html",
        {
            "organisation": organisation,
            "form": form,
            "years": years,
            "year": year,
            "current": current,
            "drafts": annual_drafts(firm=request.firm, organisation=organisation),
        },
        status=status,
    )


@firm_view(Action.VIEW)
def annual_draft_new(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    years = annual_years(firm=request.firm, organisation=organisation)
    initial = {}
    if request.GET.get("year", "").isdigit() and years.get(int(request.GET["year"])):
        initial["financial_year"] = int(request.GET["year"])
    form = AnnualDraftForm(years=years.years, initial=initial)
    return _page(request, organisation, form)


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def annual_draft_create(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    years = annual_years(firm=request.firm, organisation=organisation)
    form = AnnualDraftForm(request.POST, years=years.years)
    if not form.is_valid():
        return _page(request, organisation, form, status=400)
    supersede = None
    if request.POST.get("supersede"):
        supersede = get_firm_object_or_404(
            AnnualDraft, firm=request.firm, organisation=organisation, pk=request.POST["supersede"]
        )
    years_count = annual_lines_to_draft(
        firm=request.firm, organisation=organisation, last_closed=years.last_closed
    )
    if years_count > BACKGROUND_ABOVE:
        # Many lines take minutes (a forecast, thirteen rows and their history each): drafted by
        # a worker, listed below once done; the same checks refuse what cannot be drafted.
        enqueue(
            "budgeting.tasks.annual_draft_create_task",
            request.firm.pk,
            organisation.pk,
            form.cleaned_data["financial_year"],
            request.user.pk,
            str(form.cleaned_data["departure_percent"]),
            supersede.pk if supersede else None,
        )
        messages.success(
            request,
            f"FY{form.cleaned_data['financial_year']} of {organisation.name} is being drafted "
            f"in the background ({years_count} lines): it is listed below when done.",
        )
        return redirect("annual_draft_new", request.firm.slug, organisation.pk)
    try:
        annual = services.annual_draft_create(
            firm=request.firm,
            organisation=organisation,
            user=request.user,
            financial_year=form.cleaned_data["financial_year"],
            departure_percent=form.cleaned_data["departure_percent"],
            supersede=supersede,
        )
    except services.AnnualDraftError as exc:
        form.add_error(None, str(exc))
        return _page(request, organisation, form, status=400)
    counts = annual_counts(firm=request.firm, annual=annual)
    messages.success(
        request,
        f"FY{annual.financial_year} drafted: {counts.lines} lines, {counts.flagged_lines} "
        "flagged for a second look. Accept or edit each line, then submit it.",
    )
    return redirect("draft_detail", request.firm.slug, organisation.pk, annual.draft_id)


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def annual_tendency_apply(
    request: FirmRequest, organisation_id: int, draft_id: int, flag_id: int
) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    flag = get_firm_object_or_404(
        AnnualLineFlag, firm=request.firm, pk=flag_id, annual__draft=draft
    )
    try:
        services.annual_tendency_apply(firm=request.firm, flag=flag, user=request.user)
    except services.AnnualDraftError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{flag.line}: the firm's tendency ({flag.percent:+}%) applied.")
    if request.POST.get("next") == "line":
        return redirect(
            "draft_line_detail", request.firm.slug, organisation.pk, draft.pk, flag.line_id
        )
    return redirect("draft_detail", request.firm.slug, organisation.pk, draft.pk)
