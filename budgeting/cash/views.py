"""The cash screens: an organisation's closing cash per month, actual and projected, with its
chart, low point and threshold; its CSV; and setting the threshold. Thin views: the work is in
budgeting.cash.selectors and budgeting.cash.services."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from budgeting.cash import services
from budgeting.cash.charts import cash_svg
from budgeting.cash.exports import cash_rows
from budgeting.cash.forms import CashThresholdForm
from budgeting.cash.selectors import cash_view_load
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view


def _page(request: FirmRequest, organisation, form=None, status=200) -> HttpResponse:
    view = cash_view_load(firm=request.firm, organisation=organisation)
    if form is None:
        form = CashThresholdForm(initial={"threshold": view.setting.threshold})
    return render(
        request,
        "budgeting/cash/view.html",
        {
            "organisation": organisation,
            "view": view,
            "projection": view.projection,
            "chart": cash_svg(view=view),
            "form": form,
        },
        status=status,
    )


@require_GET
@firm_view(Action.VIEW)
def cash_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return _page(request, organisation)


@require_GET
@firm_view(Action.VIEW)
def cash_view_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    view = cash_view_load(firm=request.firm, organisation=organisation)
    first = view.months[0].period if view.months else None
    return csv_response(
        filename=csv_filename(organisation.name, "cash", first), rows=cash_rows(view)
    )


@require_POST
@firm_view(Action.MANAGE_POLICIES)
def cash_threshold_edit(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    form = CashThresholdForm(request.POST)
    if not form.is_valid():
        return _page(request, organisation, form=form, status=400)
    try:
        services.cash_threshold_set(
            firm=request.firm,
            organisation=organisation,
            threshold=form.cleaned_data["threshold"],
            user=request.user,
        )
    except services.CashSettingInvalid as exc:
        form.add_error("threshold", str(exc))
        return _page(request, organisation, form=form, status=400)
    messages.success(request, "Cash threshold saved.")
    return redirect("cash_view", request.firm.slug, organisation.pk)
