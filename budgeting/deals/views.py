"""The sales pipeline screens: a client's pipeline versions, the current one (or any version)
beside the statistical forecast per revenue account and month with a chart, its deals, and the
upload form, whose refusals are listed row by row. Thin views: the work is in
budgeting.deals.services and budgeting.deals.selectors."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from budgeting.deals import services
from budgeting.deals.charts import pipeline_svg
from budgeting.deals.forms import SalesPipelineUploadForm
from budgeting.deals.maths import STAGE_PROBABILITIES
from budgeting.deals.selectors import (
    deal_list,
    pipeline_open_month,
    revenue_account_default,
    revenue_accounts,
    sales_pipeline_comparison,
    sales_pipeline_get_or_404,
    sales_pipeline_list,
    sample_first_close_month,
    tracking_option_first,
)
from core.csv import csv_filename, csv_response
from core.months import add_months, month_key
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view


def _form(request: FirmRequest, organisation, data=None, files=None) -> SalesPipelineUploadForm:
    firm = request.firm
    return SalesPipelineUploadForm(
        data,
        files,
        accounts=revenue_accounts(firm=firm, organisation=organisation),
        default=revenue_account_default(firm=firm, organisation=organisation),
        as_of=pipeline_open_month(firm=firm, organisation=organisation),
    )


def _page(request: FirmRequest, organisation, *, upload=None, form=None, errors=(), status=200):
    firm = request.firm
    comparison = sales_pipeline_comparison(firm=firm, organisation=organisation, upload=upload)
    charts = [
        (line, pipeline_svg(line=line, currency=comparison.currency, chart_id=f"pipeline-{n}"))
        for n, line in enumerate(comparison.lines, start=1)
    ]
    return render(
        request,
        "budgeting/deals/pipeline.html",
        {
            "organisation": organisation,
            "comparison": comparison,
            "charts": charts,
            "uploads": sales_pipeline_list(firm=firm, organisation=organisation),
            "deals": deal_list(firm=firm, upload=comparison.upload) if comparison.upload else [],
            "form": form or _form(request, organisation),
            "errors": errors,
            "errors_shown": errors[: services.SHOWN_ERRORS],
            "columns": services.COLUMNS,
            "stages": STAGE_PROBABILITIES.items(),
        },
        status=status,
    )


@firm_view(Action.VIEW)
def sales_pipeline_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return _page(request, organisation)


@firm_view(Action.VIEW)
def sales_pipeline_version(
    request: FirmRequest, organisation_id: int, upload_id: int
) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    upload = sales_pipeline_get_or_404(
        firm=request.firm, organisation=organisation, upload_id=upload_id
    )
    return _page(request, organisation, upload=upload)


@firm_view(Action.VIEW)
def sales_pipeline_sample(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """A CRM export to start from: every column, three example deals closing in the next
    financial year (the one an annual draft covers, so the draft shows their effect), on this
    client's main revenue account and (where it has one) a tracking option. It imports as it
    is, so a first-time user sees the whole path before shaping their own."""
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    firm = request.firm
    month = pipeline_open_month(firm=firm, organisation=organisation)
    # The deals close in months 2, 3 and 5 of the next financial year: inside the annual draft
    # and the rolling forecast's horizon alike.
    first = sample_first_close_month(firm=firm, organisation=organisation)
    account = revenue_account_default(firm=firm, organisation=organisation)
    option = tracking_option_first(firm=firm, organisation=organisation)
    code = (account.code or account.name) if account else ""
    rows = [
        services.COLUMNS,
        ("Example: fit-out contract", "80000.00", "Proposal", "", add_months(first, 1), "", code),
        (
            "Example: maintenance renewal",
            "12500.00",
            "",
            "75",
            add_months(first, 2),
            option.name if option else "",
            code,
        ),
        ("Example: framework tender", "150000.00", "Qualified", "", add_months(first, 4), "", ""),
    ]
    return csv_response(
        filename=csv_filename(organisation.name, "crm-export-sample", month_key(month)),
        rows=[[month_key(v) if isinstance(v, dt.date) else v for v in row] for row in rows],
    )


@require_POST
@firm_view(Action.PREPARE_DRAFTS)
def sales_pipeline_upload(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    form = _form(request, organisation, request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, organisation, form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        saved = services.sales_pipeline_import_csv(
            firm=request.firm,
            organisation=organisation,
            data=upload.read(),
            file_name=upload.name or "",
            user=request.user,
            as_of=form.cleaned_data["as_of"],
            default_account=form.cleaned_data["default_account"],
        )
    except services.DealImportError as exc:
        return _page(request, organisation, form=form, errors=exc.errors, status=400)
    messages.success(
        request,
        f"Sales pipeline v{saved.version} saved: {saved.deal_count} deals as of {saved.as_of:%b %Y}.",
    )
    return redirect("sales_pipeline", request.firm.slug, organisation.pk)
