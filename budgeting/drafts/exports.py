"""CSV exports of the forecast draft lists: an organisation's drafts and its forecast accuracy.
Each is the screen's list, through core.csv (formula guard) and named by core.csv.csv_filename."""

from __future__ import annotations

from django.http import HttpResponse

from budgeting.drafts.selectors import draft_list, forecast_accuracy
from budgeting.drafts.services import method_label
from core import clock
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view


@firm_view(Action.VIEW)
def draft_list_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    header = [
        "Draft",
        "Created",
        "By",
        "First month",
        "Months",
        "Status",
        "Lines",
        "Revision",
        "Policy version",
        "Currency",
    ]

    def line(draft):
        by = draft.created_by.display_name if draft.created_by else ""
        return [
            f"Forecast from {draft.first_period:%b %Y}",
            draft.created_at,
            by or f"{draft.get_source_display()} (automatic)",
            f"{draft.first_period:%Y-%m}",
            draft.horizon,
            draft.get_status_display(),
            draft.line_count,
            draft.revision,
            draft.policy_version or "default",
            draft.currency_code,
        ]

    drafts = draft_list(firm=request.firm, organisation=organisation)
    filename = csv_filename(organisation.name, "forecast-drafts", clock.today())
    return csv_response(filename=filename, rows=[header, *(line(d) for d in drafts)])


@firm_view(Action.VIEW)
def forecast_accuracy_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """Every scored line, then the totals by months ahead and by method, as on the screen."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    accuracy = forecast_accuracy(firm=request.firm, organisation=organisation)
    header = [
        "Group",
        "Account code",
        "Account",
        "Tracking option",
        "Months scored",
        "Typical error %",
        "Mean absolute error",
        "Within 80% range %",
        "Within 95% range %",
    ]

    def figures(a):
        return [
            a.scored,
            a.error_percent,
            a.mean_abs_error,
            a.within_80_percent,
            a.within_95_percent,
        ]

    rows = [header, ["All lines", "", "", "", *figures(accuracy.overall)]]
    for step, a in accuracy.by_step.items():
        rows.append([f"{step} month{'s' if step != 1 else ''} ahead", "", "", "", *figures(a)])
    for method, a in accuracy.by_method.items():
        rows.append([f"Method: {method_label(method)}", "", "", "", *figures(a)])
    for line in accuracy.lines:
        option = line.tracking_option.name if line.tracking_option else ""
        rows.append(["Line", line.account.code, line.account.name, option, *figures(line.accuracy)])
    filename = csv_filename(organisation.name, "forecast-accuracy", clock.today())
    return csv_response(filename=filename, rows=rows)
