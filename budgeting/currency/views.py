"""The budget-rates page of an organisation: the rates the budget assumed (typed in, imported
from a CSV file, or averaged from a past period of its own documents) beside the actual rates
of its synced documents, month by month."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from budgeting.currency import selectors, services
from budgeting.currency.forms import AverageRateForm, BudgetRateForm, BudgetRatesFileForm
from budgeting.ledger.models import XeroOrganisation
from core.clock import today
from core.csv import csv_filename, csv_response
from core.months import add_months, month_key, month_start
from tenants.models import ClientOrganisation
from tenants.roles import Action
from tenants.scoping import FirmRequest, client_organisation_get_or_404, firm_view

ACTUAL_MONTHS = 12
TEMPLATE = "budgeting/currency/rates.html"


def _organisation(request: FirmRequest, organisation_id: int):
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    profile = XeroOrganisation.objects.for_firm(request.firm).filter(organisation=organisation)
    return organisation, profile.first()


def _page(
    request: FirmRequest,
    organisation: ClientOrganisation,
    profile: XeroOrganisation | None,
    *,
    status: int = 200,
    **forms,
) -> HttpResponse:
    context: dict[str, object] = {"organisation": organisation, "profile": profile}
    if profile is not None:
        base = profile.base_currency
        currencies = selectors.currencies_used(
            firm=request.firm, organisation=organisation, base_currency=base
        )
        last = month_start(today(profile.timezone or None))
        context.update(
            base_currency=base,
            currencies=currencies,
            rates=selectors.budget_rates_list(firm=request.firm, organisation=organisation),
            budget_months=selectors.budget_months(firm=request.firm, organisation=organisation),
            actual_rates=selectors.actual_rates(
                firm=request.firm,
                organisation=organisation,
                base_currency=base,
                first=add_months(last, 1 - ACTUAL_MONTHS),
                last=last,
            ),
            entered_form=forms.get("entered") or BudgetRateForm(currencies=currencies),
            file_form=forms.get("file") or BudgetRatesFileForm(),
            average_form=forms.get("average") or AverageRateForm(currencies=currencies),
            refused=forms.get("refused", []),
        )
    return render(request, TEMPLATE, context, status=status)


def _back(request: FirmRequest, organisation: ClientOrganisation) -> HttpResponse:
    return redirect("budget_rates", firm_slug=request.firm.slug, organisation_id=organisation.pk)


def _synced(request: FirmRequest, organisation_id: int):
    organisation, profile = _organisation(request, organisation_id)
    if profile is None:
        raise Http404("Not synced from Xero yet.")
    return organisation, profile


@firm_view(Action.VIEW)
def budget_rates(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation, profile = _organisation(request, organisation_id)
    return _page(request, organisation, profile)


@firm_view(Action.PREPARE_DRAFTS)
def budget_rate_enter(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation, profile = _synced(request, organisation_id)
    if request.method != "POST":
        return _back(request, organisation)
    currencies = selectors.currencies_used(
        firm=request.firm, organisation=organisation, base_currency=profile.base_currency
    )
    form = BudgetRateForm(request.POST, currencies=currencies)
    if form.is_valid():
        data = form.cleaned_data
        refusal = services.currency_refusal(
            currency=data["currency"],
            base_currency=profile.base_currency,
            known=currencies,
            period=data["month"],
            months=selectors.budget_months(firm=request.firm, organisation=organisation),
        )
        if refusal is None:
            services.budget_rate_set(
                firm=request.firm,
                organisation=organisation,
                currency=data["currency"],
                period=data["month"],
                rate=data["rate"],
            )
            messages.success(request, f"Budget rate for {data['currency']} saved.")
            return _back(request, organisation)
        form.add_error("month" if data["month"] else "currency", refusal)
    return _page(request, organisation, profile, status=400, entered=form)


@firm_view(Action.PREPARE_DRAFTS)
def budget_rates_upload(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation, profile = _synced(request, organisation_id)
    if request.method != "POST":
        return _back(request, organisation)
    form = BudgetRatesFileForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, organisation, profile, status=400, file=form)
    result = services.budget_rates_import(
        firm=request.firm,
        organisation=organisation,
        base_currency=profile.base_currency,
        text=form.cleaned_data["file"],
    )
    if result.refused:
        messages.warning(
            request,
            f"{len(result.saved)} rate{'s' if len(result.saved) != 1 else ''} saved; "
            f"{len(result.refused)} row{'s' if len(result.refused) != 1 else ''} refused.",
        )
        return _page(request, organisation, profile, status=400, refused=result.refused)
    messages.success(request, f"{len(result.saved)} budget rates imported.")
    return _back(request, organisation)


@firm_view(Action.PREPARE_DRAFTS)
def budget_rate_average(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation, profile = _synced(request, organisation_id)
    if request.method != "POST":
        return _back(request, organisation)
    currencies = selectors.currencies_used(
        firm=request.firm, organisation=organisation, base_currency=profile.base_currency
    )
    form = AverageRateForm(request.POST, currencies=currencies)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rate = services.budget_rate_from_average(
                firm=request.firm,
                organisation=organisation,
                base_currency=profile.base_currency,
                currency=data["currency"],
                first=data["first"],
                last=data["last"],
            )
        except services.BudgetRateRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Budget rate for {rate.currency} set to {rate.rate}.")
            return _back(request, organisation)
    return _page(request, organisation, profile, status=400, average=form)


@firm_view(Action.PREPARE_DRAFTS)
def budget_rate_delete(
    request: FirmRequest, organisation_id: int, budget_rate_id: int
) -> HttpResponse:
    organisation, _profile = _organisation(request, organisation_id)
    rate = selectors.budget_rate_get_or_none(
        firm=request.firm, organisation=organisation, rate_id=budget_rate_id
    )
    if rate is None:
        raise Http404("No such budget rate.")
    if request.method == "POST":
        services.budget_rate_remove(firm=request.firm, organisation=organisation, budget_rate=rate)
        messages.success(request, f"Budget rate {rate} removed.")
    return _back(request, organisation)


@firm_view(Action.VIEW)
def budget_rates_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """The rates as the import reads them: currency, month, rate (and where each came from)."""
    organisation, _profile = _organisation(request, organisation_id)
    rows = [["currency", "month", "rate", "source", "note"]]
    rows += [
        [
            r.currency,
            month_key(r.period) if r.period else "",
            r.rate,
            r.get_source_display(),
            r.note,
        ]
        for r in selectors.budget_rates_list(firm=request.firm, organisation=organisation)
    ]
    return csv_response(filename=csv_filename(organisation.name, "budget-rates"), rows=rows)
