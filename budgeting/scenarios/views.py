"""The scenario screens: an organisation's scenarios, one scenario's P&L with its adjustments
(typed in a form or read from a sentence and confirmed), up to five side by side with a chart,
their CSV and XLSX, and turning one into a draft. Thin views: the work is in
budgeting.scenarios.services and budgeting.scenarios.selectors."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from budgeting.drafts.services import DraftError
from budgeting.ledger.selectors import profile_month_window
from budgeting.scenarios import services
from budgeting.scenarios.charts import net_profit_svg
from budgeting.scenarios.exports import comparison_rows, xlsx_response
from budgeting.scenarios.forms import AdjustmentForm, ScenarioCreateForm, SentenceForm
from budgeting.scenarios.llm import provider_reading_json
from budgeting.scenarios.maths import PNL_ROWS, ScenarioError
from budgeting.scenarios.models import MAX_COMPARED, ScenarioAdjustment
from budgeting.scenarios.selectors import (
    account_search,
    base_budgets,
    base_drafts,
    chart_accounts,
    profile_get,
    scenario_compare,
    scenario_compute,
    scenario_get_or_404,
    scenario_history,
    scenario_list,
    scenario_sentence_read,
    tracking_names,
)
from core.csv import csv_filename, csv_response
from core.months import add_months, months_between
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)


def _organisation(request: FirmRequest, organisation_id: int):
    return client_organisation_get_or_404(firm=request.firm, organisation_id=organisation_id)


def _create_form(request: FirmRequest, organisation, data=None) -> ScenarioCreateForm:
    profile = profile_get(firm=request.firm, organisation=organisation)
    window = profile_month_window(profile)
    return ScenarioCreateForm(
        data,
        budgets=base_budgets(firm=request.firm, organisation=organisation),
        drafts=base_drafts(firm=request.firm, organisation=organisation),
        # A scenario starts after the last closed month: what is still to come.
        first=add_months(window.last_closed, 1) if window.last_closed else window.open_month,
    )


@firm_view(Action.VIEW)
def scenario_list_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    return render(
        request,
        "budgeting/scenarios/list.html",
        {
            "organisation": organisation,
            "scenarios": scenario_list(firm=request.firm, organisation=organisation),
            "form": _create_form(request, organisation),
            "max_compared": MAX_COMPARED,
        },
    )


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def scenario_create_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    form = _create_form(request, organisation, request.POST)
    if form.is_valid():
        try:
            scenario = services.scenario_create(
                firm=request.firm,
                organisation=organisation,
                name=form.cleaned_data["name"],
                first_period=form.cleaned_data["first_month"],
                months=form.cleaned_data["months"],
                user=request.user,
                **form.base_values(),
            )
        except services.ScenarioServiceError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("scenario_detail", request.firm.slug, organisation.pk, scenario.pk)
    return render(
        request,
        "budgeting/scenarios/list.html",
        {
            "organisation": organisation,
            "scenarios": scenario_list(firm=request.firm, organisation=organisation),
            "form": form,
            "max_compared": MAX_COMPARED,
        },
        status=400,
    )


def _detail(request: FirmRequest, organisation, scenario, *, status=200, **extra):
    chart = chart_accounts(firm=request.firm, organisation=organisation)
    options = tracking_names(firm=request.firm, organisation=organisation)
    view = scenario_compute(firm=request.firm, scenario=scenario, chart=chart)
    context = {
        "organisation": organisation,
        "scenario": scenario,
        "view": view,
        "rows": PNL_ROWS,
        "chart_accounts": chart,
        "sentence_form": SentenceForm(initial={"sentence": scenario.sentence}),
        "adjustment_form": AdjustmentForm(chart=chart, options=options, months=view.months),
        "history": scenario_history(firm=request.firm, scenario=scenario),
        **extra,
    }
    return render(request, "budgeting/scenarios/detail.html", context, status=status)


@firm_view(Action.VIEW)
def scenario_detail(request: FirmRequest, organisation_id: int, scenario_id: int):
    organisation = _organisation(request, organisation_id)
    scenario = scenario_get_or_404(
        firm=request.firm, organisation=organisation, scenario_id=scenario_id
    )
    return _detail(request, organisation, scenario)


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def scenario_sentence(request: FirmRequest, organisation_id: int, scenario_id: int):
    """Read a sentence and show what it says; with `confirm`, add what it says."""
    organisation = _organisation(request, organisation_id)
    scenario = scenario_get_or_404(
        firm=request.firm, organisation=organisation, scenario_id=scenario_id
    )
    form = SentenceForm(request.POST)
    if not form.is_valid():
        return _detail(request, organisation, scenario, status=400, sentence_errors=form.errors)
    sentence = form.cleaned_data["sentence"]
    profile = profile_get(firm=request.firm, organisation=organisation)
    confirm = bool(request.POST.get("confirm"))
    read = scenario_sentence_read(
        firm=request.firm,
        scenario=scenario,
        sentence=sentence,
        currency=profile.base_currency if profile else "",
        # Reading asks the firm's chat model (when it is on) about a part the parser could not
        # read; confirming sends nothing and checks again the reading that was shown.
        ask_provider=not confirm,
        provider_answer=request.POST.get("provider_read", "")[:20000] if confirm else "",
    )
    if confirm and read.ok:
        try:
            services.scenario_adjustments_add(
                firm=request.firm,
                scenario=scenario,
                adjustments=[a.adjustment for a in read.adjustments],
                sentence=sentence,
                read_by=[a.read_by for a in read.adjustments],
                user=request.user,
            )
        except services.ScenarioServiceError as exc:
            read.problems.append(str(exc))
        else:
            messages.success(request, f"Added {len(read.adjustments)} adjustment(s).")
            return redirect("scenario_detail", request.firm.slug, organisation.pk, scenario.pk)
    return _detail(
        request,
        organisation,
        scenario,
        status=200 if read.ok else 400,
        read=read,
        sentence=sentence,
        provider_read=provider_reading_json(read),
    )


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def scenario_adjustment_add(request: FirmRequest, organisation_id: int, scenario_id: int):
    organisation = _organisation(request, organisation_id)
    scenario = scenario_get_or_404(
        firm=request.firm, organisation=organisation, scenario_id=scenario_id
    )
    form = AdjustmentForm(
        request.POST,
        chart=chart_accounts(firm=request.firm, organisation=organisation),
        options=tracking_names(firm=request.firm, organisation=organisation),
        months=months_between(scenario.first_period, scenario.last_period),
    )
    if form.is_valid():
        try:
            services.scenario_adjustments_add(
                firm=request.firm,
                scenario=scenario,
                adjustments=[form.adjustment()],
                user=request.user,
            )
        except (services.ScenarioServiceError, ScenarioError) as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("scenario_detail", request.firm.slug, organisation.pk, scenario.pk)
    return _detail(request, organisation, scenario, status=400, adjustment_errors=form.errors)


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def scenario_adjustment_remove(
    request: FirmRequest, organisation_id: int, scenario_id: int, adjustment_id: int
):
    organisation = _organisation(request, organisation_id)
    scenario = scenario_get_or_404(
        firm=request.firm, organisation=organisation, scenario_id=scenario_id
    )
    adjustment = get_firm_object_or_404(
        ScenarioAdjustment, firm=request.firm, scenario=scenario, pk=adjustment_id
    )
    services.scenario_adjustment_remove(
        firm=request.firm, scenario=scenario, adjustment=adjustment, user=request.user
    )
    return redirect("scenario_detail", request.firm.slug, organisation.pk, scenario.pk)


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def scenario_draft_create_view(request: FirmRequest, organisation_id: int, scenario_id: int):
    organisation = _organisation(request, organisation_id)
    scenario = scenario_get_or_404(
        firm=request.firm, organisation=organisation, scenario_id=scenario_id
    )
    try:
        draft = services.scenario_draft_create(
            firm=request.firm, scenario=scenario, user=request.user
        )
    except (services.ScenarioServiceError, DraftError) as exc:
        messages.error(request, str(exc))
        return redirect("scenario_detail", request.firm.slug, organisation.pk, scenario.pk)
    messages.success(request, "The scenario is now a draft: check it, then submit it.")
    return redirect("draft_detail", request.firm.slug, organisation.pk, draft.pk)


@require_GET
@firm_view(Action.VIEW)
def scenario_account_search(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """The accounts whose code or name matches what was typed, as the search's options."""
    organisation = _organisation(request, organisation_id)
    accounts = account_search(
        firm=request.firm, organisation=organisation, text=request.GET.get("accounts", "")
    )
    return render(request, "budgeting/scenarios/accounts.html", {"chart_accounts": accounts})


def _compared(request: FirmRequest, organisation):
    raw = request.GET.getlist("s")
    try:
        ids = [int(v) for v in raw]
    except ValueError:
        return None
    if not ids or len(set(ids)) > MAX_COMPARED:
        return None
    views = scenario_compare(firm=request.firm, organisation=organisation, scenario_ids=ids)
    return views if len(views) == len(set(ids)) else []


@require_GET
@firm_view(Action.VIEW)
def scenario_compare_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    views = _compared(request, organisation)
    if views is None:
        return HttpResponseBadRequest(f"Choose one to {MAX_COMPARED} scenarios to compare.")
    if not views:
        return render(request, "404.html", status=404)
    return render(
        request,
        "budgeting/scenarios/compare.html",
        {
            "organisation": organisation,
            "views": views,
            "rows": PNL_ROWS,
            "chart": net_profit_svg(views=views),
            "query": request.GET.urlencode(),
        },
    )


def _export(request: FirmRequest, organisation_id: int, kind: str) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    views = _compared(request, organisation)
    if views is None:
        return HttpResponseBadRequest(f"Choose one to {MAX_COMPARED} scenarios to compare.")
    if not views:
        return render(request, "404.html", status=404)
    filename = csv_filename(organisation.name, "scenarios", views[0].scenario.first_period)
    if kind == "xlsx":
        return xlsx_response(
            filename=filename.removesuffix(".csv") + ".xlsx", rows=comparison_rows(views)
        )
    return csv_response(filename=filename, rows=comparison_rows(views))


@require_GET
@firm_view(Action.VIEW)
def scenario_compare_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    return _export(request, organisation_id, "csv")


@require_GET
@firm_view(Action.VIEW)
def scenario_compare_xlsx(request: FirmRequest, organisation_id: int) -> HttpResponse:
    return _export(request, organisation_id, "xlsx")
