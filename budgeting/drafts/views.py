"""The forecast draft screens: the drafts of an organisation and the run that makes them, a draft
line by line (with its CSV), a line's forecast chart and edit form, forecast accuracy, and the
budget policy. Thin views: the work is in budgeting.drafts.services and budgeting.drafts.selectors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from budgeting.drafts import services
from budgeting.drafts.charts import ForecastPoint, forecast_svg
from budgeting.drafts.forms import BudgetPolicyForm, DraftLineEditForm
from budgeting.drafts.models import BudgetPolicy, Draft, DraftLine, ForecastRun
from budgeting.drafts.selectors import (
    budget_policy_get,
    draft_get_or_404,
    draft_lines,
    draft_lines_decision_preview,
    draft_list,
    draft_narrative_fallbacks,
    forecast_accuracy,
    forecast_history_for_line,
    forecast_run_latest,
)
from budgeting.drafts.signals import draft_line_marks_wanted
from budgeting.ledger.models import Account, TrackingOption, XeroOrganisation
from budgeting.variance.maths import Section
from core.csv import csv_filename, csv_response
from core.months import add_months
from tenants.models import ClientOrganisation
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)

SECTIONS = [
    (s.value, s.label) for s in Section if s not in (Section.GROSS_PROFIT, Section.NET_PROFIT)
]
CLASSES = {"REVENUE": "Revenue", "EXPENSE": "Expense"}
CHART_HISTORY = 24


def _line(request: FirmRequest, draft: Draft, line_id: int) -> DraftLine:
    return get_firm_object_or_404(
        DraftLine,
        firm=request.firm,
        pk=line_id,
        draft=draft,
    )


def _profile(organisation: ClientOrganisation) -> XeroOrganisation | None:
    try:
        return organisation.xero_organisation
    except XeroOrganisation.DoesNotExist:
        return None


# --- Drafts and runs ---------------------------------------------------------------------------


@firm_view(Action.VIEW)
def draft_list_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return render(
        request,
        "budgeting/drafts/list.html",
        {
            "organisation": organisation,
            "profile": _profile(organisation),
            "drafts": draft_list(firm=request.firm, organisation=organisation),
            "run": forecast_run_latest(firm=request.firm, organisation=organisation),
            "policy": budget_policy_get(firm=request.firm, organisation=organisation),
        },
    )


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_create(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """Start a forecast run (in Celery); the list shows its progress."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    if _profile(organisation) is None:
        messages.error(request, f"Sync {organisation.name} from Xero first.")
        return redirect("draft_list", request.firm.slug, organisation.pk)
    run = services.forecast_run_start(
        firm=request.firm,
        organisation=organisation,
        source=Draft.Source.MANUAL,
        user=request.user,
    )
    if request.htmx:
        return _run_status(request, organisation, run)
    return redirect("draft_list", request.firm.slug, organisation.pk)


def _run_status(request, organisation, run: ForecastRun) -> HttpResponse:
    return render(
        request,
        "budgeting/drafts/list.html#run-status",
        {"organisation": organisation, "run": run},
    )


@firm_view(Action.VIEW)
def forecast_run_status(
    request: FirmRequest, organisation_id: int, forecast_run_id: int
) -> HttpResponse:
    """Polled by htmx while a run works; stops polling once it has finished."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    run = get_firm_object_or_404(
        ForecastRun, firm=request.firm, pk=forecast_run_id, organisation=organisation
    )
    return _run_status(request, organisation, run)


# --- One draft ---------------------------------------------------------------------------------


class DraftRow:
    """A line as the draft's table shows it: totals over the horizon and the policy verdict."""

    def __init__(self, line: DraftLine, accuracy):
        self.line = line
        self.balances = list(line.balances.all())
        self.original = sum((b.original_amount or Decimal(0) for b in self.balances), Decimal(0))
        self.suggested = sum((b.suggested_amount for b in self.balances), Decimal(0))
        self.effective = sum((b.effective_amount for b in self.balances), Decimal(0))
        self.change = self.effective - self.original
        self.percent = (
            (self.change * 100 / abs(self.original)).quantize(Decimal("0.1"))
            if self.original
            else None
        )
        self.accuracy = accuracy

    @property
    def account_class(self) -> str:
        return self.line.account.account_class


def _filters(params: QueryDict) -> tuple[str, str]:
    section = params.get("section", "")
    account_class = params.get("class", "")
    return (
        section if section in dict(SECTIONS) else "",
        account_class if account_class in CLASSES else "",
    )


def _rows(
    request: FirmRequest, organisation, draft, params: QueryDict | None = None
) -> list[DraftRow]:
    section, account_class = _filters(request.GET if params is None else params)
    accuracy = forecast_accuracy(firm=request.firm, organisation=organisation)
    rows = []
    for line in draft_lines(firm=request.firm, draft=draft):
        if section and line.section != section:
            continue
        if account_class and line.account.account_class != account_class:
            continue
        option_id = line.tracking_option_id
        rows.append(DraftRow(line, accuracy.for_line(line.account_id, option_id)))
    return rows


@firm_view(Action.VIEW)
def draft_detail(request: FirmRequest, organisation_id: int, draft_id: int) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    section, account_class = _filters(request.GET)
    rows = _rows(request, organisation, draft)
    context = {
        "organisation": organisation,
        "draft": draft,
        "rows": rows,
        "sections": SECTIONS,
        "classes": CLASSES,
        "section": section,
        "account_class": account_class,
        "currency": draft.currency_code,
        "submit_blockers": (
            services.draft_can_submit(firm=request.firm, draft=draft)
            if draft.status == Draft.Status.DRAFT
            else []
        ),
        "can_edit": draft.figures_editable and "prepare_drafts" in _permissions(request),
        "query": request.GET.urlencode(),
        "decisions": services.LINES_DECISIONS,
        "material_shown": sum(row.line.trigger in MATERIAL_TRIGGERS for row in rows),
        # Lines whose variance narrative is the local one because the firm's outside provider
        # was not used (its answer failed a check, or it gave none): said on the draft.
        "narrative_fallbacks": draft_narrative_fallbacks(firm=request.firm, draft=draft),
    }
    template = "budgeting/drafts/detail.html"
    # The filters swap the table only; accept and reset swap the whole page body (<main>).
    if request.htmx and request.htmx.target == "draft-body":
        template += "#draft-body"
    return render(request, template, context)


def _permissions(request: FirmRequest) -> set[str]:
    from tenants.roles import ROLE_ACTIONS

    return {str(a) for a in ROLE_ACTIONS[request.membership.role]}


CSV_HEADER = [
    "Tracking option",
    "Section",
    "Account code",
    "Account",
    "Month",
    "Original budget",
    "Actual",
    "Suggested",
    "Edited",
    "Proposed",
    "Change",
    "Lo 80",
    "Hi 80",
    "Lo 95",
    "Hi 95",
    "Method",
    "Confidence",
    "Trigger",
    "Policy",
    "Extra approval",
    "Accepted",
    "Reason",
]


@firm_view(Action.VIEW)
def draft_csv(request: FirmRequest, organisation_id: int, draft_id: int) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )

    def rows():
        yield [
            "Currency",
            draft.currency_code,
            "Draft",
            draft.pk,
            "Revision",
            draft.revision,
        ]
        yield CSV_HEADER
        for row in _rows(request, organisation, draft):
            line = row.line
            policy = (
                "ok" if line.policy_ok else "; ".join(v["message"] for v in line.policy_violations)
            )
            for b in row.balances:
                yield [
                    line.tracking_option.name if line.tracking_option else "",
                    Section(line.section).label,
                    line.account.code,
                    line.account.name,
                    f"{b.period:%Y-%m}",
                    b.original_amount,
                    b.actual,
                    b.suggested_amount,
                    b.edited_amount,
                    b.effective_amount,
                    b.change,
                    b.lo_80,
                    b.hi_80,
                    b.lo_95,
                    b.hi_95,
                    line.method,
                    line.confidence,
                    line.get_trigger_display(),
                    policy,
                    "; ".join(line.extra_approval_reasons),
                    "yes" if line.accepted else "no",
                    b.edit_reason,
                ]

    filename = csv_filename(
        organisation.name,
        "forecast",
        f"{draft.first_period:%Y-%m}",
        f"{draft.horizon}m",
        f"revision-{draft.revision}",
    )
    return csv_response(filename=filename, rows=rows())


# --- One line ----------------------------------------------------------------------------------


def _line_context(request, organisation, draft, line, form=None, check=None) -> dict:
    balances = list(line.balances.order_by("period"))
    first = add_months(draft.last_actual_period, 1 - CHART_HISTORY)
    history = forecast_history_for_line(
        firm=request.firm,
        organisation=organisation,
        account=line.account,
        tracking_option=line.tracking_option,
        first=first,
        last=draft.last_actual_period,
    )
    months, month = [], first
    while month <= draft.last_actual_period:
        months.append(month)
        month = add_months(month, 1)
    budgets = _history_budgets(request, line, first, draft.last_actual_period)
    budgets.update({b.period: b.original_amount for b in balances if b.original_amount is not None})
    backtest = (
        f"Backtest error: typical error {line.backtest_smape:.0f}% when the method was tried "
        f"on this line's own past months (sMAPE {line.backtest_smape:.1f}%)."
        if line.backtest_smape is not None
        else "The history was too short to try the method on its past months."
    )
    marked: dict[dt.date, str] = {}
    for _receiver, marks in draft_line_marks_wanted.send(
        sender=DraftLine, firm=request.firm, line=line
    ):
        marked.update(marks or {})
    chart = forecast_svg(
        marked=marked,
        actuals=[(m, history.get(m, Decimal("0.00"))) for m in months],
        budgets=budgets,
        forecast=[
            ForecastPoint(b.period, b.effective_amount, b.lo_80, b.hi_80, b.lo_95, b.hi_95)
            for b in balances
        ],
        title=f"{line}: actuals, budget and forecast",
        chart_id=f"chart-line-{line.pk}",
        currency=draft.currency_code,
        backtest_note=backtest,
    )
    accuracy = forecast_accuracy(firm=request.firm, organisation=organisation)
    return {
        "organisation": organisation,
        "draft": draft,
        "line": line,
        "balances": balances,
        "chart": chart,
        "backtest": backtest,
        "currency": draft.currency_code,
        "accuracy": accuracy.for_line(line.account_id, line.tracking_option_id),
        "form": form or DraftLineEditForm(balances=balances),
        "check": check,
        "can_edit": draft.figures_editable and "prepare_drafts" in _permissions(request),
    }


def _history_budgets(request, line: DraftLine, first: dt.date, last: dt.date) -> dict:
    from budgeting.ledger.models import BudgetBalance

    if line.original_budget_id is None:
        return {}
    return dict(
        BudgetBalance.objects.for_firm(request.firm)
        .filter(
            budget_line__budget_id=line.original_budget_id,
            budget_line__account_id=line.account_id,
            period__gte=first,
            period__lte=last,
        )
        .values_list("period", "amount")
    )


@firm_view(Action.VIEW)
def draft_line_detail(
    request: FirmRequest, organisation_id: int, draft_id: int, line_id: int
) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    line = _line(request, draft, line_id)
    template = "budgeting/drafts/line.html"
    if request.htmx and request.htmx.target == "line-detail":
        template += "#line-detail"
    return render(request, template, _line_context(request, organisation, draft, line))


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_line_edit(
    request: FirmRequest, organisation_id: int, draft_id: int, line_id: int
) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    line = _line(request, draft, line_id)
    form = DraftLineEditForm(request.POST, balances=list(line.balances.order_by("period")))
    status = 200
    if form.is_valid():
        try:
            services.draft_line_edit(
                firm=request.firm,
                draft=draft,
                line=line,
                period=form.balance().period,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except services.DraftError as exc:
            form.add_error(None, str(exc))
            status = 400
        else:
            messages.success(request, f"{line}: {form.balance().period:%B %Y} changed.")
            return redirect(
                "draft_line_detail", request.firm.slug, organisation.pk, draft.pk, line.pk
            )
    else:
        status = 400
    line.refresh_from_db()
    return render(
        request,
        "budgeting/drafts/line.html",
        _line_context(request, organisation, draft, line, form=form),
        status=status,
    )


@firm_view(Action.PREPARE_DRAFTS)
def draft_line_check(
    request: FirmRequest, organisation_id: int, draft_id: int, line_id: int
) -> HttpResponse:
    """The policy's verdict on a figure as it is typed (htmx); saves nothing."""
    _organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    line = _line(request, draft, line_id)
    data = request.POST if request.method == "POST" else request.GET
    form = DraftLineEditForm(
        {**data.dict(), "reason": data.get("reason") or "-"},
        balances=list(line.balances.order_by("period")),
    )
    result, error = None, ""
    if form.is_valid():
        try:
            result = services.draft_line_check(
                firm=request.firm,
                draft=draft,
                line=line,
                period=form.balance().period,
                amount=form.cleaned_data["amount"],
            )
        except services.DraftError as exc:
            error = str(exc)
    elif form.has_error("amount", "figure_size"):
        error = form.errors["amount"][0]
    else:
        error = "Give a month and an amount."
    return render(
        request,
        "budgeting/drafts/line.html#policy-check",
        {"check": result, "check_error": error},
    )


def _back_to(request: FirmRequest, organisation, draft) -> HttpResponse:
    url = reverse("draft_detail", args=[request.firm.slug, organisation.pk, draft.pk])
    query = request.POST.get("query", "")
    return redirect(f"{url}?{query}" if query else url)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_line_decide(
    request: FirmRequest, organisation_id: int, draft_id: int, line_id: int, decision: str
) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    line = _line(request, draft, line_id)
    action = {"accept": services.draft_line_accept, "reset": services.draft_line_reset}
    try:
        action[decision](firm=request.firm, draft=draft, line=line, user=request.user)
    except services.DraftError as exc:
        messages.error(request, str(exc))
    return _back_to(request, organisation, draft)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_section_decide(
    request: FirmRequest, organisation_id: int, draft_id: int, decision: str
) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    section = request.POST.get("section", "")
    if section not in dict(SECTIONS):
        # Bad input, not a missing object: say which field and what it takes.
        choices = ", ".join(dict(SECTIONS))
        return HttpResponseBadRequest(
            f"section: choose one of {choices}.", content_type="text/plain"
        )
    action = {
        "accept": services.draft_section_accept,
        "reset": services.draft_section_reset,
    }
    try:
        count = action[decision](firm=request.firm, draft=draft, section=section, user=request.user)
    except services.DraftError as exc:
        messages.error(request, str(exc))
    else:
        verb = "accepted" if decision == "accept" else "reset to the suggestion"
        messages.success(request, f"{count} line{'s' if count != 1 else ''} {verb}.")
    return _back_to(request, organisation, draft)


MATERIAL_TRIGGERS = (DraftLine.Trigger.VARIANCE, DraftLine.Trigger.BOTH)
SCOPES = ("ticked", "shown", "material")


def _chosen_line_ids(request: FirmRequest, organisation, draft) -> list[int] | None:
    """The lines a bulk decision is for: those ticked, every line the filters show, or every
    material one they show. None when the form was tampered with."""
    scope = request.POST.get("scope", "ticked")
    if scope not in SCOPES:
        return None
    if scope == "ticked":
        try:
            return sorted({int(pk) for pk in request.POST.getlist("line")})
        except ValueError:
            return None
    rows = _rows(request, organisation, draft, QueryDict(request.POST.get("query", "")))
    if scope == "material":
        rows = [row for row in rows if row.line.trigger in MATERIAL_TRIGGERS]
    return [row.line.pk for row in rows]


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_lines_decide(request: FirmRequest, organisation_id: int, draft_id: int) -> HttpResponse:
    """One decision on many lines: the first POST shows what changes, line by line; the second
    (confirm) applies it in one change of the draft."""
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    decision = request.POST.get("decision", "")
    line_ids = _chosen_line_ids(request, organisation, draft)
    if decision not in services.LINES_DECISIONS or line_ids is None:
        choices = ", ".join(services.LINES_DECISIONS)
        return HttpResponseBadRequest(
            f"decision: choose one of {choices}; scope: one of {', '.join(SCOPES)}; "
            "line: line numbers.",
            content_type="text/plain",
        )
    if not line_ids:
        messages.error(request, "No lines chosen: tick the lines first, or choose a filter.")
        return _back_to(request, organisation, draft)
    error, status = "", 200
    value_text = request.POST.get("value", "").strip()
    value = None
    if value_text:
        try:
            value = services.draft_lines_value(decision=decision, value=value_text)
        except services.DraftError as exc:
            error, status = str(exc), 400
    if request.POST.get("confirm") and not error:
        try:
            count = services.draft_lines_decide(
                firm=request.firm,
                draft=draft,
                line_ids=line_ids,
                decision=decision,
                reason=request.POST.get("reason", ""),
                value=value_text,
                user=request.user,
            )
        except services.DraftError as exc:
            error, status = str(exc), 400
        else:
            label = services.LINES_DECISIONS[decision].lower()
            messages.success(request, f"{count} line{'s' if count != 1 else ''} changed: {label}.")
            return _back_to(request, organisation, draft)
    # Until a percentage or figure is typed, the preview shows the figures as they are.
    needs_value = decision in services.LINES_VALUE
    previews = draft_lines_decision_preview(
        firm=request.firm,
        draft=draft,
        line_ids=line_ids,
        decision=decision if value is not None or not needs_value else "accept",
        value=value,
    )
    changing = [p for p in previews if p.changes]
    before = sum((p.before for p in previews), Decimal("0.00"))
    after = sum((p.after for p in previews), Decimal("0.00"))
    return render(
        request,
        "budgeting/drafts/decide.html",
        {
            "organisation": organisation,
            "draft": draft,
            "currency": draft.currency_code,
            "decision": decision,
            "decision_label": services.LINES_DECISIONS[decision],
            "previews": previews,
            "changing": changing,
            "before": before,
            "after": after,
            "difference": after - before,
            "reason": request.POST.get("reason", ""),
            "value": value_text,
            "value_help": services.LINES_VALUE.get(decision, ""),
            "is_edit": decision in services.LINES_EDITS,
            "query": request.POST.get("query", ""),
            "error": error,
        },
        status=status,
    )


# --- Accuracy and policy -----------------------------------------------------------------------


@firm_view(Action.VIEW)
def forecast_accuracy_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return render(
        request,
        "budgeting/drafts/accuracy.html",
        {
            "organisation": organisation,
            "accuracy": forecast_accuracy(firm=request.firm, organisation=organisation),
            "method_label": services.method_label,
        },
    )


@firm_view(Action.MANAGE_POLICIES)
def budget_policy_edit(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    current = budget_policy_get(firm=request.firm, organisation=organisation)
    accounts = list(
        Account.objects.for_firm(request.firm).filter(
            organisation=organisation,
            type__in=(
                "REVENUE",
                "SALES",
                "OTHERINCOME",
                "DIRECTCOSTS",
                "EXPENSE",
                "OVERHEADS",
                "DEPRECIATN",
            ),
        )
    )
    options = list(
        TrackingOption.objects.for_firm(request.firm)
        .filter(organisation=organisation)
        .select_related("category")
    )
    form = BudgetPolicyForm(
        request.POST or None, accounts=accounts, options=options, current=current
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        policy = services.budget_policy_update(
            firm=request.firm,
            organisation=organisation,
            user=request.user,
            scope=data["scope"],
            account_ids=[int(i) for i in data["accounts"]],
            tracking_option_ids=[int(i) for i in data["tracking_options"]],
            account_caps=data["account_caps"],
            class_caps=form.class_caps(),
            max_change_percent=data["max_change_percent"],
            max_change_amount=data["max_change_amount"],
            capex_account_ids=[int(i) for i in data["capex_accounts"]],
            extra_approval_above=data["extra_approval_above"],
            horizon=data["horizon"],
            max_actual_multiple=data["max_actual_multiple"],
            sign_check=data["sign_check"],
        )
        services.drafts_recheck(firm=request.firm, organisation=organisation)
        messages.success(request, f"Budget policy saved (version {policy.version}).")
        return redirect("draft_list", request.firm.slug, organisation.pk)
    return render(
        request,
        "budgeting/drafts/policy.html",
        {
            "organisation": organisation,
            "form": form,
            "current": current,
            "scopes": BudgetPolicy.Scope,
            "versions": BudgetPolicy.history.filter(
                firm_id=request.firm.pk, organisation_id=organisation.pk
            )
            .select_related("history_user")
            .order_by("-history_date", "-history_id")[:20],
        },
    )
