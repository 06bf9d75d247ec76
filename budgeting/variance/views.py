"""The variance screens: an organisation's report, its CSV, an account's chart and narrative,
the transactions behind a figure, and the settings for materiality and narratives."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from budgeting.currency.sentences import currency_sentences
from budgeting.ledger.models import Account, TrackingOption, XeroOrganisation
from budgeting.ledger.selectors import profile_month_window
from budgeting.variance import services as variance_services
from budgeting.variance.charts import actual_vs_budget_svg, actual_vs_budget_table
from budgeting.variance.forms import MaterialityForm, NarrativeProviderForm
from budgeting.variance.maths import Period
from budgeting.variance.models import MaterialitySetting
from budgeting.variance.selectors import (
    ACCOUNT_CLASSES,
    ReportFilters,
    VarianceReportView,
    driver_remainders_for,
    transaction_lines_for,
    transactions_synced_from,
    variance_data_load,
    variance_report_load,
)
from core.csv import csv_filename, csv_response
from core.months import add_months, parse_month
from tenants.models import ClientOrganisation
from tenants.roles import Action
from tenants.scoping import (
    FirmRequest,
    client_organisation_get_or_404,
    firm_view,
    get_firm_object_or_404,
)

MONTH_CHOICES = 24


@dataclass(frozen=True)
class ReportParams:
    organisation: ClientOrganisation
    profile: XeroOrganisation | None
    period: Period
    last_closed: Period | None
    tracking_option: TrackingOption | None
    options: list[TrackingOption]
    filters: ReportFilters
    # Why the month asked for is refused (not a month, or not begun): shown on the Month field.
    period_error: str = ""

    def query(self, **overrides) -> dict[str, object]:
        """The report's GET parameters, for links that keep the reader's choices."""
        values: dict[str, object] = {"period": f"{self.period:%Y-%m}"}
        if self.tracking_option is not None:
            values["tracking"] = self.tracking_option.pk
        if self.filters.account_classes:
            values["class"] = sorted(self.filters.account_classes)
        if self.filters.material_only:
            values["material"] = "1"
        values.update(overrides)
        return values

    @property
    def querystring(self) -> str:
        return urlencode(self.query(), doseq=True)

    @property
    def months(self) -> list[tuple[Period, str]]:
        anchor = add_months(self.last_closed, 1) if self.last_closed else self.period
        months = [add_months(anchor, -i) for i in range(MONTH_CHOICES)]
        if self.period not in months:
            months.insert(0, self.period)
        return [
            (m, f"{m:%B %Y}{' (open)' if anchor == m and self.last_closed else ''}") for m in months
        ]


def _profile(organisation: ClientOrganisation) -> XeroOrganisation | None:
    try:
        return organisation.xero_organisation
    except XeroOrganisation.DoesNotExist:
        return None


def _params(request: FirmRequest, organisation_id: int) -> ReportParams:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id, select_related=("xero_organisation",)
    )
    profile = _profile(organisation)
    window = profile_month_window(profile)
    last_closed = window.last_closed
    asked = (request.GET.get("period") or "").strip()
    period = parse_month(asked) or window.reporting_month
    period_error = ""
    if asked and parse_month(asked) is None:
        period_error = f"“{asked[:20]}” is not a month: choose one from the list (as YYYY-MM)."
    # The latest month with figures: the open month, or the one after Xero's lock date.
    latest = max(
        window.open_month, add_months(last_closed, 1) if last_closed else window.open_month
    )
    if asked and period_error == "" and period > latest:
        period_error = (
            f"{period:%B %Y} has not begun for {organisation.name}: choose "
            f"{latest:%B %Y} or an earlier month."
        )
    options = list(
        TrackingOption.objects.for_firm(request.firm)
        .filter(organisation=organisation)
        .select_related("category")
    )
    tracking = request.GET.get("tracking") or ""
    tracking_option = next((o for o in options if str(o.pk) == tracking), None)
    if tracking and tracking_option is None:
        raise Http404("No such tracking option.")
    classes = frozenset(c for c in request.GET.getlist("class") if c in ACCOUNT_CLASSES)
    return ReportParams(
        organisation=organisation,
        profile=profile,
        period=period,
        last_closed=last_closed,
        tracking_option=tracking_option,
        options=options,
        filters=ReportFilters(
            account_classes=classes, material_only=request.GET.get("material") == "1"
        ),
        # Refused, the page shows the month it would otherwise have shown in its picker only.
        period_error=period_error,
    )


def _month_refused(request: FirmRequest, params: ReportParams) -> HttpResponse:
    """A 400 that says what to do, for the downloads and drill-downs of a refused month."""
    return render(request, "400.html", {"reason": params.period_error}, status=400)


def _report(request: FirmRequest, params: ReportParams, **kwargs) -> VarianceReportView:
    return variance_report_load(
        firm=request.firm,
        organisation=params.organisation,
        profile=params.profile,
        period=params.period,
        tracking_option=params.tracking_option,
        filters=params.filters,
        **kwargs,
    )


@firm_view(Action.VIEW)
def variance_report(request: FirmRequest, organisation_id: int) -> HttpResponse:
    params = _params(request, organisation_id)
    report_url = reverse("variance_report", args=[request.firm.slug, params.organisation.pk])
    context: dict[str, object] = {
        "params": params,
        "organisation": params.organisation,
        "querystring": params.querystring,
        # Each row links to variance_account_detail (accounts/<id>/) and its transactions/:
        # joined here rather than reversed once per row, which dominated a 300-account page.
        "account_url": f"{report_url}accounts/",
    }
    if params.period_error:
        context.update(account_classes=ACCOUNT_CLASSES)
        return render(request, "budgeting/variance/report.html", context, status=400)
    if params.profile is not None:
        view = _report(request, params, with_currency=True)
        net_profit = view.data.series(end_period=params.period)
        context.update(
            view=view,
            currency=view.data.currency,
            currency_effects=[
                {
                    "row": row,
                    "sentences": currency_sentences(
                        split=row.currency.month,
                        account_name=row.line.name,
                        account_class=row.line.account_class,
                        base_currency=view.data.currency,
                    ),
                }
                for row in view.currency_rows
            ],
            account_classes=ACCOUNT_CLASSES,
            net_profit_chart=actual_vs_budget_svg(
                points=net_profit,
                title=f"Net profit, actual against budget, {len(net_profit)} months",
                chart_id="chart-net-profit",
                currency=view.data.currency,
                open_month=profile_month_window(params.profile).open_month,
            ),
            net_profit_table=actual_vs_budget_table(
                points=net_profit,
                caption="Net profit by month",
                currency=view.data.currency,
            ),
        )
    template = "budgeting/variance/report.html"
    # htmx swaps only the report body; a history restore (a reload from htmx's cache miss)
    # needs the whole page, and so does an organisation with no report yet (it says why).
    if (
        params.profile is not None
        and request.htmx
        and not request.htmx.boosted
        and not request.htmx.history_restore_request
    ):
        template += "#report-body"
    return render(request, template, context)


CSV_HEADER = [
    "Section",
    "Account code",
    "Account",
    "Account class",
    "Month actual",
    "Month budget",
    "Month variance",
    "Month variance %",
    "Month status",
    "Month material",
    "YTD actual",
    "YTD budget",
    "YTD variance",
    "YTD variance %",
    "YTD status",
    "YTD material",
    # Against the forecast budget beside the original, once there is one (blank before).
    "Month forecast",
    "Month variance vs forecast",
    "YTD forecast",
    "YTD variance vs forecast",
]


def variance_report_rows(view: VarianceReportView) -> list[list[str]]:
    """The report as rows of text: the CSV export and `manage.py variance_report` share it."""

    def figures(comparison) -> list[str]:
        return [
            str(comparison.actual),
            str(comparison.budget),
            str(comparison.variance),
            "" if comparison.percent is None else str(comparison.percent),
            comparison.status,
            "yes" if comparison.material else "no",
        ]

    def forecast(against) -> list[str]:
        if against is None:
            return ["", "", "", ""]
        return [
            str(against.month.budget),
            str(against.month.variance),
            str(against.year_to_date.budget),
            str(against.year_to_date.variance),
        ]

    rows = []
    for section in view.sections:
        for row in section.rows:
            line = row.line
            rows.append(
                [
                    section.label,
                    line.code,
                    line.name,
                    line.account_class,
                    *figures(line.month),
                    *figures(line.year_to_date),
                    *forecast(row.forecast),
                ]
            )
        total = section.total
        rows.append(
            [
                section.label,
                "",
                section.label if section.is_profit else f"Total {section.label}",
                "",
                *figures(total.month),
                *figures(total.year_to_date),
                *forecast(section.forecast_total),
            ]
        )
    return rows


@firm_view(Action.VIEW)
def variance_report_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    params = _params(request, organisation_id)
    if params.profile is None:
        raise Http404("This client has not been synced from Xero yet.")
    if params.period_error:
        return _month_refused(request, params)
    view = _report(request, params, with_narratives=False)
    option = params.tracking_option.name if params.tracking_option else ""
    filename = csv_filename(params.organisation.name, "variance", f"{params.period:%Y-%m}", option)
    rows = [
        ["Currency", view.data.currency, "Period", f"{params.period:%Y-%m}"],
        CSV_HEADER,
        *variance_report_rows(view),
    ]
    return csv_response(filename=filename, rows=rows)


CURRENCY_CSV_HEADER = [
    "Span",
    "Account code",
    "Account",
    "Account class",
    "Currency",
    "Foreign amount",
    "Actual",
    "Budget",
    "Variance",
    "Volume effect",
    "Rate effect",
    "Currency gains and losses",
    "Actual rate",
    "Budget rate",
    "Not in synced documents",
]


def variance_currency_rows(view: VarianceReportView) -> list[list[object]]:
    """Each account's split (a row for the account, then one per currency), the month and then
    the year to date; volume + rate + gains and losses = variance on every account row."""
    rows: list[list[object]] = []
    for span in ("month", "year_to_date"):
        label = "Month" if span == "month" else "Year to date"
        for row in view.currency_rows:
            split = getattr(row.currency, span)
            line = row.line
            rows.append(
                [
                    label,
                    line.code,
                    line.name,
                    line.account_class,
                    "",
                    "",
                    split.actual,
                    split.budget,
                    split.variance,
                    split.volume,
                    split.rate,
                    split.gains_losses,
                    "",
                    "",
                    split.remainder,
                ]
            )
            for effect in split.by_currency:
                rows.append(
                    [
                        label,
                        line.code,
                        line.name,
                        line.account_class,
                        effect.currency,
                        effect.foreign,
                        effect.base,
                        "",
                        "",
                        "",
                        effect.effect,
                        "",
                        effect.actual_rate if effect.actual_rate is not None else "",
                        effect.budget_rate if effect.budget_rate is not None else "no rate",
                        "",
                    ]
                )
    return rows


@firm_view(Action.VIEW)
def variance_currency_csv(request: FirmRequest, organisation_id: int) -> HttpResponse:
    """The currency split of the report's variances (budgeting.currency), as a CSV."""
    params = _params(request, organisation_id)
    if params.profile is None:
        raise Http404("This client has not been synced from Xero yet.")
    if params.period_error:
        return _month_refused(request, params)
    view = _report(request, params, with_narratives=False, with_currency=True)
    option = params.tracking_option.name if params.tracking_option else ""
    filename = csv_filename(
        params.organisation.name, "currency-effects", f"{params.period:%Y-%m}", option
    )
    rows = [
        ["Currency", view.data.currency, "Period", f"{params.period:%Y-%m}"],
        CURRENCY_CSV_HEADER,
        *variance_currency_rows(view),
    ]
    return csv_response(filename=filename, rows=rows)


def _account(request: FirmRequest, organisation: ClientOrganisation, account_id: int) -> Account:
    return get_firm_object_or_404(
        Account, firm=request.firm, pk=account_id, organisation=organisation
    )


@firm_view(Action.VIEW)
def variance_account_detail(
    request: FirmRequest, organisation_id: int, account_id: int
) -> HttpResponse:
    """An account's chart over 24 months and the narrative of its variance (written on demand)."""
    params = _params(request, organisation_id)
    if params.period_error:
        return _month_refused(request, params)
    account = _account(request, params.organisation, account_id)
    if params.profile is None:
        raise Http404("This client has not been synced from Xero yet.")
    data = variance_data_load(
        firm=request.firm,
        organisation=params.organisation,
        period=params.period,
        profile=params.profile,
        tracking_option=params.tracking_option,
    )
    points = data.series(end_period=params.period, account_id=account.account_id)
    narrative = variance_services.variance_narrative_for_account(
        firm=request.firm, data=data, period=params.period, account=account
    )
    report = data.report(params.period)
    line = next((x for x in report.lines if x.account_id == account.account_id), None)
    context = {
        "params": params,
        "organisation": params.organisation,
        "account": account,
        "line": line,
        "narrative": narrative,
        "currency": data.currency,
        "forecast_budget": data.forecast_budget,
        "chart": actual_vs_budget_svg(
            points=points,
            title=f"{account}, actual against budget, {len(points)} months",
            chart_id=f"chart-account-{account.pk}",
            currency=data.currency,
            open_month=profile_month_window(params.profile).open_month,
        ),
        "chart_table": actual_vs_budget_table(
            points=points, caption=f"{account} by month", currency=data.currency
        ),
    }
    template = "budgeting/variance/account.html"
    if request.htmx:
        template += "#account-detail"
    return render(request, template, context)


@firm_view(Action.VIEW)
def variance_account_transactions(
    request: FirmRequest, organisation_id: int, account_id: int
) -> HttpResponse:
    """The synced transaction lines behind an account's actual in one month."""
    params = _params(request, organisation_id)
    if params.period_error:
        return _month_refused(request, params)
    account = _account(request, params.organisation, account_id)
    lines = list(
        transaction_lines_for(
            firm=request.firm,
            organisation=params.organisation,
            accounts=[account],
            first=params.period,
            last=params.period,
            tracking_option=params.tracking_option,
        )
    )
    synced_from = transactions_synced_from(params.profile) if params.profile else None
    remainders = driver_remainders_for(
        firm=request.firm,
        organisation=params.organisation,
        accounts=[account],
        period=params.period,
        tracking_option=params.tracking_option,
    )
    context = {
        "params": params,
        "organisation": params.organisation,
        "account": account,
        "lines": lines,
        "total": sum((line.amount for line in lines), Decimal("0.00")),
        # What the lines leave unexplained of the P&L's actual: shown, never dropped.
        "remainder": remainders.get(account.pk),
        "currency": params.profile.base_currency if params.profile else "",
        "outside_retention": synced_from is not None and params.period < synced_from,
        "synced_from": synced_from,
    }
    return render(request, "budgeting/variance/transactions.html", context)


@firm_view(Action.VIEW)
def variance_account_transactions_csv(
    request: FirmRequest, organisation_id: int, account_id: int
) -> HttpResponse:
    """The transaction lines of the drill-down screen, with what they leave unexplained."""
    params = _params(request, organisation_id)
    if params.period_error:
        return _month_refused(request, params)
    account = _account(request, params.organisation, account_id)
    lines = transaction_lines_for(
        firm=request.firm,
        organisation=params.organisation,
        accounts=[account],
        first=params.period,
        last=params.period,
        tracking_option=params.tracking_option,
    )
    currency = params.profile.base_currency if params.profile else ""
    option = params.tracking_option.name if params.tracking_option else ""
    rows = [
        ["Account", str(account), "Month", f"{params.period:%Y-%m}", "Currency", currency],
        ["Date", "Document", "Number", "Contact", "Description", "Tracking option", "Amount"],
    ]
    total = Decimal("0.00")
    for line in lines:
        total += line.amount
        rows.append(
            [
                line.date,
                line.document_type,
                line.document_number,
                line.contact_name,
                line.description,
                option,
                line.amount,
            ]
        )
    rows.append(["Total", "", "", "", "", "", total])
    filename = csv_filename(
        params.organisation.name, account.name, "transactions", f"{params.period:%Y-%m}", option
    )
    return csv_response(filename=filename, rows=rows)


@firm_view(Action.MANAGE_POLICIES)
def variance_materiality(request: FirmRequest, organisation_id: int) -> HttpResponse:
    organisation = client_organisation_get_or_404(
        firm=request.firm, organisation_id=organisation_id, select_related=("xero_organisation",)
    )
    current = {
        s.account_class: (s.percent, s.floor)
        for s in MaterialitySetting.objects.for_firm(request.firm).filter(organisation=organisation)
    }
    form = MaterialityForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        for account_class, threshold in form.thresholds().items():
            if threshold is None:
                variance_services.materiality_setting_remove(
                    firm=request.firm, organisation=organisation, account_class=account_class
                )
            else:
                variance_services.materiality_setting_update(
                    firm=request.firm,
                    organisation=organisation,
                    account_class=account_class,
                    percent=threshold[0],
                    floor=threshold[1],
                )
        messages.success(request, "Materiality thresholds saved.")
        return redirect(
            "variance_report", firm_slug=request.firm.slug, organisation_id=organisation.pk
        )
    return render(
        request,
        "budgeting/variance/materiality.html",
        {"form": form, "organisation": organisation},
    )


@firm_view(Action.MANAGE_FIRM)
def narrative_provider_settings(request: FirmRequest) -> HttpResponse:
    current = variance_services.narrative_provider_settings_get(firm=request.firm)
    form = NarrativeProviderForm(request.POST or None, current=current)
    if request.method == "POST" and form.is_valid():
        variance_services.narrative_provider_settings_update(
            firm=request.firm,
            enabled=form.cleaned_data["enabled"],
            base_url=form.cleaned_data["base_url"],
            model=form.cleaned_data["model"],
            api_key=form.cleaned_data["api_key"] or None,
        )
        messages.success(request, "Narrative settings saved.")
        return redirect("narrative_provider_settings", firm_slug=request.firm.slug)
    return render(
        request,
        "budgeting/variance/narrative_settings.html",
        {"form": form, "current": current},
    )
