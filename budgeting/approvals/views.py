"""Approvals: submit a draft, its approval timeline and decisions on the screen, and the email
sign-off link (GET shows, only POST decides). Thin: every rule is in budgeting.approvals.services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgeting.approvals import reminders as approval_reminders
from budgeting.approvals import services as approvals
from budgeting.approvals.forms import ApprovalStepFormSet, ExternalApproverForm
from budgeting.approvals.models import (
    ApprovalChain,
    ApprovalRequest,
    ApprovalStep,
    ExternalApprover,
)
from budgeting.departments.selectors import department_submission_problems
from budgeting.drafts.charts import ForecastPoint, forecast_svg
from budgeting.drafts.models import Draft, DraftLine
from budgeting.drafts.selectors import budget_policy_get, draft_get_or_404, draft_lines
from budgeting.drafts.services import draft_can_submit
from core.counters import counter_increment
from tenants.http import client_ip
from tenants.models import Membership
from tenants.roles import Action, role_allows
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view

# Sign-off link requests per client address per minute (GET and POST together).
LINK_RATE = 20


def _timeline(request: FirmRequest, draft: Draft):
    rounds = list(
        ApprovalRequest.objects.for_firm(request.firm)
        .filter(draft=draft)
        .select_related("submitted_by")
        .prefetch_related("steps", "decisions__user", "decisions__step")
        .order_by("-submitted_at", "-pk")
    )
    return rounds


@firm_view(Action.VIEW)
@require_GET
def draft_approval(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    rounds = _timeline(request, draft)
    current = next((r for r in rounds if r.status == ApprovalRequest.Status.PENDING), None)
    open_step = (
        next((s for s in current.steps.all() if s.status == ApprovalStep.Status.OPEN), None)
        if current
        else None
    )
    lines = list(
        DraftLine.objects.for_firm(request.firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
        .order_by("section", "account__code", "pk")
    )
    waiting_for = (
        approvals.approval_step_recipients(firm=request.firm, step=open_step) if open_step else []
    )
    labels = {line.pk: str(line) for line in lines}
    for round_ in rounds:
        for decision in round_.decisions.all():
            decision.line_labels = [labels.get(pk, f"line {pk}") for pk in decision.line_ids]
    context = {
        "organisation": organisation,
        "draft": draft,
        "rounds": rounds,
        "current": current,
        "open_step": open_step,
        "waiting_for": waiting_for,
        # The decision form only for someone who can decide the open step: the preparer, an
        # editor, an approver of another step or someone it does not name sees who it waits for.
        "may_decide": any(a.user is not None and a.user.pk == request.user.pk for a in waiting_for),
        "lines": [(line.pk, labels[line.pk]) for line in lines],
        "summary": approvals.draft_summary(firm=request.firm, draft=draft),
        # Empty: the firm's owners decide it, in a step added last.
        "extra_steps": approvals.draft_extra_approval_steps(firm=request.firm, draft=draft),
        "submit_blockers": (
            draft_can_submit(firm=request.firm, draft=draft)
            + department_submission_problems(firm=request.firm, draft=draft)
            if draft.status == Draft.Status.DRAFT
            else []
        ),
    }
    return render(request, "budgeting/approvals/timeline.html", context)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_submit(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    try:
        approvals.draft_submit(firm=request.firm, draft=draft, user=request.user)
        messages.success(request, "Submitted for approval: the first step's approvers are emailed.")
    except approvals.ApprovalError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


@firm_view(Action.APPROVE)
@require_POST
def draft_approval_decide(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    step_id = request.POST.get("step")
    revision = request.POST.get("revision")
    try:
        approvals.approval_decide(
            firm=request.firm,
            draft=draft,
            approver=approvals.approver_for_member(firm=request.firm, user=request.user),
            decision=request.POST.get("decision", ""),
            channel=approvals.Channel.SCREEN,
            comment=request.POST.get("comment", ""),
            step_id=int(step_id) if step_id and step_id.isdigit() else None,
            revision=int(revision) if revision and revision.isdigit() else None,
            line_ids=[int(i) for i in request.POST.getlist("lines") if i.isdigit()],
        )
        messages.success(request, "Decision recorded.")
    except approvals.ApprovalError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


def _rate_limited(request: HttpRequest) -> bool:
    key = f"approval-link-rate:{client_ip(request) or 'unknown'}"
    return counter_increment(key, timeout=60) > LINK_RATE


def _problem(request: HttpRequest, problem: approvals.LinkProblem) -> HttpResponse:
    return render(
        request,
        "budgeting/approvals/link_problem.html",
        {"title": problem.title, "message": str(problem)},
        status=problem.status,
    )


# The sign-off page charts the largest changes; the table lists every changed line.
CHARTED_LINES = 5


@dataclass
class ChangedLine:
    """A line the draft changes, as the approver reads it: each month's original and proposed
    figure, the reason and narrative behind it and the policy's verdict."""

    line: DraftLine
    months: list  # DraftBalance, oldest first
    change: Decimal
    chart: str = ""


def _changed_lines(firm, draft: Draft) -> list[ChangedLine]:
    changed = []
    for line in draft_lines(firm=firm, draft=draft):
        months = list(line.balances.all())
        if any(b.change for b in months):
            changed.append(ChangedLine(line, months, sum((b.change for b in months), Decimal(0))))
    changed.sort(key=lambda c: abs(c.change), reverse=True)
    for item in changed[:CHARTED_LINES]:
        item.chart = forecast_svg(
            actuals=[],
            budgets={
                b.period: b.original_amount for b in item.months if b.original_amount is not None
            },
            forecast=[
                ForecastPoint(b.period, b.effective_amount, b.lo_80, b.hi_80, b.lo_95, b.hi_95)
                for b in item.months
            ],
            title=f"{item.line}: original budget and proposed figures",
            chart_id=f"chart-line-{item.line.pk}",
            currency=draft.currency_code,
        )
    return changed


@require_http_methods(["GET", "POST"])
def approval_link(request: HttpRequest, token: str) -> HttpResponse:
    """An emailed sign-off link. The firm comes from the token, not the URL. GET shows the
    summary and changes nothing (mail scanners follow links); only POST decides."""
    if _rate_limited(request):
        return render(
            request,
            "budgeting/approvals/link_problem.html",
            {
                "title": "Too many attempts",
                "message": "Wait a minute, then open the link from the email again.",
            },
            status=429,
        )
    signed_in = request.user if request.user.is_authenticated else None
    try:
        if request.method == "POST":
            decision = approvals.approval_link_decide(
                token=token,
                decision=request.POST.get("decision", ""),
                comment=request.POST.get("comment", ""),
                line_ids=[int(i) for i in request.POST.getlist("lines") if i.isdigit()],
                signed_in=signed_in,
            )
            return render(
                request,
                "budgeting/approvals/link_done.html",
                {"decision": decision, "organisation": decision.request.organisation},
            )
        context = approvals.approval_link_check(token=token, signed_in=signed_in)
    except approvals.LinkProblem as problem:
        return _problem(request, problem)
    return render(
        request,
        "budgeting/approvals/link.html",
        {
            "organisation": context.draft.organisation,
            "draft": context.draft,
            "step": context.step,
            "approver": context.approver,
            # The button pressed in Slack, preselected; the person still confirms here.
            "suggested": request.GET.get("decision")
            if request.GET.get("decision") in ("approve", "request_changes")
            else "",
            "from_slack": context.link.channel == approvals.Channel.SLACK,
            "summary": approvals.draft_summary(firm=context.firm, draft=context.draft),
            "changed": _changed_lines(context.firm, context.draft),
            "lines": [
                (line.pk, str(line))
                for line in DraftLine.objects.for_firm(context.firm)
                .filter(draft=context.draft)
                .select_related("account", "tracking_option")
                .order_by("section", "account__code", "pk")
            ],
        },
    )


# Mail clients send the one-click unsubscribe (RFC 8058) as a POST with no CSRF token; the
# signed token in the URL is what authorises it, and it can only unsubscribe or subscribe again.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def approval_digest_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The daily digest's unsubscribe link. GET asks (mail scanners follow links); POST acts.
    The firm comes from the signed token."""
    if _rate_limited(request):
        return render(
            request,
            "budgeting/approvals/link_problem.html",
            {"title": "Too many attempts", "message": "Wait a minute, then try again."},
            status=429,
        )
    named = approval_reminders.digest_unsubscribe_read(token)
    if named is None:
        return render(
            request,
            "budgeting/approvals/link_problem.html",
            {
                "title": "This link is not valid",
                "message": "The link is incomplete or was changed. Open it again from the "
                "digest email, copying the whole address.",
            },
            status=404,
        )
    firm, email = named
    if request.method == "POST":
        # One-click unsubscribe posts "List-Unsubscribe=One-Click" and nothing else.
        subscribe = request.POST.get("action") == "subscribe"
        approval_reminders.digest_subscription_set(firm=firm, email=email, subscribed=subscribe)
    return render(
        request,
        "budgeting/approvals/digest_unsubscribe.html",
        {
            "firm": firm,
            "email": email,
            "subscribed": approval_reminders.digest_subscribed(firm=firm, email=email),
            "changed": request.method == "POST",
        },
    )


@firm_view(Action.MANAGE_POLICIES)
@require_http_methods(["GET", "POST"])
def approval_chain_edit(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """The organisation's approval chain: ordered steps, and its external approvers."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    policy = ApprovalChain.objects.for_firm(request.firm).filter(organisation=organisation).first()
    members = [
        m
        for m in Membership.objects.for_firm(request.firm).select_related("user")
        if role_allows(m.role, Action.APPROVE)
    ]
    externals = list(
        ExternalApprover.objects.for_firm(request.firm).filter(
            organisation=organisation, active=True
        )
    )
    kwargs = {"form_kwargs": {"members": members, "externals": externals}}
    external_form = ExternalApproverForm(prefix="external")
    if request.method == "POST" and "external-email" in request.POST:
        external_form = ExternalApproverForm(request.POST, prefix="external")
        if external_form.is_valid():
            approvals.external_approver_register(
                firm=request.firm,
                organisation=organisation,
                email=external_form.cleaned_data["email"],
                name=external_form.cleaned_data["name"],
                user=request.user,
            )
            messages.success(request, "External approver registered.")
            return redirect("approval_chain_edit", request.firm.slug, organisation.pk)
        formset = ApprovalStepFormSet(initial=policy.steps if policy else None, **kwargs)
    elif request.method == "POST":
        formset = ApprovalStepFormSet(request.POST, **kwargs)
        if formset.is_valid():
            steps = [s for s in (form.step() for form in formset) if s is not None]
            try:
                approvals.approval_chain_update(
                    firm=request.firm,
                    organisation=organisation,
                    user=request.user,
                    steps=steps,
                    reason=request.POST.get("reason", "").strip() or "Approval chain changed",
                )
                messages.success(request, "Approval chain saved.")
                return redirect("approval_chain_edit", request.firm.slug, organisation.pk)
            except approvals.ApprovalError as exc:
                formset._non_form_errors = formset.error_class([str(exc)])
    else:
        formset = ApprovalStepFormSet(initial=policy.steps if policy else None, **kwargs)
    context = {
        "organisation": organisation,
        "policy": policy,
        "formset": formset,
        "external_form": external_form,
        "externals": externals,
        "extra_step": approvals.chain_extra_step(policy),
        "budget_policy": budget_policy_get(firm=request.firm, organisation=organisation),
        "versions": ApprovalChain.history.filter(
            firm_id=request.firm.pk, organisation_id=organisation.pk
        ).order_by("-history_date")[:20],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "budgeting/approvals/chain.html", context, status=status)
