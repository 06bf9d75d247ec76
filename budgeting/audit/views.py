"""The audit log of a client organisation: who changed what, when and why, filterable and
exportable to CSV. Thin: the reads are in budgeting.audit.selectors."""

from __future__ import annotations

import dataclasses

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from budgeting.audit import services as rollback
from budgeting.audit.selectors import (
    AUDITED,
    AuditFilter,
    audit_entries_iter,
    audit_entries_load,
    audit_headers,
    audit_users,
)
from budgeting.drafts.models import Draft
from budgeting.drafts.selectors import draft_get_or_404
from core import clock
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    model = forms.ChoiceField(required=False, label="What")
    user = forms.TypedChoiceField(required=False, label="Who", coerce=int, empty_value=None)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "Everything")] + [
            (key, model._meta.verbose_name_plural.capitalize()) for key, model in AUDITED.items()
        ]
        self.fields["user"].choices = [("", "Anyone")] + [(u.pk, u.display_name) for u in users]

    def audit_filter(self) -> AuditFilter:
        if not self.is_valid():
            return AuditFilter()
        data = self.cleaned_data
        return AuditFilter(
            model=data["model"] or "",
            user_id=data["user"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )


def _filter(request: FirmRequest, draft: Draft | None = None):
    form = AuditFilterForm(request.GET or None, users=audit_users(firm=request.firm))
    flt = form.audit_filter()
    if draft is not None:
        flt = dataclasses.replace(flt, draft_id=draft.pk)
    return form, flt


def _scope(request: FirmRequest, organisation_id: int, draft_id: int | None):
    if draft_id is None:
        return client_organisation_get_or_404(
            firm=request.firm, organisation_id=organisation_id
        ), None
    return draft_get_or_404(firm=request.firm, organisation_id=organisation_id, draft_id=draft_id)


@firm_view(Action.VIEW)
@require_GET
def audit_log(
    request: FirmRequest, organisation_id: int, draft_id: int | None = None
) -> HttpResponse:
    organisation, draft = _scope(request, organisation_id, draft_id)
    form, flt = _filter(request, draft)
    headers = audit_headers(firm=request.firm, organisation=organisation, flt=flt)
    page = Paginator(headers, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "organisation": organisation,
        "draft": draft,
        "form": form,
        "page": page,
        "entries": audit_entries_load(list(page.object_list)),
        "query": query.urlencode(),
    }
    return render(request, "budgeting/audit/log.html", context)


@firm_view(Action.VIEW)
@require_GET
def audit_log_csv(
    request: FirmRequest, organisation_id: int, draft_id: int | None = None
) -> HttpResponse:
    organisation, draft = _scope(request, organisation_id, draft_id)
    _form, flt = _filter(request, draft)
    entries = audit_entries_iter(firm=request.firm, organisation=organisation, flt=flt)

    def rows():
        yield [
            "When",
            "Who",
            "What",
            "Object",
            "Change",
            "Field",
            "Before",
            "After",
            "Why",
            "What happened",
        ]
        for e in entries:
            common = [
                e.when,
                e.who_email or "system",
                e.model_name,
                e.label,
                e.kind,
            ]
            if not e.changes:
                yield [*common, "", "", "", e.reason, e.sentence]
            for change in e.changes:
                yield [
                    *common,
                    change.label or change.field,
                    change.before,
                    change.after,
                    e.reason,
                    e.sentence,
                ]

    period = f"forecast-from-{draft.first_period:%Y-%m}" if draft else clock.today()
    filename = csv_filename(organisation.name, "audit-log", period)
    return csv_response(filename=filename, rows=rows(), streaming=True)


# --- Restoring an earlier version (a new, audited change) ------------------------------------


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def draft_restore_view(request: FirmRequest, organisation_id: int, draft_id: int):
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    revision = request.POST.get("revision", "")
    try:
        rollback.draft_restore(
            firm=request.firm,
            draft=draft,
            revision=int(revision) if revision.isdigit() else 0,
            user=request.user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(
            request,
            f"Revision {revision} restored as a new revision. If the draft was waiting for "
            "approval, approval starts again at the first step.",
        )
    except rollback.RollbackError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)


@firm_view(Action.MANAGE_POLICIES)
@require_POST
def approval_chain_restore_view(request: FirmRequest, organisation_id: int):
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    version = request.POST.get("version", "")
    try:
        rollback.approval_chain_restore(
            firm=request.firm,
            organisation=organisation,
            version=int(version) if version.isdigit() else 0,
            user=request.user,
        )
        messages.success(request, f"Version {version} of the approval chain restored.")
    except rollback.RollbackError as exc:
        messages.error(request, str(exc))
    return redirect("approval_chain_edit", request.firm.slug, organisation.pk)


@firm_view(Action.MANAGE_POLICIES)
@require_POST
def budget_policy_restore_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    version = request.POST.get("version", "")
    try:
        rollback.budget_policy_restore(
            firm=request.firm,
            organisation=organisation,
            version=int(version) if version.isdigit() else 0,
            user=request.user,
        )
        messages.success(
            request, f"Version {version} of the budget policy restored; open drafts checked again."
        )
    except rollback.RollbackError as exc:
        messages.error(request, str(exc))
    return redirect("budget_policy_edit", request.firm.slug, organisation.pk)
