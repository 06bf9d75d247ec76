"""Reads for a client's sales pipeline: its versions, the current one, and the pipeline beside
the statistical forecast per revenue account and month, with the blend's weight chosen by
backtest on the client's past pipelines (budgeting.deals.maths).

The statistical forecast is the engine's (`budgeting.forecasting.forecast_series`) on the
account's monthly actuals up to the last closed month (the last complete one before any lock
date), as the drafts forecast it. A past pipeline is backtested against the forecast the
history before its month gave, so what the engine knew then is all it uses.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from budgeting.deals.maths import (
    BacktestPoint,
    WeightChoice,
    WeightedDeal,
    blend,
    pipeline_by_month,
    weight_choose,
)
from budgeting.deals.models import Deal, SalesPipelineUpload
from budgeting.forecasting import MAX_HORIZON, forecast_series
from budgeting.ledger.models import Account, ActualBalance, TrackingOption, XeroOrganisation
from budgeting.ledger.selectors import profile_month_window
from core.money import money
from core.months import Period, add_months, financial_year_start, months_between
from tenants.models import ClientOrganisation, Firm
from tenants.scoping import get_firm_object_or_404

REVENUE_TYPES = ("REVENUE", "SALES", "OTHERINCOME")  # Xero's Account.Type of the P&L's income
HISTORY_MONTHS = 36  # of actuals given to the engine, as the drafts give
BACKTEST_UPLOADS = 12  # the latest past pipelines backtested


def sales_pipeline_list(*, firm: Firm, organisation: ClientOrganisation):
    return (
        SalesPipelineUpload.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("uploaded_by", "default_account")
        .order_by("-version")
    )


def sales_pipeline_get_or_404(
    *, firm: Firm, organisation: ClientOrganisation, upload_id: int
) -> SalesPipelineUpload:
    return get_firm_object_or_404(
        SalesPipelineUpload, firm=firm, organisation=organisation, pk=upload_id
    )


def sales_pipeline_current(
    *, firm: Firm, organisation: ClientOrganisation
) -> SalesPipelineUpload | None:
    """The pipeline as of the latest month, its last version for that month."""
    return (
        SalesPipelineUpload.objects.for_firm(firm)
        .filter(organisation=organisation)
        .order_by("-as_of", "-version")
        .first()
    )


def deal_list(*, firm: Firm, upload: SalesPipelineUpload):
    return (
        Deal.objects.for_firm(firm)
        .filter(upload=upload)
        .select_related("account", "tracking_option__category")
        .order_by("row")
    )


def revenue_accounts(*, firm: Firm, organisation: ClientOrganisation) -> list[Account]:
    return list(
        Account.objects.for_firm(firm)
        .filter(organisation=organisation, type__in=REVENUE_TYPES)
        .exclude(status="ARCHIVED")
        .order_by("code", "name")
    )


def revenue_account_default(*, firm: Firm, organisation: ClientOrganisation) -> Account | None:
    """The revenue account with the most actual revenue in the last year on record: where a
    deal with no account of its own goes, unless the uploader chooses another."""
    accounts = revenue_accounts(firm=firm, organisation=organisation)
    if not accounts:
        return None
    latest = (
        ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, tracking_option__isnull=True)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    if latest is None:
        return accounts[0]
    totals = dict(
        ActualBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            tracking_option__isnull=True,
            account__in=accounts,
            period__gt=add_months(latest, -12),
        )
        .values_list("account")
        .annotate(total=Sum("amount"))
    )
    return max(accounts, key=lambda a: (totals.get(a.pk, Decimal(0)), -accounts.index(a)))


def organisation_profile(*, firm: Firm, organisation: ClientOrganisation):
    return XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()


def tracking_option_first(*, firm: Firm, organisation: ClientOrganisation) -> TrackingOption | None:
    """An active tracking option of the client, first by category and name (for examples)."""
    return (
        TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation, status="ACTIVE")
        .order_by("category__name", "name")
        .first()
    )


def pipeline_open_month(*, firm: Firm, organisation: ClientOrganisation) -> Period:
    """The month it is now where the client is: the latest month a pipeline can be as of."""
    return profile_month_window(
        organisation_profile(firm=firm, organisation=organisation)
    ).open_month


def sample_first_close_month(*, firm: Firm, organisation: ClientOrganisation) -> Period:
    """The first month of the next financial year still wholly to come (the year an owner drafts
    an annual budget for), so a sample export's deals land in that draft; the open month where
    the client has no Xero profile to say when its year ends."""
    profile = organisation_profile(firm=firm, organisation=organisation)
    open_month = profile_month_window(profile).open_month
    if profile is None:
        return open_month
    start = financial_year_start(open_month, end_month=profile.financial_year_end_month)
    return start if start >= open_month else add_months(start, 12)


def actuals_last_month(*, firm: Firm, organisation: ClientOrganisation) -> Period:
    """The last month the statistical forecast is made from: the last closed, else complete."""
    window = profile_month_window(organisation_profile(firm=firm, organisation=organisation))
    return window.reporting_month


# (account pk, tracking option pk or None: the account overall)
LineKey = tuple[int, int | None]


def _deals_by_line(firm: Firm, uploads: list[SalesPipelineUpload]):
    """Each upload's weighted deals by line: overall per account, and per tracking option."""
    found: dict[int, dict[LineKey, list[WeightedDeal]]] = {u.pk: defaultdict(list) for u in uploads}
    rows = (
        Deal.objects.for_firm(firm)
        .filter(upload__in=uploads)
        .values_list(
            "upload_id", "account_id", "tracking_option_id", "amount", "probability", "close_month"
        )
    )
    for upload_id, account_id, option_id, amount, probability, close_month in rows:
        deal = WeightedDeal(amount, probability, close_month)
        found[upload_id][(account_id, None)].append(deal)
        if option_id is not None:
            found[upload_id][(account_id, option_id)].append(deal)
    return found


def _actuals(firm: Firm, organisation: ClientOrganisation, keys: set[LineKey], last: Period):
    series: dict[LineKey, dict[Period, Decimal]] = defaultdict(dict)
    accounts = {account for account, _ in keys}
    rows = (
        ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, account_id__in=accounts, period__lte=last)
        .values_list("account_id", "tracking_option_id", "period", "amount")
    )
    for account_id, option_id, period, amount in rows:
        if (account_id, option_id) in keys:
            series[(account_id, option_id)][period] = amount
    return series


def _statistical(
    actuals: dict[Period, Decimal], last: Period, horizon: int
) -> list[Decimal] | None:
    """The engine's forecast of the `horizon` months after `last`, from up to 36 months of
    actuals ending with `last`; None when there is no actual to forecast from."""
    first_actual = min((p for p, v in actuals.items() if v), default=None)
    if first_actual is None or first_actual > last or horizon < 1:
        return None
    first = max(first_actual, add_months(last, 1 - HISTORY_MONTHS))
    values = [float(actuals.get(m, 0)) for m in months_between(first, last)]
    forecast = forecast_series(values, horizon=min(horizon, MAX_HORIZON), levels=(80, 95))
    return [money(Decimal(str(x))) for x in forecast.point]


def _weight(
    key: LineKey,
    past: list[SalesPipelineUpload],
    deals: dict[int, dict[LineKey, list[WeightedDeal]]],
    actuals: dict[Period, Decimal],
    last: Period,
) -> WeightChoice:
    points: list[BacktestPoint] = []
    for upload in past:
        expected = pipeline_by_month(deals[upload.pk].get(key, []))
        closed = [m for m in expected if upload.as_of <= m <= last]
        if not closed:
            continue
        before = add_months(upload.as_of, -1)
        horizon = len(months_between(upload.as_of, max(closed)))
        statistical = _statistical(actuals, before, horizon)
        if statistical is None:
            continue
        for month in closed:
            step = len(months_between(upload.as_of, month)) - 1
            if step < len(statistical):
                points.append(
                    BacktestPoint(
                        month, actuals.get(month, Decimal(0)), statistical[step], expected[month]
                    )
                )
    return weight_choose(points)


@dataclass(frozen=True)
class MonthFigures:
    month: Period
    statistical: Decimal
    pipeline: Decimal | None  # None: no deal expected to close this month
    blended: Decimal


@dataclass
class LinePipeline:
    """A revenue line's pipeline beside its statistical forecast."""

    account: Account
    tracking_option_id: int | None
    weight: WeightChoice
    months: list[MonthFigures] = field(default_factory=list)

    def figures_of(self, month: Period) -> MonthFigures | None:
        return next((m for m in self.months if m.month == month), None)

    @property
    def pipeline_total(self) -> Decimal:
        return sum((m.pipeline or Decimal(0) for m in self.months), Decimal("0.00"))

    @property
    def statistical_total(self) -> Decimal:
        return sum((m.statistical for m in self.months), Decimal("0.00"))

    @property
    def blended_total(self) -> Decimal:
        return sum((m.blended for m in self.months), Decimal("0.00"))


@dataclass
class PipelineComparison:
    upload: SalesPipelineUpload | None
    last_actual: Period
    months: list[Period]
    lines: list[LinePipeline]
    currency: str


def sales_pipeline_lines(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    last_actual: Period,
    months: list[Period],
    keys: set[LineKey] | None = None,
    upload: SalesPipelineUpload | None = None,
) -> tuple[SalesPipelineUpload | None, dict[LineKey, LinePipeline]]:
    """The current pipeline (or `upload`) per revenue line over `months` (those after
    `last_actual`), each beside the statistical forecast and blended with the weight its
    backtest chose. Only lines with a deal in those months; `keys` narrows them further.
    The drafts read this for their revenue lines."""
    upload = upload or sales_pipeline_current(firm=firm, organisation=organisation)
    if upload is None or not months:
        return upload, {}
    past = list(
        SalesPipelineUpload.objects.for_firm(firm)
        .filter(organisation=organisation, as_of__lte=last_actual)
        .exclude(pk=upload.pk)
        .order_by("-as_of", "-version")
    )
    # One version per month: the last uploaded for it.
    seen: set[Period] = set()
    past = [u for u in past if not (u.as_of in seen or seen.add(u.as_of))][:BACKTEST_UPLOADS]
    deals = _deals_by_line(firm, [upload, *past])
    current = {
        key: expected
        for key, listed in deals[upload.pk].items()
        if (keys is None or key in keys)
        and (expected := {m: v for m, v in pipeline_by_month(listed).items() if m in months})
    }
    if not current:
        return upload, {}
    actuals = _actuals(firm, organisation, set(current), last_actual)
    accounts = {
        a.pk: a for a in Account.objects.for_firm(firm).filter(pk__in={k[0] for k in current})
    }
    horizon = len(months_between(add_months(last_actual, 1), months[-1]))
    lines: dict[LineKey, LinePipeline] = {}
    for key, expected in sorted(
        current.items(), key=lambda item: (accounts[item[0][0]].code, item[0][1] or 0)
    ):
        statistical = _statistical(actuals[key], last_actual, horizon)
        if statistical is None:
            statistical = [Decimal("0.00")] * horizon
        chosen = _weight(key, past, deals, actuals[key], last_actual)
        line = LinePipeline(account=accounts[key[0]], tracking_option_id=key[1], weight=chosen)
        for month in months:
            step = len(months_between(add_months(last_actual, 1), month)) - 1
            point = statistical[step] if 0 <= step < len(statistical) else Decimal("0.00")
            line.months.append(
                MonthFigures(
                    month=month,
                    statistical=point,
                    pipeline=expected.get(month),
                    blended=blend(
                        statistical=point, pipeline=expected.get(month), weight=chosen.weight
                    ),
                )
            )
        lines[key] = line
    return upload, lines


def sales_pipeline_comparison(
    *, firm: Firm, organisation: ClientOrganisation, upload: SalesPipelineUpload | None = None
) -> PipelineComparison:
    """The pipeline beside the statistical forecast for each revenue account (overall), from
    the month after the last actual to the pipeline's last close month (24 months at most)."""
    profile = organisation_profile(firm=firm, organisation=organisation)
    last_actual = profile_month_window(profile).reporting_month
    currency = profile.base_currency if profile else ""
    upload = upload or sales_pipeline_current(firm=firm, organisation=organisation)
    if upload is None:
        return PipelineComparison(None, last_actual, [], [], currency)
    last_close = (
        Deal.objects.for_firm(firm)
        .filter(upload=upload)
        .order_by("-close_month")
        .values_list("close_month", flat=True)
        .first()
    )
    first = add_months(last_actual, 1)
    if last_close is None or last_close < first:
        return PipelineComparison(upload, last_actual, [], [], currency)
    months = months_between(first, min(last_close, add_months(last_actual, MAX_HORIZON)))
    # The accounts overall: a tracking option's own line is the drafts' to read.
    accounts = set(
        Deal.objects.for_firm(firm).filter(upload=upload).values_list("account_id", flat=True)
    )
    _, lines = sales_pipeline_lines(
        firm=firm,
        organisation=organisation,
        last_actual=last_actual,
        months=months,
        keys={(account, None) for account in accounts},
        upload=upload,
    )
    return PipelineComparison(upload, last_actual, months, list(lines.values()), currency)
