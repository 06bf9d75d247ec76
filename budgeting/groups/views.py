"""The group screens: the firm's groups, creating and editing one, its consolidated report (with
the CSV and a drill-down to each member), its translation rates (entered or imported as CSV)
and its intercompany pairs. Thin views: the work is in budgeting.groups.services and
budgeting.groups.selectors."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from budgeting.groups import services
from budgeting.groups.exports import group_report_rows
from budgeting.groups.forms import GroupForm, MappingForm, RateForm, RatesFileForm
from budgeting.groups.selectors import (
    BASES,
    BASIS_LABELS,
    group_accounts,
    group_get_or_404,
    group_list,
    group_mapping_get_or_404,
    group_mappings,
    group_member_get_or_404,
    group_members,
    group_rate_get_or_404,
    group_rates,
    group_report_load,
    group_reporting_month,
)
from budgeting.variance.maths import Section
from core.csv import csv_filename, csv_response
from core.months import add_months, month_key, parse_month
from tenants.models import ClientOrganisation
from tenants.roles import Action
from tenants.scoping import FirmRequest, firm_view

MONTH_CHOICES = 24


def _organisations(request: FirmRequest):
    return ClientOrganisation.objects.for_firm(request.firm).filter(archived_at__isnull=True)


@require_GET
@firm_view(Action.VIEW)
def group_list_view(request: FirmRequest) -> HttpResponse:
    return render(request, "budgeting/groups/list.html", {"groups": group_list(firm=request.firm)})


def _group_form_page(request: FirmRequest, form: GroupForm, group=None, status: int = 200):
    return render(
        request, "budgeting/groups/form.html", {"form": form, "group": group}, status=status
    )


@firm_view(Action.MANAGE_CLIENTS)
def group_create_view(request: FirmRequest) -> HttpResponse:
    organisations = _organisations(request)
    if request.method != "POST":
        return _group_form_page(request, GroupForm(organisations=organisations))
    form = GroupForm(request.POST, organisations=organisations)
    if form.is_valid():
        try:
            group = services.group_create(
                firm=request.firm,
                name=form.cleaned_data["name"],
                reporting_currency=form.cleaned_data["reporting_currency"],
                organisation_ids=form.cleaned_data["members"],
                parent_id=form.cleaned_data["parent"],
                user=request.user,
            )
        except services.GroupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Group {group.name} created.")
            return redirect("group_report", request.firm.slug, group.pk)
    return _group_form_page(request, form, status=400)


@firm_view(Action.MANAGE_CLIENTS)
def group_edit_view(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    organisations = _organisations(request)
    if request.method != "POST":
        members = [m.organisation.pk for m in group_members(firm=request.firm, group=group)]
        form = GroupForm(
            organisations=organisations,
            initial={
                "name": group.name,
                "reporting_currency": group.reporting_currency,
                "members": members,
                "parent": group.parent_id or "",
            },
        )
        return _group_form_page(request, form, group)
    form = GroupForm(request.POST, organisations=organisations)
    if form.is_valid():
        try:
            services.group_update(
                firm=request.firm,
                group=group,
                name=form.cleaned_data["name"],
                reporting_currency=form.cleaned_data["reporting_currency"],
                organisation_ids=form.cleaned_data["members"],
                parent_id=form.cleaned_data["parent"],
                user=request.user,
            )
        except services.GroupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Group saved.")
            return redirect("group_report", request.firm.slug, group.pk)
    return _group_form_page(request, form, group, status=400)


def _report_params(request: FirmRequest, group) -> tuple[list, object, str, str]:
    members = group_members(firm=request.firm, group=group)
    latest = group_reporting_month(members)
    asked = (request.GET.get("period") or "").strip()
    period = parse_month(asked) or latest
    error = ""
    if asked and parse_month(asked) is None:
        error = f"“{asked[:20]}” is not a month: choose one from the list (as YYYY-MM)."
        period = latest
    elif latest is not None and period is not None and period > add_months(latest, 1):
        error = f"{period:%B %Y} has not closed for every member: choose {latest:%B %Y} or earlier."
        period = latest
    basis = request.GET.get("basis") or "budget"
    if basis not in BASES:
        basis = "budget"
    return members, period, basis, error


def _months(period):
    anchor = period
    return [add_months(anchor, -i) for i in range(MONTH_CHOICES)] if anchor else []


@require_GET
@firm_view(Action.VIEW)
def group_report(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    members, period, basis, error = _report_params(request, group)
    view = None
    if period is not None and not error:
        view = group_report_load(firm=request.firm, group=group, period=period, basis=basis)
    latest = group_reporting_month(members)
    return render(
        request,
        "budgeting/groups/report.html",
        {
            "group": group,
            "members": members,
            "view": view,
            "period": period,
            "basis": basis,
            "bases": BASIS_LABELS,
            "period_error": error,
            "months": _months(latest),
            "querystring": f"period={month_key(period)}&basis={basis}" if period else "",
        },
        status=400 if error else 200,
    )


@require_GET
@firm_view(Action.VIEW)
def group_report_csv(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    _members, period, basis, error = _report_params(request, group)
    if error or period is None:
        reason = error or "No member has synced yet: there is nothing to export."
        return render(request, "400.html", {"reason": reason}, status=400)
    view = group_report_load(
        firm=request.firm, group=group, period=period, basis=basis, with_narratives=False
    )
    if view.problem:
        return render(request, "400.html", {"reason": view.problem}, status=400)
    return csv_response(
        filename=csv_filename(group.name, "consolidated", month_key(period), basis),
        rows=group_report_rows(view),
    )


@require_GET
@firm_view(Action.VIEW)
def group_member_view(request: FirmRequest, group_id: int, organisation_id: int) -> HttpResponse:
    """One member's part of the consolidated report: its accounts translated, line by line."""
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    member = group_member_get_or_404(
        firm=request.firm, group=group, organisation_id=organisation_id
    )
    _members, period, basis, error = _report_params(request, group)
    view = None
    if period is not None and not error:
        view = group_report_load(
            firm=request.firm, group=group, period=period, basis=basis, with_narratives=False
        )
    rows = []
    if view is not None and view.consolidation is not None:
        start = view.year_start
        for section in Section:
            for row in (r for s in view.sections if s.key == section.value for r in s.rows):
                line, part = row.line, row.group_line.members.get(member.key)
                if part is None:
                    continue
                rows.append(
                    {
                        "section": section.label,
                        "line": line,
                        "actual": part.actual_between(first=period, last=period),
                        "budget": part.budget_between(first=period, last=period),
                        "ytd_actual": part.actual_between(first=start, last=period),
                        "ytd_budget": part.budget_between(first=start, last=period),
                    }
                )
    return render(
        request,
        "budgeting/groups/member.html",
        {
            "group": group,
            "member": member,
            "view": view,
            "rows": rows,
            "period": period,
            "basis": basis,
            "period_error": error,
        },
        status=400 if error else 200,
    )


# --- Rates ----------------------------------------------------------------------------------


def _rates_page(
    request: FirmRequest, group, *, rate_form=None, file_form=None, refused=(), status=200
):
    currencies = services.group_member_currencies(firm=request.firm, group=group)
    return render(
        request,
        "budgeting/groups/rates.html",
        {
            "group": group,
            "rates": group_rates(firm=request.firm, group=group),
            "currencies": sorted(currencies),
            "rate_form": rate_form or RateForm(currencies=currencies),
            "file_form": file_form or RatesFileForm(),
            "refused": refused,
        },
        status=status,
    )


@require_GET
@firm_view(Action.VIEW)
def group_rates_view(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    return _rates_page(request, group)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_rate_add(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    currencies = services.group_member_currencies(firm=request.firm, group=group)
    form = RateForm(request.POST, currencies=currencies)
    if form.is_valid():
        try:
            services.translation_rate_set(
                firm=request.firm,
                group=group,
                currency=form.cleaned_data["currency"],
                period=form.cleaned_data["month"],
                basis=form.cleaned_data["basis"],
                rate=form.cleaned_data["rate"],
                user=request.user,
            )
        except services.GroupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Rate saved.")
            return redirect("group_rates", request.firm.slug, group.pk)
    return _rates_page(request, group, rate_form=form, status=400)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_rates_import(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    form = RatesFileForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            count = services.translation_rates_import(
                firm=request.firm, group=group, text=form.cleaned_data["file"], user=request.user
            )
        except services.RatesFileRefused as exc:
            form.add_error(None, str(exc))
            return _rates_page(request, group, file_form=form, refused=exc.rows, status=400)
        messages.success(request, f"{count} rate{'s' if count != 1 else ''} imported.")
        return redirect("group_rates", request.firm.slug, group.pk)
    return _rates_page(request, group, file_form=form, status=400)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_rate_remove(request: FirmRequest, group_id: int, rate_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    rate = group_rate_get_or_404(firm=request.firm, group=group, rate_id=rate_id)
    services.translation_rate_remove(firm=request.firm, group=group, rate=rate, user=request.user)
    messages.success(request, "Rate removed.")
    return redirect("group_rates", request.firm.slug, group.pk)


@require_GET
@firm_view(Action.VIEW)
def group_rates_csv(request: FirmRequest, group_id: int) -> HttpResponse:
    """The rates in the file format the import reads, to edit and import again."""
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    rows = [list(services.RATE_COLUMNS)] + [
        [r.currency, month_key(r.period), r.basis, r.rate]
        for r in group_rates(firm=request.firm, group=group)
    ]
    return csv_response(filename=csv_filename(group.name, "translation-rates"), rows=rows)


# --- Intercompany pairs ---------------------------------------------------------------------


def _mappings_page(request: FirmRequest, group, *, form=None, status=200):
    accounts = group_accounts(firm=request.firm, group=group)
    return render(
        request,
        "budgeting/groups/mappings.html",
        {
            "group": group,
            "mappings": group_mappings(firm=request.firm, group=group),
            "form": form or MappingForm(accounts=accounts),
        },
        status=status,
    )


@require_GET
@firm_view(Action.VIEW)
def group_mappings_view(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    return _mappings_page(request, group)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_mapping_add(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    form = MappingForm(request.POST, accounts=group_accounts(firm=request.firm, group=group))
    if form.is_valid():
        try:
            services.intercompany_mapping_create(
                firm=request.firm,
                group=group,
                name=form.cleaned_data["name"],
                income_account_id=form.cleaned_data["income_account"],
                expense_account_id=form.cleaned_data["expense_account"],
                user=request.user,
            )
        except services.GroupError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Intercompany pair mapped.")
            return redirect("group_mappings", request.firm.slug, group.pk)
    return _mappings_page(request, group, form=form, status=400)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_delete_view(request: FirmRequest, group_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    name = services.group_delete(firm=request.firm, group=group, user=request.user)
    messages.success(
        request, f"Group deleted: {name}. Its organisations and their figures are unchanged."
    )
    return redirect("group_list", request.firm.slug)


@require_POST
@firm_view(Action.MANAGE_CLIENTS)
def group_mapping_remove(request: FirmRequest, group_id: int, mapping_id: int) -> HttpResponse:
    group = group_get_or_404(firm=request.firm, group_id=group_id)
    mapping = group_mapping_get_or_404(firm=request.firm, group=group, mapping_id=mapping_id)
    services.intercompany_mapping_remove(
        firm=request.firm, group=group, mapping=mapping, user=request.user
    )
    messages.success(request, "Intercompany pair removed.")
    return redirect("group_mappings", request.firm.slug, group.pk)
