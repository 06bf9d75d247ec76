"""The alert screens of an organisation: its alerts (with the month to date), acknowledging and
snoozing one, the CSV of what was sent to whom, and the rules."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from budgeting.alerts import selectors, services
from budgeting.alerts.forms import AlertRuleForm
from budgeting.alerts.models import Alert, AlertRule
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)

SNOOZES = {"1h": dt.timedelta(hours=1), "1d": dt.timedelta(days=1), "7d": dt.timedelta(days=7)}


def _organisation(request: FirmRequest, organisation_id: int):
    return client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id, select_related=("xero_organisation",)
    )


@firm_view(Action.VIEW)
def alert_list(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    state = request.GET.get("state", "")
    return render(
        request,
        "budgeting/alerts/list.html",
        {
            "organisation": organisation,
            "alerts": selectors.alerts_list(
                firm=request.firm, organisation=organisation, state=state
            )[:200],
            "state": state,
            "states": Alert.State.choices,
            "month": selectors.month_to_date(firm=request.firm, organisation=organisation),
            "currency": getattr(
                getattr(organisation, "xero_organisation", None),
                "base_currency",
                organisation.base_currency,
            ),
            "rules": selectors.alert_rules_list(firm=request.firm, organisation=organisation),
            "not_fetched": selectors.documents_not_fetched(
                firm=request.firm, organisation=organisation
            ),
        },
    )


@firm_view(Action.VIEW)
def alert_list_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    alerts = selectors.alerts_list(
        firm=request.firm, organisation=organisation, state=request.GET.get("state", "")
    )
    return csv_response(
        filename=csv_filename(organisation.name, "alerts"),
        rows=selectors.alert_csv_rows(alerts.iterator(chunk_size=500)),
        streaming=True,
    )


@firm_view(Action.VIEW)
@require_POST
def alert_acknowledge(request: FirmRequest, organisation_id: int, alert_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    alert = get_firm_object_or_404(Alert, firm=request.firm, organisation=organisation, pk=alert_id)
    services.alert_acknowledge(firm=request.firm, alert=alert, user=request.user)
    messages.success(request, f"Acknowledged: {alert}.")
    return redirect("alert_list", firm_slug=request.firm.slug, organisation_id=organisation.pk)


@firm_view(Action.VIEW)
@require_POST
def alert_snooze(request: FirmRequest, organisation_id: int, alert_id: int) -> HttpResponse:
    from django.utils import timezone

    organisation = _organisation(request, organisation_id)
    alert = get_firm_object_or_404(Alert, firm=request.firm, organisation=organisation, pk=alert_id)
    span = SNOOZES.get(request.POST.get("for", ""))
    if span is None:
        messages.error(request, "Choose how long to snooze: an hour, a day or a week.")
    else:
        services.alert_snooze(
            firm=request.firm, alert=alert, user=request.user, until=timezone.now() + span
        )
        messages.success(request, f"Snoozed: {alert}.")
    return redirect("alert_list", firm_slug=request.firm.slug, organisation_id=organisation.pk)


def _rule_page(request: FirmRequest, organisation, rule: AlertRule | None) -> HttpResponse:
    initial = AlertRuleForm.initial_of(rule) if rule else {"active": True}
    form = AlertRuleForm(
        request.POST or None, initial=initial, firm=request.firm, organisation=organisation
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.alert_rule_save(
                firm=request.firm,
                organisation=organisation,
                rule=rule,
                user=request.user,
                **form.arguments(),
            )
        except services.AlertRuleInvalid as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Alert rule saved: {saved.name}.")
            return redirect(
                "alert_rules", firm_slug=request.firm.slug, organisation_id=organisation.pk
            )
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "budgeting/alerts/rules.html",
        {
            "organisation": organisation,
            "form": form,
            "rule": rule,
            "rules": selectors.alert_rules_list(firm=request.firm, organisation=organisation),
        },
        status=status,
    )


@firm_view(Action.MANAGE_POLICIES)
def alert_rules(request: FirmRequest, organisation_id: int) -> HttpResponse:
    return _rule_page(request, _organisation(request, organisation_id), None)


@firm_view(Action.MANAGE_POLICIES)
def alert_rule_edit(request: FirmRequest, organisation_id: int, rule_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    return _rule_page(request, organisation, _rule(request, organisation, rule_id))


def _rule(request: FirmRequest, organisation, rule_id: int) -> AlertRule:
    return get_firm_object_or_404(
        AlertRule, firm=request.firm, organisation=organisation, pk=rule_id, deleted_at=None
    )


@firm_view(Action.MANAGE_POLICIES)
@require_POST
def alert_rule_delete(request: FirmRequest, organisation_id: int, rule_id: int) -> HttpResponse:
    organisation = _organisation(request, organisation_id)
    rule = services.alert_rule_delete(
        firm=request.firm, rule=_rule(request, organisation, rule_id), user=request.user
    )
    messages.success(request, f"Alert rule deleted: {rule.name}. Its past alerts stay listed.")
    return redirect("alert_rules", firm_slug=request.firm.slug, organisation_id=organisation.pk)
