"""Report packs on an organisation's screens: the list with each sending's state, build now,
send now, download the PDF, the schedule; the firm's branding. Thin: the work is in
budgeting.packs.services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from budgeting.packs import services
from budgeting.packs.forms import PackBrandingForm, PackScheduleForm
from budgeting.packs.models import PackBranding, PackDelivery, ReportPack
from budgeting.packs.selectors import (
    PackUnavailable,
    pack_recipients,
    pack_schedule_get,
    report_pack_list,
    report_pack_period,
)
from core.csv import csv_filename, csv_response
from tenants.models import Membership
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)


def _member_choices(request: FirmRequest) -> list[tuple[int, str]]:
    return [
        (m.user_id, f"{m.user.display_name} ({m.user.email})")
        for m in Membership.objects.for_firm(request.firm)
        .select_related("user")
        .order_by("user__email")
    ]


def _schedule_form(request: FirmRequest, organisation, data=None) -> PackScheduleForm:
    schedule = pack_schedule_get(firm=request.firm, organisation=organisation)
    initial = {}
    if schedule is not None:
        initial = {
            "frequency": schedule.frequency,
            "send_day": schedule.send_day,
            "after_close": schedule.after_close,
            "members": schedule.member_ids,
            "external_emails": "\n".join(schedule.external_emails),
        }
    return PackScheduleForm(data, initial=initial, member_choices=_member_choices(request))


def _list_page(request: FirmRequest, organisation, schedule_form=None, status=200):
    schedule = pack_schedule_get(firm=request.firm, organisation=organisation)
    return render(
        request,
        "budgeting/packs/list.html",
        {
            "organisation": organisation,
            "packs": report_pack_list(firm=request.firm, organisation=organisation),
            "schedule": schedule,
            "recipients": pack_recipients(firm=request.firm, schedule=schedule),
            "next_period": report_pack_period(firm=request.firm, organisation=organisation),
            "schedule_form": schedule_form or _schedule_form(request, organisation),
        },
        status=status,
    )


@firm_view(Action.VIEW)
def report_pack_list_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return _list_page(request, organisation)


@firm_view(Action.VIEW)
def report_pack_list_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    rows = [
        [
            f"{pack.period:%Y-%m}",
            pack.get_state_display(),
            pack.built_at.isoformat() if pack.built_at else "",
            pack.figures.get("net_profit", {}).get("actual", ""),
            pack.figures.get("net_profit", {}).get("budget", ""),
            pack.figures.get("material", ""),
            "; ".join(
                f"{d.get_reason_display()}: {d.get_state_display()}" for d in pack.deliveries.all()
            ),
            pack.error,
        ]
        for pack in report_pack_list(firm=request.firm, organisation=organisation)
    ]
    header = [
        "Month",
        "State",
        "Built at",
        "Net profit actual",
        "Net profit budget",
        "Material variances",
        "Sendings",
        "Error",
    ]
    return csv_response(
        filename=csv_filename(organisation.name, "report-packs"), rows=[header, *rows]
    )


def report_pack_pdf_response(*, firm, organisation, pack_id: int) -> HttpResponse:
    """A built pack's PDF as a download: the screens' and the API's one way to serve it (404
    while it is building, when building failed, or for another organisation's pack)."""
    pack = get_firm_object_or_404(
        ReportPack, firm=firm, pk=pack_id, organisation=organisation, state=ReportPack.State.READY
    )
    response = HttpResponse(bytes(pack.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{pack.file_name}"'
    return response


@firm_view(Action.VIEW)
def report_pack_download(request: FirmRequest, organisation_id: int, pack_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    return report_pack_pdf_response(firm=request.firm, organisation=organisation, pack_id=pack_id)


def _period(raw: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(raw, "%Y-%m").date()
    except (TypeError, ValueError):
        return None


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def report_pack_build_view(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    latest = report_pack_period(firm=request.firm, organisation=organisation)
    period = _period(request.POST.get("period", "")) if request.POST.get("period") else latest
    if latest is None:
        messages.error(request, f"{organisation.name} has not been synced from Xero yet.")
        return redirect("report_pack_list", request.firm.slug, organisation.pk)
    if period is None or period > latest:
        messages.error(
            request,
            f"Choose a month up to {latest:%B %Y} (YYYY-MM): a later month is not complete.",
        )
        return redirect("report_pack_list", request.firm.slug, organisation.pk)
    try:
        services.report_pack_build(
            firm=request.firm,
            organisation=organisation,
            period=period,
            user=request.user,
            reason="Built by hand",
        )
        messages.success(request, f"The pack for {period:%B %Y} is built.")
    except PackUnavailable as exc:
        messages.error(request, str(exc))
    return redirect("report_pack_list", request.firm.slug, organisation.pk)


@firm_view(Action.PREPARE_DRAFTS)
@require_POST
def report_pack_send_view(request: FirmRequest, organisation_id: int, pack_id: int):
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    pack = get_firm_object_or_404(
        ReportPack,
        firm=request.firm,
        pk=pack_id,
        organisation=organisation,
        state=ReportPack.State.READY,
    )
    schedule = pack_schedule_get(firm=request.firm, organisation=organisation)
    recipients = pack_recipients(firm=request.firm, schedule=schedule)
    delivery = services.pack_delivery_queue(
        firm=request.firm,
        pack=pack,
        reason=PackDelivery.Reason.MANUAL,
        recipients=recipients,
        user=request.user,
    )
    if delivery is None:
        messages.error(request, "Name the pack's recipients in the schedule below first.")
    else:
        messages.success(request, f"Sending the pack to {len(recipients)} recipient(s).")
    return redirect("report_pack_list", request.firm.slug, organisation.pk)


@firm_view(Action.MANAGE_POLICIES)
@require_POST
def pack_schedule_edit(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id
    )
    form = _schedule_form(request, organisation, data=request.POST)
    if form.is_valid():
        try:
            services.pack_schedule_update(
                firm=request.firm,
                organisation=organisation,
                frequency=form.cleaned_data["frequency"],
                send_day=form.cleaned_data["send_day"],
                after_close=form.cleaned_data["after_close"],
                member_ids=form.cleaned_data["members"],
                external_emails=form.cleaned_data["external_emails"],
                user=request.user,
            )
            messages.success(request, "Pack schedule saved.")
            return redirect("report_pack_list", request.firm.slug, organisation.pk)
        except services.PackError as exc:
            form.add_error(None, str(exc))
    return _list_page(request, organisation, schedule_form=form, status=400)


@firm_view(Action.MANAGE_POLICIES)
def pack_branding_edit(request: FirmRequest) -> HttpResponse:
    current = PackBranding.objects.for_firm(request.firm).filter(firm=request.firm).first()
    initial = {"display_name": current.display_name, "colour": current.colour} if current else {}
    form = PackBrandingForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.pack_branding_update(
                    firm=request.firm,
                    display_name=form.cleaned_data["display_name"],
                    colour=form.cleaned_data["colour"],
                    logo=form.cleaned_data["logo"],
                    remove_logo=form.cleaned_data["remove_logo"],
                    user=request.user,
                )
                messages.success(request, "Pack branding saved: the next pack built uses it.")
                return redirect("pack_branding_edit", firm_slug=request.firm.slug)
            except services.PackError as exc:
                form.add_error("logo" if "logo" in str(exc).lower() else None, str(exc))
        status = 400
    return render(
        request,
        "budgeting/packs/branding.html",
        {"form": form, "current": current},
        status=status,
    )


@firm_view(Action.VIEW)
def pack_branding_logo(request: FirmRequest) -> HttpResponse:
    current = get_firm_object_or_404(PackBranding, firm=request.firm, firm_id=request.firm.pk)
    if not current.logo:
        raise Http404("No logo.")
    return HttpResponse(bytes(current.logo), content_type=current.logo_content_type)
