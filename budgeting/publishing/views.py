"""Publishing to Xero: make an approved draft's Budget Manager import files and download one.
Thin: the work is in budgeting.publishing.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from budgeting.drafts.selectors import draft_get_or_404
from budgeting.publishing.models import BudgetPublication
from budgeting.publishing.services import PublicationError, draft_publish
from tenants.roles import Action
from tenants.scoping import FirmRequest, firm_view, get_firm_object_or_404


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
        messages.success(
            request,
            f"{len(made)} import file{'s' if len(made) != 1 else ''} made and emailed to you. "
            "Import each in Xero's Budget Manager; the next sync checks them.",
        )
    except PublicationError as exc:
        messages.error(request, str(exc))
    return redirect("draft_approval", request.firm.slug, organisation.pk, draft.pk)
