"""Reads of report packs: what a pack shows (gathered from the packages below, whose selectors
do the maths), which packs are due, and the lists of the screens and the API."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils.safestring import SafeString, mark_safe

from budgeting.approvals.api import step_approvers_in_words
from budgeting.approvals.models import ApprovalRequest, ApprovalStep
from budgeting.drafts.charts import ForecastPoint, forecast_svg
from budgeting.drafts.models import Draft, ForecastRecord
from budgeting.drafts.selectors import draft_list
from budgeting.ledger.models import XeroOrganisation
from budgeting.packs.models import PackBranding, PackDelivery, PackSchedule, ReportPack
from budgeting.variance.charts import actual_vs_budget_svg
from budgeting.variance.selectors import VarianceReportView, variance_report_load
from core import clock
from core.months import Period, add_months, month_start
from tenants.models import ClientOrganisation, Firm, Membership

# The pack's forecast lists the lines that move the result most, and charts the first few: a
# 300-account group would otherwise make a pack of dozens of pages nobody reads.
FORECAST_LINES = 10
FORECAST_CHARTS = 3
DRAFTS_SHOWN = 5
DEFAULT_COLOUR = "#1F4E79"


# WeasyPrint draws inline SVG with its own renderer, which reads a <style> inside the <svg> but
# not the page's stylesheet: the charts' classes get their look here, in the firm's colour.
CHART_STYLE = (
    ".grid{{stroke:#ccc;stroke-width:1}}.grid.zero{{stroke:#888}}.now{{stroke:#888}}"
    ".axis{{font-size:10px;fill:#555}}"
    ".actual{{fill:none;stroke:{c};stroke-width:2}}"
    ".budget{{fill:none;stroke:#888;stroke-width:1.5;stroke-dasharray:5 3}}"
    "path.forecast{{fill:none;stroke:{c};stroke-width:2;stroke-dasharray:2 2}}"
    ".band-95{{fill:{c};fill-opacity:0.12;stroke:none}}"
    ".band-80{{fill:{c};fill-opacity:0.25;stroke:none}}"
)


def chart_styled(svg: str, *, colour: str) -> SafeString:
    """The chart with its style inside it (the colour is a checked #RRGGBB)."""
    if "<svg" not in svg:
        return mark_safe(svg)  # noqa: S308 - the charts' own "no figures" paragraph, escaped
    head, rest = svg.split(">", 1)
    style = CHART_STYLE.format(c=colour)
    return mark_safe(f"{head}><style>{style}</style>{rest}")  # noqa: S308 - our SVG and style


class PackUnavailable(Exception):
    """No pack can be built yet (the organisation was never synced): the message says why."""


@dataclass(frozen=True)
class Branding:
    name: str
    colour: str
    logo_data_uri: str  # "" without a logo


@dataclass
class ForecastLine:
    account_id: str  # Xero's AccountID
    code: str
    name: str
    points: list[ForecastPoint]
    method: str
    chart: SafeString | str = ""


@dataclass
class DraftState:
    draft: Draft
    steps: list[tuple[ApprovalStep, str]] = field(default_factory=list)  # (step, who may approve)
    request: ApprovalRequest | None = None


@dataclass
class PackContent:
    firm: Firm
    organisation: ClientOrganisation
    period: Period
    branding: Branding
    view: VarianceReportView
    currency: str
    net_profit_chart: SafeString
    material_rows: list
    forecast_made_at: Period | None
    forecast_lines: list[ForecastLine]
    drafts: list[DraftState]
    generated_on: dt.date

    @property
    def figures(self) -> dict:
        """What the pack said, kept on the pack for the list and the API."""
        total = self.view.report.net_profit.month
        return {
            "currency": self.currency,
            "net_profit": {
                "actual": str(total.actual),
                "budget": str(total.budget),
                "variance": str(total.variance),
            },
            "material": len(self.material_rows),
            "forecast_lines": len(self.forecast_lines),
            "drafts": [{"id": d.draft.pk, "status": d.draft.status} for d in self.drafts],
        }


def pack_branding(*, firm: Firm) -> Branding:
    import base64

    row = PackBranding.objects.for_firm(firm).filter(firm=firm).first()
    if row is None:
        return Branding(name=firm.name, colour=DEFAULT_COLOUR, logo_data_uri="")
    logo = ""
    if row.logo:
        logo = f"data:{row.logo_content_type};base64,{base64.b64encode(bytes(row.logo)).decode()}"
    return Branding(name=row.display_name or firm.name, colour=row.colour, logo_data_uri=logo)


def _forecast_lines(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    view: VarianceReportView,
    period: Period,
    colour: str,
) -> tuple[Period | None, list[ForecastLine]]:
    """The kept forecasts made after `period` closed (or the latest made before, while the
    close's forecast run is still to come), overall lines, for the accounts that weigh most."""
    records = ForecastRecord.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option__isnull=True, made_at__lte=period
    )
    made_at = records.order_by("-made_at").values_list("made_at", flat=True).first()
    if made_at is None:
        return None, []
    by_account: dict[int, list[ForecastRecord]] = {}
    for record in records.filter(made_at=made_at).select_related("account").order_by("target"):
        by_account.setdefault(record.account_id, []).append(record)
    # The material lines first, then the largest by this month's actual.
    rows = sorted(
        view.rows,
        key=lambda r: (not r.line.month.material, -abs(r.line.month.actual), r.line.code),
    )
    lines = []
    for row in rows:
        kept = by_account.get(row.account.pk)
        if not kept:
            continue
        lines.append(
            ForecastLine(
                account_id=row.line.account_id,
                code=row.line.code,
                name=row.line.name,
                method=kept[0].method,
                points=[
                    ForecastPoint(r.target, r.point, r.lo_80, r.hi_80, r.lo_95, r.hi_95)
                    for r in kept
                ],
            )
        )
        if len(lines) == FORECAST_LINES:
            break
    for i, line in enumerate(lines[:FORECAST_CHARTS]):
        balances = view.data.balances_of(line.account_id)
        actuals = balances.actuals.items() if balances is not None else ()
        history = sorted((p, v) for p, v in actuals if p <= period)[-12:]
        line.chart = chart_styled(
            forecast_svg(
                actuals=history,
                budgets={},
                forecast=line.points,
                title=f"{line.code} {line.name}: actuals and forecast",
                chart_id=f"pack-forecast-{i}",
                currency=view.data.currency,
            ),
            colour=colour,
        )
    return made_at, lines


def _drafts(*, firm: Firm, organisation: ClientOrganisation) -> list[DraftState]:
    states = []
    for draft in draft_list(firm=firm, organisation=organisation)[:DRAFTS_SHOWN]:
        state = DraftState(draft=draft)
        state.request = (
            ApprovalRequest.objects.for_firm(firm)
            .filter(draft=draft)
            .order_by("-submitted_at", "-pk")
            .first()
        )
        if state.request is not None:
            state.steps = [
                (step, step_approvers_in_words(firm=firm, step=step))
                for step in ApprovalStep.objects.for_firm(firm)
                .filter(request=state.request)
                .order_by("position")
            ]
        states.append(state)
    return states


def report_pack_content(
    *, firm: Firm, organisation: ClientOrganisation, period: Period
) -> PackContent:
    """Everything a pack shows for `period`, read through the packages' own selectors: the
    variance report (sections, subtotals, narratives, against the forecast budget), the net
    profit chart, the kept forecasts with their intervals, and the drafts with their approval."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    if profile is None:
        raise PackUnavailable(
            f"{organisation.name} has not been synced from Xero yet: sync it, then build the pack."
        )
    view = variance_report_load(
        firm=firm, organisation=organisation, profile=profile, period=period
    )
    currency = view.data.currency
    series = view.data.series(end_period=period)
    branding = pack_branding(firm=firm)
    made_at, forecast = _forecast_lines(
        firm=firm, organisation=organisation, view=view, period=period, colour=branding.colour
    )
    return PackContent(
        firm=firm,
        organisation=organisation,
        period=period,
        branding=branding,
        view=view,
        currency=currency,
        net_profit_chart=chart_styled(
            actual_vs_budget_svg(
                points=series,
                title=f"Net profit, actual against budget, {len(series)} months",
                chart_id="pack-net-profit",
                currency=currency,
            ),
            colour=branding.colour,
        ),
        material_rows=[r for r in view.rows if r.line.month.material],
        forecast_made_at=made_at,
        forecast_lines=forecast,
        drafts=_drafts(firm=firm, organisation=organisation),
        generated_on=clock.today(profile.timezone),
    )


def report_pack_period(*, firm: Firm, organisation: ClientOrganisation) -> Period | None:
    """The month a pack built now covers: the last closed month, else the last complete one."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    if profile is None:
        return None
    window = clock.month_window(
        zone_name=profile.timezone, period_lock_date=profile.period_lock_date
    )
    return window.reporting_month


def report_pack_list(*, firm: Firm, organisation: ClientOrganisation):
    return (
        ReportPack.objects.for_firm(firm)
        .filter(organisation=organisation)
        .defer("pdf", "html")
        .select_related("organisation")
        .prefetch_related("deliveries")
        .order_by("-period")
    )


def pack_schedule_get(*, firm: Firm, organisation: ClientOrganisation) -> PackSchedule | None:
    return PackSchedule.objects.for_firm(firm).filter(organisation=organisation).first()


def pack_recipients(*, firm: Firm, schedule: PackSchedule | None) -> list[str]:
    """The schedule's email addresses: its members who are still members, then the external
    addresses; each once."""
    if schedule is None:
        return []
    emails = list(
        Membership.objects.for_firm(firm)
        .filter(user_id__in=schedule.member_ids)
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    emails += [e for e in schedule.external_emails if e.lower() not in {m.lower() for m in emails}]
    return emails


def quarter_ends(financial_year_end_month: int) -> set[int]:
    """The months (1-12) that end a quarter of a financial year ending in that month."""
    return {(financial_year_end_month - 1 - 3 * i) % 12 + 1 for i in range(4)}


def pack_schedule_due_period(
    *, schedule: PackSchedule, profile: XeroOrganisation, today: dt.date
) -> Period | None:
    """The period whose scheduled pack is due on `today` (the organisation's date), or None.

    Monthly: the month before today's, from its `send_day` on. Quarterly: the same, only when
    that month ends a quarter of the organisation's financial year."""
    if schedule.frequency == PackSchedule.Frequency.OFF or today.day < schedule.send_day:
        return None
    period = add_months(month_start(today), -1)
    if schedule.frequency == PackSchedule.Frequency.QUARTERLY and period.month not in (
        quarter_ends(profile.financial_year_end_month)
    ):
        return None
    return period


def deliveries_due(*, firm: Firm, now: dt.datetime) -> list[tuple[PackSchedule, Period]]:
    """Each scheduled organisation whose pack for its due period has not gone out on the
    schedule yet."""
    due = []
    schedules = (
        PackSchedule.objects.for_firm(firm)
        .exclude(frequency=PackSchedule.Frequency.OFF)
        .filter(organisation__archived_at__isnull=True)
        .select_related("organisation")
    )
    profiles = {
        p.organisation_id: p
        for p in XeroOrganisation.objects.for_firm(firm).filter(
            organisation_id__in=[s.organisation_id for s in schedules]
        )
    }
    for schedule in schedules:
        profile = profiles.get(schedule.organisation_id)
        if profile is None:
            continue
        today = now.astimezone(clock.xero_zone(profile.timezone)).date()
        period = pack_schedule_due_period(schedule=schedule, profile=profile, today=today)
        if period is None:
            continue
        already = PackDelivery.objects.for_firm(firm).filter(
            organisation=schedule.organisation,
            pack__period=period,
            reason=PackDelivery.Reason.SCHEDULE,
        )
        if not already.exists():
            due.append((schedule, period))
    return due
