"""Publishing to Xero: download a Budget Manager import file. Thin: the work is in
budgeting.publishing_services."""

from __future__ import annotations

from django.http import HttpResponse

from budgeting.models_approvals import BudgetPublication
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
