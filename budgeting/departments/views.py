"""Drafts by department: the draft's departments (assign, reassign, withdraw, reopen, the gap
and its explanations), a department's page for its manager in the app, and the manager's signed
link (GET shows, only POST changes). Thin: the rules are in budgeting.departments.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scope

from budgeting.departments import services
from budgeting.departments.forms import (
    DepartmentAssignForm,
    DepartmentLineEditForm,
    GapExplainForm,
)
from budgeting.departments.models import DepartmentAssignment
from budgeting.departments.selectors import (
    assignment_get_or_404,
    assignment_list,
    department_lines,
    department_submission_problems,
    draft_gaps,
    draft_options,
)
from budgeting.drafts.selectors import draft_get_or_404
from budgeting.ledger.models import Account
from core.counters import counter_increment
from tenants.http import client_ip
from tenants.models import Membership
from tenants.roles import Action, role_allows
from tenants.scoping import FirmRequest, firm_view, get_firm_object_or_404

# Department link requests per client address per minute (GET and POST together).
LINK_RATE = 30


def _assign_form(request: FirmRequest, draft, data=None) -> DepartmentAssignForm:
    members = list(
        Membership.objects.for_firm(request.firm).select_related("user").order_by("user__email")
    )
    return DepartmentAssignForm(
        data, options=draft_options(firm=request.firm, draft=draft), members=members
    )


def _departments_page(request: FirmRequest, organisation, draft, *, form=None, status=200):
    may_prepare = role_allows(request.membership.role, Action.PREPARE_DRAFTS)
    context = {
        "organisation": organisation,
        "draft": draft,
        "assignments": assignment_list(firm=request.firm, draft=draft),
        "gaps": draft_gaps(firm=request.firm, draft=draft),
        "problems": department_submission_problems(firm=request.firm, draft=draft),
        "may_prepare": may_prepare,
        "editable": may_prepare and draft.status == draft.Status.DRAFT,
        "form": form or _assign_form(request, draft),
    }
    return render(request, "budgeting/departments/draft.html", context, status=status)


@firm_view(Action.VIEW)
@require_GET
def draft_departments(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    return _departments_page(request, organisation, draft)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def department_assign(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    form = _assign_form(request, draft, request.POST)
    if form.is_valid():
        try:
            assignment = services.department_assign(
                firm=request.firm,
                draft=draft,
                option=form.chosen_option(),
                user=request.user,
                manager_user=form.manager_user(),
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
            )
        except services.DepartmentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"{assignment.tracking_option.name} assigned to {assignment.manager_label}: "
                "their link is on its way by email.",
            )
            return redirect("draft_departments", request.firm.slug, organisation.pk, draft.pk)
    return _departments_page(request, organisation, draft, form=form, status=400)


def _assignment_action(action):
    """A POST on one assignment of the draft's departments screen, back to the screen."""

    @firm_view(Action.PREPARE_DRAFTS)
    @require_POST
    def view(request: FirmRequest, organisation_id: int, draft_id: int, assignment_id: int):
        organisation, draft = draft_get_or_404(
            firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
        )
        assignment = assignment_get_or_404(
            firm=request.firm, draft=draft, assignment_id=assignment_id
        )
        try:
            messages.success(request, action(request, assignment))
        except services.DepartmentError as exc:
            messages.error(request, str(exc))
        return redirect("draft_departments", request.firm.slug, organisation.pk, draft.pk)

    view.__name__ = action.__name__
    return view


def _withdraw(request: FirmRequest, assignment: DepartmentAssignment) -> str:
    services.department_withdraw(firm=request.firm, assignment=assignment, user=request.user)
    return f"{assignment.tracking_option.name} withdrawn: its links no longer work."


def _reopen(request: FirmRequest, assignment: DepartmentAssignment) -> str:
    services.department_reopen(firm=request.firm, assignment=assignment, user=request.user)
    return f"{assignment.tracking_option.name} reopened: its manager gets a new link."


def _resend(request: FirmRequest, assignment: DepartmentAssignment) -> str:
    services.department_link_resend(firm=request.firm, assignment=assignment, user=request.user)
    return f"A new link is on its way to {assignment.manager_email}."


department_withdraw = _assignment_action(_withdraw)
department_reopen = _assignment_action(_reopen)
department_resend = _assignment_action(_resend)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def department_gap_explain(
    request: FirmRequest, organisation_id: int, draft_id: int, account_id: int
):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    account = get_firm_object_or_404(
        Account, firm=request.firm, pk=account_id, organisation=organisation
    )
    form = GapExplainForm(request.POST)
    if form.is_valid():
        try:
            note = services.department_gap_explain(
                firm=request.firm,
                draft=draft,
                account=account,
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
            messages.success(
                request,
                f"{account.name}: gap explained."
                if note
                else f"{account.name}: explanation removed.",
            )
        except services.DepartmentError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("draft_departments", request.firm.slug, organisation.pk, draft.pk)


# --- The manager's page ------------------------------------------------------------------------


def _edit_context(firm, assignment, *, form=None, action_url: str, in_app: bool) -> dict:
    draft = assignment.draft
    lines = department_lines(firm=firm, draft=draft, option=assignment.tracking_option)
    periods = sorted({b.period for line in lines for b in line.balances.all()})
    return {
        "organisation": draft.organisation,
        "draft": draft,
        "assignment": assignment,
        "lines": lines,
        "periods": periods,
        "form": form or DepartmentLineEditForm(lines=lines),
        "action_url": action_url,
        "in_app": in_app,
        "editable": assignment.status == DepartmentAssignment.Status.ASSIGNED
        and draft.figures_editable,
    }


def _manager_post(request, firm, assignment, user, action_url: str, in_app: bool):
    """Edit a figure or mark the department done; the page again, or a 400 saying why not."""
    if request.POST.get("action") == "done":
        try:
            services.department_done(firm=firm, assignment=assignment, user=user)
        except services.DepartmentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Thank you: the firm sees your department as done.")
        return redirect(action_url)
    lines = department_lines(firm=firm, draft=assignment.draft, option=assignment.tracking_option)
    form = DepartmentLineEditForm(request.POST, lines=lines)
    if form.is_valid():
        try:
            line = services.department_line_edit(
                firm=firm,
                assignment=assignment,
                line=form.chosen_line(),
                period=form.chosen_period(),
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                user=user,
            )
        except services.DepartmentError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{line.account.name}: {form.chosen_period():%B %Y} changed.")
            return redirect(action_url)
    assignment.refresh_from_db()
    context = _edit_context(firm, assignment, form=form, action_url=action_url, in_app=in_app)
    return render(request, "budgeting/departments/edit.html", context, status=400)


@firm_view(Action.VIEW)
@require_http_methods(["GET", "POST"])
def department_detail(
    request: FirmRequest, organisation_id: int, draft_id: int, assignment_id: int
):
    """A department's lines for its manager, a member, in the app; the draft's preparers see
    (and may edit) it too. Anyone else gets a 404, as for another firm's."""
    _organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    assignment = assignment_get_or_404(firm=request.firm, draft=draft, assignment_id=assignment_id)
    is_manager = assignment.manager_user_id == request.user.pk
    if not assignment.is_active or not (
        is_manager or role_allows(request.membership.role, Action.PREPARE_DRAFTS)
    ):
        raise Http404("No such department.")
    url = reverse(
        "department_detail", args=[request.firm.slug, organisation_id, draft.pk, assignment.pk]
    )
    if request.method == "POST":
        return _manager_post(request, request.firm, assignment, request.user, url, True)
    context = _edit_context(request.firm, assignment, action_url=url, in_app=True)
    return render(request, "budgeting/departments/edit.html", context)


def _problem(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return render(
        request,
        "budgeting/approvals/link_problem.html",
        {"title": title, "message": message},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def department_link(request: HttpRequest, token: str) -> HttpResponse:
    """A manager's emailed link. The firm comes from the token, not the URL or the session.
    GET shows the department and changes nothing (mail scanners follow links)."""
    key = f"department-link-rate:{client_ip(request) or 'unknown'}"
    if counter_increment(key, timeout=60) > LINK_RATE:
        return _problem(
            request, "Too many attempts", "Wait a minute, then open the link again.", 429
        )
    signed_in = request.user if request.user.is_authenticated else None
    try:
        link = services.department_link_read(token=token, signed_in=signed_in)
    except services.DepartmentLinkProblem as problem:
        return _problem(request, problem.title, str(problem), problem.status)
    url = reverse("department_link", args=[token])
    with scope(firm=link.firm):
        if request.method == "POST":
            return _manager_post(request, link.firm, link.assignment, link.editor, url, False)
        context = _edit_context(link.firm, link.assignment, action_url=url, in_app=False)
        return render(request, "budgeting/departments/edit.html", context)
