"""Writes for forecast drafts: the rolling Forecast draft, edits, the policy, accuracy scoring.

`draft_create_rolling` forecasts every account line of an organisation (overall and per
tracking option), keeps each forecast for scoring, and drafts a Draft holding a suggestion
for only the lines that need one: a material variance in the last closed month, or a forecast
that leaves the budget by more than the materiality threshold over the horizon. The original
Budget and its balances are only ever read.

Every write sets a change reason, and every change to a draft or its lines bumps the draft's
`revision` (approval links bind to it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from budgeting.deals.maths import blend
from budgeting.deals.models import SalesPipelineUpload
from budgeting.deals.selectors import LinePipeline, sales_pipeline_lines
from budgeting.drafts import guardrails as policy_rules
from budgeting.drafts.models import (
    BudgetPolicy,
    Draft,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    ForecastRun,
)
from budgeting.drafts.provenance import (
    LEVELS,
    PROVENANCE_VERSION,
    history_record,
    inputs_hash,
    sales_pipeline_record,
)
from budgeting.drafts.selectors import (
    ActualRanges,
    LineSeries,
    actual_ranges,
    budget_policy_get,
    decision_figure,
    forecast_last_closed,
    forecast_lines_load,
    policy_from_row,
)
from budgeting.drafts.signals import submitted_draft_revised
from budgeting.forecasting import forecast_series
from budgeting.forecasting.engine import RealisedAccuracy
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    TrackingOption,
    XeroOrganisation,
)
from budgeting.variance.maths import (
    ACCOUNT_CLASS_BY_TYPE,
    SECTION_BY_TYPE,
    Comparison,
    MaterialityThreshold,
    Period,
    Section,
    comparison_build,
    variance_is_material,
)
from budgeting.variance.models import VarianceNarrative
from budgeting.variance.selectors import materiality_thresholds
from core import tasks
from core.db import DATABASE_LOST, rows_update
from core.history import history_note
from core.money import amount_in, money
from core.months import add_months
from tenants.models import ClientOrganisation, Firm, User

logger = logging.getLogger(__name__)


def _stale_seconds() -> int:
    """A running forecast with no progress for this long lost its worker and may be taken
    over (bench/faults.py scales it down)."""
    return settings.FORECAST_RUN_STALE_SECONDS


class DraftError(Exception):
    """A change the draft cannot take; the message says why and what to do."""


# --- Policy ------------------------------------------------------------------------------------


def budget_policy_update(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    user: User | None,
    scope: str,
    account_ids: list[int],
    tracking_option_ids: list[int],
    account_caps: dict[int, Decimal],
    class_caps: dict[str, Decimal],
    max_change_percent: Decimal | None,
    max_change_amount: Decimal | None,
    capex_account_ids: list[int],
    extra_approval_above: Decimal | None,
    horizon: int,
    max_actual_multiple: Decimal | None = policy_rules.DEFAULT_ACTUAL_MULTIPLE,
    sign_check: bool = policy_rules.DEFAULT_SIGN_CHECK,
    reason: str = "Budget policy changed",
) -> BudgetPolicy:
    """Save the policy as a new version. The pure Policy validates scope and horizon first."""
    policy_rules.Policy(scope=scope, horizon=horizon)
    with transaction.atomic():
        row = (
            BudgetPolicy.objects.for_firm(firm)
            .select_for_update()
            .filter(organisation=organisation)
            .first()
        )
        if row is None:
            row = BudgetPolicy(firm=firm, organisation=organisation, version=1)
        else:
            row.version += 1
        row.scope = scope
        row.account_ids = sorted(int(i) for i in account_ids)
        row.tracking_option_ids = sorted(int(i) for i in tracking_option_ids)
        row.account_caps = {str(k): str(money(v)) for k, v in sorted(account_caps.items())}
        row.class_caps = {str(k): str(money(v)) for k, v in sorted(class_caps.items())}
        row.max_change_percent = max_change_percent
        row.max_change_amount = None if max_change_amount is None else money(max_change_amount)
        row.capex_account_ids = sorted(int(i) for i in capex_account_ids)
        row.extra_approval_above = (
            None if extra_approval_above is None else money(extra_approval_above)
        )
        row.horizon = horizon
        row.max_actual_multiple = max_actual_multiple
        row.sign_check = sign_check
        row.updated_by = user
        row.updated_at = timezone.now()
        history_note(row, reason=reason, user=user)
        row.save()
    return row


# --- Forecast runs (progress for the screen) --------------------------------------------------


def forecast_run_start(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    source: str,
    user: User | None = None,
    horizon: int | None = None,
    enqueue: bool = True,
) -> ForecastRun:
    """Queue a forecast run, unless one is already queued or running for the organisation."""
    with transaction.atomic():
        ClientOrganisation.objects.for_firm(firm).select_for_update().get(pk=organisation.pk)
        runs = ForecastRun.objects.for_firm(firm).filter(organisation=organisation)
        stale = timezone.now() - dt.timedelta(seconds=_stale_seconds())
        runs.filter(state=ForecastRun.State.RUNNING, heartbeat_at__lt=stale).update(
            state=ForecastRun.State.FAILED,
            finished_at=timezone.now(),
            step="Interrupted",
            error="The forecast was interrupted (its worker stopped). Nothing was saved. "
            "Run it again.",
        )
        active = runs.filter(
            state__in=(ForecastRun.State.QUEUED, ForecastRun.State.RUNNING)
        ).first()
        if active is not None:
            return active
        run = ForecastRun.objects.for_firm(firm).create(
            firm=firm,
            organisation=organisation,
            source=source,
            created_by=user,
            horizon=horizon,
            step="Queued",
        )
        if enqueue:
            tasks.enqueue(
                "budgeting.tasks.draft_create_rolling_task", firm.pk, organisation.pk, run.pk
            )
    return run


def _forecast_run_database_lost(*, firm: Firm, run: ForecastRun) -> None:
    """Say in words that the database went away, and queue the run again once: twice in a row
    waits for a person, so a database that keeps dropping is not hammered for ever."""
    previous = (
        ForecastRun.objects.for_firm(firm)
        .filter(organisation_id=run.organisation_id, finished_at__isnull=False)
        .exclude(pk=run.pk)
        .order_by("-finished_at")
        .values_list("step", "error")
        .first()
    )
    again = not (
        previous and previous[0] == "Interrupted" and DATABASE_LOST_FORECAST in previous[1]
    )
    run.state = ForecastRun.State.FAILED
    run.step = "Interrupted"
    run.finished_at = timezone.now()
    run.error = DATABASE_LOST_FORECAST + (
        " It was queued again automatically."
        if again
        else " It stopped this way twice in a row: run it again when the database is back."
    )
    run.save()
    if again:
        forecast_run_start(
            firm=firm,
            organisation=run.organisation,
            source=run.source,
            user=run.created_by,
            horizon=run.horizon,
        )


DATABASE_LOST_FORECAST = (
    "Our database connection was lost during the forecast (the database restarted or cut the "
    "connection). No draft was half saved."
)


def forecast_runs_recover(*, firm: Firm) -> dict[str, int]:
    """Beat: forecast runs whose worker was lost are marked interrupted and queued again.

    A running forecast whose heartbeat stopped is failed ("Interrupted": a draft is saved in
    one transaction, so nothing is half saved) and a new run of the same source is queued; a
    queued run no worker took within FORECAST_RUN_QUEUED_SECONDS (its message was lost) is sent
    again under the same id, which the claim makes safe to receive twice.
    """
    now = timezone.now()
    stale = now - dt.timedelta(seconds=_stale_seconds())
    lost = now - dt.timedelta(seconds=settings.FORECAST_RUN_QUEUED_SECONDS)
    interrupted = requeued = 0
    with transaction.atomic():
        runs = ForecastRun.objects.for_firm(firm)
        for run in runs.filter(state=ForecastRun.State.RUNNING, heartbeat_at__lt=stale):
            run.state = ForecastRun.State.FAILED
            run.finished_at = now
            run.error = (
                f"The forecast stopped at {run.step or 'its start'} ({run.progress}%): the worker "
                "running it was lost. Nothing was half saved; it was queued again automatically."
            )
            run.step = "Interrupted"
            run.save(update_fields=["state", "finished_at", "error", "step"])
            interrupted += 1
            if runs.filter(
                organisation_id=run.organisation_id,
                state__in=(ForecastRun.State.QUEUED, ForecastRun.State.RUNNING),
            ).exists():
                continue
            again = runs.create(
                firm=firm,
                organisation_id=run.organisation_id,
                source=run.source,
                created_by=run.created_by,
                horizon=run.horizon,
                step="Queued",
            )
            tasks.enqueue(
                "budgeting.tasks.draft_create_rolling_task", firm.pk, run.organisation_id, again.pk
            )
            requeued += 1
        for run_id, organisation_id in runs.filter(
            state=ForecastRun.State.QUEUED, started_at__isnull=True, created_at__lt=lost
        ).values_list("pk", "organisation_id"):
            tasks.enqueue(
                "budgeting.tasks.draft_create_rolling_task", firm.pk, organisation_id, run_id
            )
            requeued += 1
    return {"interrupted": interrupted, "requeued": requeued}


def forecast_run_claim(*, firm: Firm, run_id: int) -> bool:
    """Conditional update: of two workers given the same run, exactly one does it."""
    stale = timezone.now() - dt.timedelta(seconds=_stale_seconds())
    return bool(
        ForecastRun.objects.for_firm(firm)
        .filter(pk=run_id)
        .filter(
            Q(state=ForecastRun.State.QUEUED)
            | Q(state=ForecastRun.State.RUNNING, heartbeat_at__lt=stale)
        )
        .update(
            state=ForecastRun.State.RUNNING,
            started_at=timezone.now(),
            heartbeat_at=timezone.now(),
            step="Starting",
        )
    )


def forecast_run_execute(
    *, firm: Firm, run_id: int, on_progress: Callable[[int, str], None] | None = None
) -> ForecastRun:
    """Run a queued ForecastRun to the end; a failure saves nothing and says why."""
    run = ForecastRun.objects.for_firm(firm).select_related("organisation", "created_by")
    run = run.get(pk=run_id)
    if not forecast_run_claim(firm=firm, run_id=run_id):
        return run

    def progress(percent: int, step: str) -> None:
        ForecastRun.objects.for_firm(firm).filter(pk=run.pk).update(
            progress=percent, step=step[:200], heartbeat_at=timezone.now()
        )
        if on_progress is not None:
            on_progress(percent, step)

    def saved(result: RollingResult) -> None:
        # In the transaction that saves the draft: a worker lost right after the save cannot
        # leave the run looking unfinished, which the recovery would run again (a second draft).
        ForecastRun.objects.for_firm(firm).filter(pk=run.pk).update(
            state=ForecastRun.State.SUCCEEDED,
            draft=result.draft,
            summary=result.summary(),
            step=result.message,
            progress=100,
            finished_at=timezone.now(),
        )

    try:
        result = draft_create_rolling(
            firm=firm,
            organisation=run.organisation,
            horizon=run.horizon,
            source=run.source,
            user=run.created_by,
            on_progress=progress,
            on_saved=saved,
        )
        run.state = ForecastRun.State.SUCCEEDED
        run.draft = result.draft
        run.summary = result.summary()
        run.step = result.message
        run.progress = 100
    except DraftError as exc:
        run.state = ForecastRun.State.FAILED
        run.error = str(exc)
        run.step = "Failed"
    except DATABASE_LOST:
        logger.exception("Forecast run %s of %s lost the database", run.pk, run.organisation)
        # The connection that dropped is gone for good: a new one records the outcome, so the
        # run does not stay "running" until the stale-run job finds it.
        connection.close()
        done = ForecastRun.objects.for_firm(firm).filter(pk=run.pk)
        if done.filter(state=ForecastRun.State.SUCCEEDED).exists():
            return done.get()  # lost after its draft was saved: nothing to run again
        _forecast_run_database_lost(firm=firm, run=run)
        return run
    except Exception as exc:
        logger.exception("Forecast run %s of %s failed", run.pk, run.organisation)
        run.state = ForecastRun.State.FAILED
        run.error = f"Unexpected error ({type(exc).__name__}). Nothing was saved; run it again."
        run.step = "Failed"
    run.finished_at = timezone.now()
    run.save()
    return run


# --- The rolling draft -------------------------------------------------------------------------


@dataclass
class LineAnalysis:
    """What the forecast of one line says, whether or not it gets a suggestion."""

    series: LineSeries
    months: list[Period]
    forecast: object  # budgeting.forecasting.Forecast
    inputs_hash: str
    history_months: int
    last_month: Comparison
    forecast_total: Decimal
    budget_total: Decimal
    variance_material: bool
    forecast_material: bool
    in_scope: bool
    # The inputs themselves, kept with a suggestion so it can be reproduced (provenance.py).
    first: Period | None = None
    values: list[Decimal] = field(default_factory=list)
    realised: dict[str, RealisedAccuracy] | None = None
    threshold: MaterialityThreshold | None = None

    @property
    def has_target(self) -> bool:
        """A tracking option with no tracking budget in Xero has nothing a draft could revise
        (an import file fills an existing budget): it is forecast and scored, not suggested."""
        return self.series.tracking_option is None or self.series.budget is not None

    @property
    def needs_change(self) -> bool:
        return self.variance_material or self.forecast_material

    @property
    def suggested(self) -> bool:
        return self.in_scope and self.has_target and self.needs_change

    @property
    def trigger(self) -> str:
        if self.variance_material and self.forecast_material:
            return DraftLine.Trigger.BOTH
        if self.variance_material:
            return DraftLine.Trigger.VARIANCE
        return DraftLine.Trigger.FORECAST


@dataclass
class RollingResult:
    draft: Draft | None
    read_only: bool
    last_closed: Period
    horizon: int
    analysed: list[LineAnalysis] = field(default_factory=list)

    @property
    def suggested(self) -> list[LineAnalysis]:
        return [a for a in self.analysed if a.suggested]

    @property
    def message(self) -> str:
        count = len(self.analysed)
        if self.read_only:
            flagged = sum(1 for a in self.analysed if a.needs_change and a.has_target)
            return (
                f"Analysis only (the policy is read-only): {count} lines forecast, "
                f"{flagged} would need a change. No draft was created."
            )
        if self.draft is None:
            return f"{count} lines forecast; none needs a change, so no draft was created."
        return f"{count} lines forecast; {len(self.suggested)} suggested changes in the draft."

    def summary(self) -> dict[str, object]:
        return {
            "read_only": self.read_only,
            "last_closed": self.last_closed.isoformat(),
            "horizon": self.horizon,
            "lines": len(self.analysed),
            "suggested": len(self.suggested),
            "flagged": sum(1 for a in self.analysed if a.needs_change and a.has_target),
        }


def _threshold(materiality, series: LineSeries) -> MaterialityThreshold:
    return materiality.threshold_for(
        account_class=series.account_class, account_type=series.account.type
    )


def line_analyse(
    *,
    series: LineSeries,
    first: Period,
    last_closed: Period,
    horizon: int,
    threshold: MaterialityThreshold,
    in_scope: bool,
    realised: dict[str, RealisedAccuracy] | None = None,
) -> LineAnalysis:
    """`realised` is the line's scored past forecasts by method (`forecast_realised_load`)."""
    values = series.history(first=first, last=last_closed)
    forecast = forecast_series(
        [float(v) for v in values], horizon=horizon, levels=LEVELS, realised=realised or None
    )
    months = [add_months(last_closed, step) for step in range(1, horizon + 1)]
    forecast_total = sum((_cents(x) for x in forecast.point), Decimal("0.00"))
    budget_total = money(sum((series.budgets.get(m, Decimal(0)) for m in months), Decimal(0)))
    last_month = comparison_build(
        actual=series.actuals.get(last_closed, Decimal(0)),
        budget=series.budgets.get(last_closed, Decimal(0)),
        higher_is_favourable=series.account_class == "REVENUE",
        threshold=threshold,
    )
    return LineAnalysis(
        series=series,
        months=months,
        forecast=forecast,
        inputs_hash=inputs_hash(values=values, first=first, horizon=horizon, realised=realised),
        history_months=len(values),
        last_month=last_month,
        forecast_total=forecast_total,
        budget_total=budget_total,
        # A month with no budget at all is a gap in the budget, not a variance to act on.
        variance_material=last_month.material and last_month.budget != 0,
        forecast_material=variance_is_material(
            variance=forecast_total - budget_total, budget=budget_total, threshold=threshold
        ),
        in_scope=in_scope,
        first=first,
        values=values,
        realised=realised or None,
        threshold=threshold,
    )


def draft_create_rolling(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    horizon: int | None = None,
    source: str = Draft.Source.MANUAL,
    user: User | None = None,
    on_progress: Callable[[int, str], None] | None = None,
    on_saved: Callable[[RollingResult], None] | None = None,
) -> RollingResult:
    """Forecast every line, keep the forecasts for scoring, and draft the suggestions.
    `on_saved` runs in the transaction that saves them (a forecast run marks itself done).

    A read-only policy stores the forecasts (accuracy is tracked all the same) and creates no
    draft. Returns the draft (None when none was created) with the analysis of every line.
    """
    progress = on_progress or (lambda percent, step: None)
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    last_closed = forecast_last_closed(profile)
    if profile is None or last_closed is None:
        raise DraftError(
            f"{organisation.name} has no closed month yet: sync it from Xero (a month closes "
            "when Xero's period lock date passes its end), then run the forecast."
        )
    policy_row = budget_policy_get(firm=firm, organisation=organisation)
    policy = policy_from_row(policy_row)
    horizon = horizon or policy.horizon
    if not 1 <= horizon <= policy_rules.MAX_DRAFT_HORIZON:
        raise DraftError(f"A draft's horizon is 1 to {policy_rules.MAX_DRAFT_HORIZON} months.")
    materiality = materiality_thresholds(firm=firm, organisation=organisation)
    progress(5, "Loading actuals and budgets")
    loaded = forecast_lines_load(
        firm=firm,
        organisation=organisation,
        profile=profile,
        last_closed=last_closed,
        horizon=horizon,
    )
    realised = forecast_realised_load(firm=firm, organisation=organisation)
    result = RollingResult(
        draft=None, read_only=not policy.allows_drafts, last_closed=last_closed, horizon=horizon
    )
    total = len(loaded.lines) or 1
    for index, series in enumerate(loaded.lines):
        if not any(series.actuals.values()):
            continue  # nothing but zeros: nothing to forecast from
        option_pk = series.tracking_option.pk if series.tracking_option else None
        result.analysed.append(
            line_analyse(
                series=series,
                first=loaded.first_month,
                last_closed=last_closed,
                horizon=horizon,
                realised=realised.get((series.account.pk, option_pk)),
                threshold=_threshold(materiality, series),
                in_scope=policy.in_scope(
                    account_id=series.account.pk,
                    tracking_option_id=series.tracking_option.pk
                    if series.tracking_option
                    else None,
                ),
            )
        )
        if index % 10 == 0:
            progress(5 + int(80 * (index + 1) / total), f"Forecasting line {index + 1} of {total}")
    progress(88, "Saving")
    with transaction.atomic():
        forecast_records_store(
            firm=firm, organisation=organisation, last_closed=last_closed, lines=result.analysed
        )
        if policy.allows_drafts and result.suggested:
            result.draft = _draft_build(
                firm=firm,
                organisation=organisation,
                profile=profile,
                result=result,
                policy=policy,
                policy_version=policy_row.version if policy_row else 0,
                overall_budget=loaded.overall_budget,
                source=source,
                user=user,
            )
        if on_saved is not None:
            on_saved(result)
    progress(100, result.message)
    logger.info("Rolling forecast of %s: %s", organisation, result.message)
    return result


RealisedByLine = dict[tuple[int, int | None], dict[str, RealisedAccuracy]]


def forecast_realised_load(*, firm: Firm, organisation: ClientOrganisation) -> RealisedByLine:
    """Every scored kept forecast of the organisation, by line (account, tracking option) and
    method, as the engine's realised accuracy. One query for the whole organisation: the rows
    are few numbers each, grouped here rather than queried line by line."""
    grouped: dict[tuple[int, int | None], dict[str, list[tuple[int, float]]]] = {}
    rows = (
        ForecastRecord.objects.for_firm(firm)
        .filter(organisation=organisation, actual__isnull=False)
        .order_by()
        .values_list("account_id", "tracking_option_id", "method", "step", "abs_error")
    )
    for account_id, option_id, method, step, abs_error in rows:
        by_method = grouped.setdefault((account_id, option_id), {})
        by_method.setdefault(method, []).append((step, float(abs_error)))
    return {
        line: {method: RealisedAccuracy.of(scored) for method, scored in by_method.items()}
        for line, by_method in grouped.items()
    }


def forecast_records_store(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    last_closed: Period,
    lines: list[LineAnalysis],
) -> int:
    """One record per line and target month; a second run from the same month replaces them."""
    ForecastRecord.objects.for_firm(firm).filter(
        organisation=organisation, made_at=last_closed, actual__isnull=True
    ).delete()
    records = []
    for analysis in lines:
        forecast = analysis.forecast
        for step, month in enumerate(analysis.months, start=1):
            i = step - 1
            records.append(
                ForecastRecord(
                    firm=firm,
                    organisation=organisation,
                    account=analysis.series.account,
                    tracking_option=analysis.series.tracking_option,
                    made_at=last_closed,
                    target=month,
                    step=step,
                    point=_cents(forecast.point[i]),
                    lo_80=_cents(forecast.lower(80)[i]),
                    hi_80=_cents(forecast.upper(80)[i]),
                    lo_95=_cents(forecast.lower(95)[i]),
                    hi_95=_cents(forecast.upper(95)[i]),
                    method=forecast.method,
                    inputs_hash=analysis.inputs_hash,
                )
            )
    ForecastRecord.objects.bulk_create(records, ignore_conflicts=True)
    return len(records)


def _cents(value: float) -> Decimal:
    return money(Decimal(str(value)))


METHOD_LABELS = {
    "naive": "the last month carried forward",
    "seasonal_naive": "the same month last year",
    "recent_years": "the same month of recent years",
    "theta": "a Theta trend",
    "damped_trend": "a damped trend",
    "combination": "a combination of Theta, damped trend, simple smoothing and recent years' pattern",
    "croston_sba": "the average rate of intermittent spend",
}


def method_label(method: str) -> str:
    seasonal = method.endswith("_seasonal")
    base = METHOD_LABELS.get(method.removesuffix("_seasonal"), method.replace("_", " "))
    return f"{base}, seasonally adjusted" if seasonal else base


def forecast_explanation(analysis: LineAnalysis, currency: str) -> str:
    """What the forecast itself says, from its own facts only: never a cause."""
    forecast = analysis.forecast
    months = analysis.months
    change = analysis.forecast_total - analysis.budget_total
    text = (
        f"Forecast from {analysis.history_months} months of actuals by "
        f"{method_label(forecast.method)}: {amount_in(analysis.forecast_total, currency)} over "
        f"{months[0]:%b %Y} to {months[-1]:%b %Y}, "
    )
    if analysis.budget_total:
        text += (
            f"{amount_in(abs(change), currency)} {'above' if change > 0 else 'below'} the budget "
            f"of {amount_in(analysis.budget_total, currency)}."
        )
    else:
        text += "where the budget has no figures."
    if analysis.variance_material:
        month = analysis.last_month
        text += (
            f" {analysis.series.account.name} was {amount_in(abs(month.variance), currency)} "
            f"{'over' if month.variance > 0 else 'under'} budget in "
            f"{add_months(months[0], -1):%B %Y}."
        )
    text += (
        f" {forecast.confidence_label.capitalize()} confidence: the method scored "
        f"{forecast.confidence} out of 100 when tried on this line's own past months."
    )
    if forecast.notes:
        text += " Notes: " + "; ".join(forecast.notes) + "."
    return text


def _narratives(
    firm: Firm, organisation: ClientOrganisation, period: Period
) -> dict[tuple[int, int | None], VarianceNarrative]:
    return {
        (n.account_id, n.tracking_option_id): n
        for n in VarianceNarrative.objects.for_firm(firm).filter(
            organisation=organisation, period=period
        )
    }


def _provenance(
    *,
    analysis: LineAnalysis,
    trigger: str,
    period: Period,
    narrative: VarianceNarrative | None,
    explanation: str,
    shown: str,
    policy: policy_rules.Policy,
    policy_version: int,
    policy_line: policy_rules.PolicyLine,
    extra_approval_reasons: list[str],
) -> dict:
    """What produced the line's figures, as JSON, at the moment they are suggested."""
    forecast, month = analysis.forecast, analysis.last_month
    threshold = analysis.threshold
    return {
        "version": PROVENANCE_VERSION,
        "method": {
            "name": forecast.method,
            "label": method_label(forecast.method),
            "confidence": forecast.confidence,
            "confidence_label": forecast.confidence_label,
            "backtest_mase": forecast.backtest_mase,
            "backtest_smape": forecast.backtest_smape,
            "notes": list(forecast.notes),
            "spikes": [add_months(analysis.first, int(i)).isoformat() for i in forecast.spikes]
            if analysis.first
            else [],
        },
        "history": history_record(
            values=analysis.values,
            first=analysis.first or period,
            horizon=len(analysis.months),
            realised=analysis.realised,
        ),
        "inputs_hash": analysis.inputs_hash,
        "variance": {
            "trigger": trigger,
            "period": period.isoformat(),
            "actual": str(month.actual),
            "budget": str(month.budget),
            "variance": str(month.variance),
            "percent": None if month.percent is None else str(month.percent),
            "favourable": month.favourable,
            "material": analysis.variance_material,
            "threshold": None
            if threshold is None
            else {"percent": str(threshold.percent), "floor": str(threshold.floor)},
            "forecast_total": str(analysis.forecast_total),
            "budget_total": str(analysis.budget_total),
            "forecast_material": analysis.forecast_material,
        },
        "narrative": {
            "shown": shown,
            "forecast_text": explanation,
            "variance_text": narrative.text if narrative else "",
            "generator": narrative.generator if narrative else "",
            "fallback_reason": narrative.fallback_reason if narrative else "",
            "written_at": narrative.created_at.isoformat() if narrative else None,
            "facts": narrative.facts if narrative else None,
            "drivers": narrative.drivers if narrative else [],
        },
        "policy": {
            "version": policy_version,
            "checks": policy_rules.policy_checks(policy, policy_line),
            "extra_approval_reasons": extra_approval_reasons,
        },
    }


def _policy_line(
    line: DraftLine, balances: list[DraftBalance], ranges: ActualRanges
) -> policy_rules.PolicyLine:
    """`ranges` are the organisation's (or this line's) from `actual_ranges`."""
    largest, lowest = ranges.get((line.account_id, line.tracking_option_id), (None, None))
    return policy_rules.PolicyLine(
        account_id=line.account_id,
        account_class=line.account.account_class
        or ACCOUNT_CLASS_BY_TYPE.get(line.account.type, ""),
        account_type=line.account.type,
        tracking_option_id=line.tracking_option_id,
        months=[
            policy_rules.PolicyMonth(
                period=b.period, original=b.original_amount, proposed=b.effective_amount
            )
            for b in balances
        ],
        largest_actual=largest,
        lowest_actual=lowest,
    )


def _line_ranges(firm: Firm, line: DraftLine) -> ActualRanges:
    return actual_ranges(
        firm=firm,
        organisation=line.organisation,
        account_id=line.account_id,
        tracking_option_id=line.tracking_option_id,
    )


def _policy_apply(line: DraftLine, result: policy_rules.PolicyResult) -> None:
    line.policy_ok = result.ok
    line.policy_violations = [v.to_dict() for v in result.violations]
    line.needs_extra_approval = result.needs_extra_approval
    line.extra_approval_reasons = list(result.extra_approval_reasons)


def _draft_build(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    profile: XeroOrganisation,
    result: RollingResult,
    policy: policy_rules.Policy,
    policy_version: int,
    overall_budget,
    source: str,
    user: User | None,
) -> Draft:
    draft = Draft(
        firm=firm,
        organisation=organisation,
        created_by=user,
        source=source,
        horizon=result.horizon,
        first_period=add_months(result.last_closed, 1),
        last_actual_period=result.last_closed,
        policy_version=policy_version,
        original_budget=overall_budget,
        currency_code=profile.base_currency,
        lines_analysed=len(result.analysed),
    )
    narratives = _narratives(firm, organisation, result.last_closed)
    reason = (
        "Forecast draft created after the month close"
        if source == Draft.Source.CLOSE
        else "Forecast draft created by hand"
    )
    fell_back = sum(
        1
        for analysis in result.suggested
        if (stored := narratives.get(analysis.series.key)) and stored.fallback_reason
    )
    if fell_back:
        # Each line's provenance says why; the draft's history says that some did.
        reason += f"; {fell_back} narratives local (provider not used)"
    history_note(draft, reason=reason)
    draft.save()
    ranges = actual_ranges(firm=firm, organisation=organisation)
    currency = profile.base_currency
    pipeline_upload, pipelines = _sales_pipelines(firm, organisation, result)
    for analysis in result.suggested:
        series, forecast = analysis.series, analysis.forecast
        pipeline = pipelines.get(series.key)
        option_pk = series.tracking_option.pk if series.tracking_option else None
        stored = narratives.get((series.account.pk, option_pk))
        explanation = forecast_explanation(analysis, currency)
        shown = f"{stored.text if stored else ''} {explanation}".strip()
        month = analysis.last_month
        line = DraftLine(
            firm=firm,
            organisation=organisation,
            draft=draft,
            account=series.account,
            tracking_option=series.tracking_option,
            original_budget=series.budget,
            section=series.section,
            trigger=analysis.trigger,
            trigger_period=result.last_closed,
            trigger_actual=month.actual,
            trigger_budget=month.budget,
            trigger_variance=month.variance,
            trigger_percent=month.percent,
            forecast_total=analysis.forecast_total,
            budget_total=analysis.budget_total,
            method=forecast.method,
            confidence=forecast.confidence,
            confidence_label=forecast.confidence_label,
            backtest_mase=forecast.backtest_mase,
            backtest_smape=forecast.backtest_smape,
            history_months=analysis.history_months,
            forecast_notes=list(forecast.notes),
            inputs_hash=analysis.inputs_hash,
            narrative=shown,
        )
        balances = []
        for i, period in enumerate(analysis.months):
            point = _cents(forecast.point[i])
            # A revenue line with deals this month: the blend, its intervals moved with it.
            shift = pipeline_shift(pipeline, period, point)
            balances.append(
                DraftBalance(
                    firm=firm,
                    organisation=organisation,
                    period=period,
                    original_amount=series.budgets.get(period)
                    if series.budget is not None
                    else None,
                    suggested_amount=point + shift,
                    lo_80=_cents(forecast.lower(80)[i]) + shift,
                    hi_80=_cents(forecast.upper(80)[i]) + shift,
                    lo_95=_cents(forecast.lower(95)[i]) + shift,
                    hi_95=_cents(forecast.upper(95)[i]) + shift,
                )
            )
        policy_line = _policy_line(line, balances, ranges)
        _policy_apply(line, policy_rules.policy_evaluate_line(policy, policy_line))
        line.provenance = _provenance(
            analysis=analysis,
            trigger=analysis.trigger,
            period=result.last_closed,
            narrative=stored,
            explanation=explanation,
            shown=shown,
            policy=policy,
            policy_version=policy_version,
            policy_line=policy_line,
            extra_approval_reasons=line.extra_approval_reasons,
        )
        note = (
            f"Suggested by {forecast.method} (confidence {forecast.confidence}, inputs "
            f"{analysis.inputs_hash[:12]})"
        )
        if pipeline is not None:
            line.provenance["sales_pipeline"] = sales_pipeline_record(
                upload=pipeline_upload,
                weight=pipeline.weight,
                months=[
                    (b.period, _cents(p), b.suggested_amount, pipeline.figures_of(b.period))
                    for b, p in zip(balances, forecast.point, strict=False)
                ],
            )
            note += (
                f"; sales pipeline v{pipeline_upload.version} at weight {pipeline.weight.weight}"
            )
        if stored is not None and stored.fallback_reason:
            note += f"; local narrative: {stored.fallback_reason}"
        history_note(line, reason=note)
        line.save()
        for balance in balances:
            balance.line = line
            history_note(balance, reason=f"Suggested by {forecast.method}")
            balance.save()
    return draft


def _sales_pipelines(
    firm: Firm, organisation: ClientOrganisation, result: RollingResult
) -> tuple[SalesPipelineUpload | None, dict[tuple[int, int | None], LinePipeline]]:
    """The client's current sales pipeline for the revenue lines suggested, with its weights."""
    keys = {a.series.key for a in result.suggested if a.series.account_class == "REVENUE"}
    if not keys:
        return None, {}
    months = [add_months(result.last_closed, step) for step in range(1, result.horizon + 1)]
    return sales_pipeline_lines(
        firm=firm,
        organisation=organisation,
        last_actual=result.last_closed,
        months=months,
        keys=keys,
    )


def pipeline_shift(pipeline: LinePipeline | None, period: Period, point: Decimal) -> Decimal:
    """How far the blend moves the month's statistical figure (0 with no deal that month)."""
    figures = pipeline.figures_of(period) if pipeline is not None else None
    if figures is None or figures.pipeline is None:
        return Decimal("0.00")
    return (
        blend(statistical=point, pipeline=figures.pipeline, weight=pipeline.weight.weight) - point
    )


@dataclass(frozen=True)
class FiguresLine:
    """One account's proposed figures for a draft made from figures chosen elsewhere (a what-if
    scenario, next year's budget): the months' figures, and the original budget's for the same
    months (none: the line has no budget to compare with).

    A line that is a forecast (an annual draft) also gives its tracking option, its budget, its
    intervals by month ((lo 80, hi 80, lo 95, hi 95)), the method and its backtest, and is not
    accepted until a person accepts it."""

    account: Account
    proposed: dict[dt.date, Decimal]
    original: dict[dt.date, Decimal] | None
    tracking_option: TrackingOption | None = None
    original_budget: Budget | None = None
    intervals: dict[dt.date, tuple[Decimal, Decimal, Decimal, Decimal]] = field(
        default_factory=dict
    )
    method: str = ""
    confidence: int = 100
    confidence_label: str = "high"
    backtest_mase: float | None = None
    backtest_smape: float | None = None
    history_months: int = 0
    forecast_notes: tuple[str, ...] = ()
    inputs_hash: str = ""
    narrative: str = ""
    provenance: dict = field(default_factory=dict)
    accepted: bool = True


def draft_create_from_figures(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    lines: list[FiguresLine],
    first_period: dt.date,
    horizon: int,
    original_budget,
    source: str,
    trigger: str,
    method: str,
    narrative: str,
    provenance: dict,
    reason: str,
    user: User | None,
    financial_year: int | None = None,
    lines_analysed: int = 0,
) -> Draft:
    """A draft of figures a person chose (not forecast), on the normal path: each line checked
    against the organisation's policy now, then guardrails and the approval chain as any draft.
    Lines are accepted: the person chose them by confirming where they came from (a line that
    is a forecast says otherwise, `FiguresLine.accepted`)."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    last_closed = forecast_last_closed(profile)
    if profile is None or last_closed is None:
        raise DraftError(
            f"{organisation.name} has no closed month yet: sync it from Xero before drafting."
        )
    policy_row = budget_policy_get(firm=firm, organisation=organisation)
    policy = policy_from_row(policy_row)
    if not policy.allows_drafts:
        raise DraftError("The budget policy is read-only analysis: it allows no drafts.")
    if not 1 <= horizon <= policy_rules.MAX_DRAFT_HORIZON:
        raise DraftError(f"A draft's horizon is 1 to {policy_rules.MAX_DRAFT_HORIZON} months.")
    if first_period <= last_closed:
        raise DraftError(f"{first_period:%B %Y} is closed: a draft starts after the last close.")
    if not lines:
        raise DraftError("Nothing differs from the budget: there is no change to draft.")
    months = [add_months(first_period, i) for i in range(horizon)]
    ranges = actual_ranges(firm=firm, organisation=organisation)
    with transaction.atomic():
        draft = Draft(
            firm=firm,
            organisation=organisation,
            created_by=user,
            source=source,
            horizon=horizon,
            first_period=first_period,
            last_actual_period=last_closed,
            policy_version=policy_row.version if policy_row else 0,
            original_budget=original_budget,
            currency_code=profile.base_currency,
            financial_year=financial_year,
            lines_analysed=lines_analysed,
        )
        history_note(draft, reason=reason, user=user)
        draft.save()
        for item in lines:
            account = item.account
            proposed = [money(item.proposed.get(m, 0)) for m in months]
            original = (
                [None] * len(months)
                if item.original is None
                else [money(item.original.get(m, 0)) for m in months]
            )
            digest = (
                item.inputs_hash
                or hashlib.sha256(
                    json.dumps(
                        [(m.isoformat(), str(v)) for m, v in zip(months, proposed, strict=True)]
                    ).encode()
                ).hexdigest()
            )
            line = DraftLine(
                firm=firm,
                organisation=organisation,
                draft=draft,
                account=account,
                tracking_option=item.tracking_option,
                original_budget=item.original_budget
                if item.tracking_option is not None
                else original_budget,
                section=SECTION_BY_TYPE.get(account.type, Section.OPERATING_EXPENSES).value,
                trigger=trigger,
                trigger_period=last_closed,
                trigger_actual=0,
                trigger_budget=0,
                trigger_variance=0,
                forecast_total=sum(proposed, Decimal(0)),
                budget_total=sum((b or Decimal(0) for b in original), Decimal(0)),
                method=item.method or method,
                confidence=item.confidence,
                confidence_label=item.confidence_label,
                backtest_mase=item.backtest_mase,
                backtest_smape=item.backtest_smape,
                history_months=item.history_months,
                forecast_notes=list(item.forecast_notes),
                inputs_hash=digest,
                narrative=item.narrative or narrative,
                accepted=item.accepted,
            )
            balances = []
            for month, before, after in zip(months, original, proposed, strict=True):
                lo_80, hi_80, lo_95, hi_95 = item.intervals.get(month, (after,) * 4)
                balances.append(
                    DraftBalance(
                        firm=firm,
                        organisation=organisation,
                        period=month,
                        original_amount=before,
                        suggested_amount=after,
                        lo_80=money(lo_80),
                        hi_80=money(hi_80),
                        lo_95=money(lo_95),
                        hi_95=money(hi_95),
                    )
                )
            policy_line = _policy_line(line, balances, ranges)
            _policy_apply(line, policy_rules.policy_evaluate_line(policy, policy_line))
            line.provenance = {
                **provenance,
                **item.provenance,
                "policy": {
                    "version": draft.policy_version,
                    "checks": policy_rules.policy_checks(policy, policy_line),
                    "extra_approval_reasons": line.extra_approval_reasons,
                },
            }
            history_note(line, reason=reason, user=user)
            line.save()
            for balance in balances:
                balance.line = line
                history_note(balance, reason=reason, user=user)
                balance.save()
    return draft


# --- Edits -------------------------------------------------------------------------------------


def _locked(firm: Firm, draft: Draft, *, figures: bool = True) -> Draft:
    """The draft, locked, if it can still change; `figures`: a person's edit or acceptance."""
    locked = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
    if not locked.is_editable:
        raise DraftError(
            f"This draft is {locked.get_status_display().lower()}: it can no longer be changed."
        )
    if figures and not locked.figures_editable:
        raise DraftError(
            "A rollback draft carries the figures of the earlier revision it rolls back to and "
            "cannot be edited. To put other figures back, have it rejected and roll back again."
        )
    return locked


def _revision_bump(firm: Firm, draft: Draft, reason: str, user: User | None) -> None:
    draft.revision += 1
    draft.updated_at = timezone.now()
    # The acting user is set explicitly, so the history is right outside a request too (tasks,
    # the API); None for automatic changes, which are nobody's edit.
    history_note(draft, reason=reason, user=user)
    draft.save()
    if draft.status == Draft.Status.SUBMITTED:
        # A draft changed while waiting for approval: earlier approvals were of other figures,
        # so approval starts again at the first step (approvals/receivers.py, in this
        # transaction).
        submitted_draft_revised.send(sender=Draft, firm=firm, draft=draft)


def _line_of(firm: Firm, draft: Draft, line: DraftLine) -> DraftLine:
    try:
        return (
            DraftLine.objects.for_firm(firm).select_related("account").get(pk=line.pk, draft=draft)
        )
    except DraftLine.DoesNotExist as exc:
        raise DraftError("That line is not part of this draft.") from exc


def _policy_of(firm: Firm, draft: Draft) -> policy_rules.Policy:
    return policy_from_row(budget_policy_get(firm=firm, organisation=draft.organisation))


def _policy_recheck(firm: Firm, draft: Draft, line: DraftLine) -> None:
    balances = list(DraftBalance.objects.for_firm(firm).filter(line=line).order_by("period"))
    _policy_apply(
        line,
        policy_rules.policy_evaluate_line(
            _policy_of(firm, draft), _policy_line(line, balances, _line_ranges(firm, line))
        ),
    )


def _amount(value) -> Decimal:
    """A figure as the draft stores it; one the budget cannot hold is refused, not rounded or
    clamped (guardrails.figure_problem)."""
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise DraftError(f"{value!r} is not an amount.") from exc
    problem = policy_rules.figure_problem(amount)
    if problem:
        raise DraftError(problem)
    return money(amount)


def draft_line_check(
    *, firm: Firm, draft: Draft, line: DraftLine, period: Period, amount
) -> policy_rules.PolicyResult:
    """The policy's verdict on a figure before it is saved (the form checks as you type)."""
    line = _line_of(firm, draft, line)
    balances = list(DraftBalance.objects.for_firm(firm).filter(line=line).order_by("period"))
    target = next((b for b in balances if b.period == period), None)
    if target is None:
        raise DraftError(f"The draft has no {period:%B %Y} for this line.")
    target.edited_amount = _amount(amount)
    return policy_rules.policy_evaluate_line(
        _policy_of(firm, draft), _policy_line(line, balances, _line_ranges(firm, line))
    )


def draft_line_edit(
    *,
    firm: Firm,
    draft: Draft,
    line: DraftLine,
    period: Period,
    amount,
    reason: str,
    user: User | None,
    editor_email: str = "",
) -> DraftLine:
    """Set one month's figure. A reason is required; the policy is checked again; the draft's
    revision goes up. An edited line counts as accepted by its editor: `user`, or for someone
    outside the firm (a department's manager, `user` None) `editor_email`."""
    reason = (reason or "").strip()
    if not reason:
        raise DraftError("Say why you changed the figure: a reason is required.")
    amount = _amount(amount)
    with transaction.atomic():
        draft = _locked(firm, draft)
        line = _line_of(firm, draft, line)
        try:
            balance = DraftBalance.objects.for_firm(firm).get(line=line, period=period)
        except DraftBalance.DoesNotExist as exc:
            raise DraftError(f"The draft has no {period:%B %Y} for this line.") from exc
        balance.edited_amount = amount
        balance.edited_by = user
        balance.edited_by_email = "" if user is not None else editor_email.strip().lower()
        balance.edited_at = timezone.now()
        balance.edit_reason = reason
        history_note(balance, reason=f"Edited: {reason}", user=user)
        balance.save()
        line.reason = reason
        line.edited = True
        line.accepted = True
        _policy_recheck(firm, draft, line)
        history_note(line, reason=f"Edited {period:%b %Y}: {reason}", user=user)
        line.save()
        _revision_bump(firm, draft, f"{line} edited: {reason}", user)
    return line


def _lines_in(firm: Firm, draft: Draft, section: str | None) -> list[DraftLine]:
    lines = DraftLine.objects.for_firm(firm).filter(draft=draft).select_related("account")
    if section:
        lines = lines.filter(section=section)
    return list(lines.order_by("pk"))


def _accept(lines: list[DraftLine], reason: str, user: User | None) -> int:
    changed = 0
    for line in lines:
        if not line.accepted:
            line.accepted = True
            history_note(line, reason=reason, user=user)
            line.save()
            changed += 1
    return changed


def _reset(
    *,
    firm: Firm,
    draft: Draft,
    lines: list[DraftLine],
    reason: str,
    user: User | None,
) -> int:
    changed = 0
    for line in lines:
        edited = list(
            DraftBalance.objects.for_firm(firm).filter(line=line, edited_amount__isnull=False)
        )
        for balance in edited:
            balance.edited_amount = None
            balance.edited_by = None
            balance.edited_by_email = ""
            balance.edited_at = None
            balance.edit_reason = ""
            history_note(balance, reason=reason, user=user)
            balance.save()
        if edited or line.accepted or line.edited:
            line.accepted = False
            line.edited = False
            line.reason = ""
            _policy_recheck(firm, draft, line)
            history_note(line, reason=reason, user=user)
            line.save()
            changed += 1
    return changed


def draft_line_accept(*, firm: Firm, draft: Draft, line: DraftLine, user: User) -> DraftLine:
    with transaction.atomic():
        draft = _locked(firm, draft)
        line = _line_of(firm, draft, line)
        if _accept([line], "Suggestion accepted", user):
            _revision_bump(firm, draft, f"{line}: suggestion accepted", user)
    return line


def draft_lines_accept(
    *,
    firm: Firm,
    draft: Draft,
    line_ids: list[int] | None = None,
    material: bool = False,
    user: User,
) -> int:
    """Accept the suggestions of the lines named, or of every line a material variance
    triggered, in one change of the draft; returns how many were newly accepted. The partner
    API's accept action; the screens accept one line or a section the same way."""
    with transaction.atomic():
        draft = _locked(firm, draft)
        lines = _lines_in(firm, draft, None)
        if line_ids is not None:
            known = {line.pk for line in lines}
            missing = sorted(set(line_ids) - known)
            if missing:
                raise DraftError(
                    f"Not lines of this draft: {', '.join(str(pk) for pk in missing)}."
                )
            lines = [line for line in lines if line.pk in set(line_ids)]
        if material:
            triggered = (DraftLine.Trigger.VARIANCE, DraftLine.Trigger.BOTH)
            lines = [line for line in lines if line.trigger in triggered]
        changed = _accept(lines, "Suggestion accepted", user)
        if changed:
            _revision_bump(
                firm, draft, f"{changed} line{'s' if changed != 1 else ''} accepted", user
            )
    return changed


# The decisions a preparer takes on many lines at once (the draft screen's bulk form).
LINES_DECISIONS = {
    "accept": "Accept the figures shown",
    "forecast": "Use the forecast (drop edits) and accept",
    "original": "Keep the original budget and accept",
    "percent": "Change the figures shown by a percentage and accept",
    "amount": "Set every month to one figure and accept",
}
# The decisions that set figures: edits, so each needs the preparer's reason.
LINES_EDITS = ("original", "percent", "amount")
LINES_VALUE = {"percent": "a percentage, such as 5 or -10", "amount": "a figure, such as 2500"}


def draft_lines_value(*, decision: str, value) -> Decimal | None:
    """The percentage or figure a decision takes, checked: a figure the budget cannot hold and
    a cut of more than the whole are refused with what to type."""
    if decision not in LINES_VALUE:
        return None
    if value in (None, ""):
        raise DraftError(f"Type {LINES_VALUE[decision]}.")
    if decision == "amount":
        return _amount(value)
    try:
        percent = Decimal(str(value).replace("%", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise DraftError(f"{value!r} is not a percentage: type {LINES_VALUE[decision]}.") from exc
    if not percent.is_finite() or not Decimal(-100) <= percent <= Decimal(1000):
        raise DraftError("A percentage from -100 (nothing left) to 1000 (eleven times).")
    return percent


def _set_figures(
    *,
    firm: Firm,
    draft: Draft,
    lines: list[DraftLine],
    decision: str,
    value: Decimal | None,
    reason: str,
    user: User,
) -> int:
    """Every month of each line set by the decision (selectors.decision_figure), as an edit
    with the preparer's reason, so the history says who set which figure and why; the policy
    checks each line again."""
    changed = 0
    now = timezone.now()
    label = {
        "original": "Kept the original budget",
        "percent": f"Changed by {value}%",
        "amount": f"Set to {value}",
    }[decision]
    for line in lines:
        moved = False
        for balance in DraftBalance.objects.for_firm(firm).filter(line=line).order_by("period"):
            figure = _amount(decision_figure(decision=decision, balance=balance, value=value))
            if balance.effective_amount == figure and balance.edited_amount is not None:
                continue
            balance.edited_amount = figure
            balance.edited_by = user
            balance.edited_by_email = ""
            balance.edited_at = now
            balance.edit_reason = reason
            history_note(balance, reason=f"{label}: {reason}", user=user)
            balance.save()
            moved = True
        if moved or not line.accepted:
            line.reason = reason
            line.edited = True
            line.accepted = True
            _policy_recheck(firm, draft, line)
            history_note(line, reason=f"{label}: {reason}", user=user)
            line.save()
            changed += 1
    return changed


def draft_lines_decide(
    *,
    firm: Firm,
    draft: Draft,
    line_ids: list[int],
    decision: str,
    reason: str = "",
    value: str | Decimal | None = None,
    user: User,
) -> int:
    """One decision on many lines, in one change of the draft (one revision): accept the figures
    shown, go back to the forecast and accept it, or set figures (keep the original budget,
    change the figures shown by a percentage, or set every month to one figure: edits, so a
    reason is required). Returns how many lines changed."""
    if decision not in LINES_DECISIONS:
        raise DraftError(f"decision: choose one of {', '.join(LINES_DECISIONS)}.")
    reason = (reason or "").strip()
    if decision in LINES_EDITS and not reason:
        raise DraftError("Say why you set these figures: a reason is required.")
    checked_value = draft_lines_value(decision=decision, value=value)
    if not line_ids:
        raise DraftError("Choose at least one line.")
    with transaction.atomic():
        draft = _locked(firm, draft)
        lines = _lines_in(firm, draft, None)
        known = {line.pk for line in lines}
        missing = sorted(set(line_ids) - known)
        if missing:
            raise DraftError(f"Not lines of this draft: {', '.join(str(pk) for pk in missing)}.")
        chosen = set(line_ids)
        lines = [line for line in lines if line.pk in chosen]
        if decision == "accept":
            changed = _accept(lines, "Accepted with other lines", user)
        elif decision == "forecast":
            # Only edited lines go back; an accepted forecast stays as it is (no history noise).
            _reset(
                firm=firm,
                draft=draft,
                lines=[line for line in lines if line.edited],
                reason="Back to the forecast with other lines",
                user=user,
            )
            changed = _accept(lines, "Forecast accepted with other lines", user)
        else:
            changed = _set_figures(
                firm=firm,
                draft=draft,
                lines=lines,
                decision=decision,
                value=checked_value,
                reason=reason,
                user=user,
            )
        if changed:
            plural = "s" if changed != 1 else ""
            note = f"{changed} line{plural}: {LINES_DECISIONS[decision].lower()}"
            if checked_value is not None:
                note += f" ({checked_value}{'%' if decision == 'percent' else ''})"
            if reason:
                note += f" ({reason})"
            _revision_bump(firm, draft, note, user)
    return changed


def draft_line_reset(*, firm: Firm, draft: Draft, line: DraftLine, user: User) -> DraftLine:
    """Back to the suggestion: edits removed, not accepted."""
    with transaction.atomic():
        draft = _locked(firm, draft)
        line = _line_of(firm, draft, line)
        if _reset(
            firm=firm, draft=draft, lines=[line], reason="Reset to the suggestion", user=user
        ):
            _revision_bump(firm, draft, f"{line}: reset to the suggestion", user)
    return line


def draft_section_accept(*, firm: Firm, draft: Draft, section: str, user: User) -> int:
    with transaction.atomic():
        draft = _locked(firm, draft)
        changed = _accept(_lines_in(firm, draft, section), f"Section {section} accepted", user)
        if changed:
            _revision_bump(firm, draft, f"{changed} lines of {section} accepted", user)
    return changed


def draft_section_reset(*, firm: Firm, draft: Draft, section: str, user: User) -> int:
    with transaction.atomic():
        draft = _locked(firm, draft)
        changed = _reset(
            firm=firm,
            draft=draft,
            lines=_lines_in(firm, draft, section),
            reason=f"Section {section} reset",
            user=user,
        )
        if changed:
            _revision_bump(
                firm, draft, f"{changed} lines of {section} reset to the suggestion", user
            )
    return changed


def draft_policy_recheck(*, firm: Firm, draft: Draft) -> int:
    """Check every line against the current policy (after the policy changed); returns the
    number of lines with violations. Bumps the revision when a verdict changed."""
    with transaction.atomic():
        draft = _locked(firm, draft, figures=False)
        policy_row = budget_policy_get(firm=firm, organisation=draft.organisation)
        changed = failing = 0
        for line in _lines_in(firm, draft, None):
            before = (line.policy_violations, line.needs_extra_approval)
            _policy_recheck(firm, draft, line)
            if (line.policy_violations, line.needs_extra_approval) != before:
                # Not anyone's edit: the policy's own history says who changed the rules.
                history_note(line, reason="Policy checked again", user=None)
                line.save()
                changed += 1
            failing += not line.policy_ok
        version = policy_row.version if policy_row else 0
        if changed or draft.policy_version != version:
            draft.policy_version = version
            _revision_bump(firm, draft, f"Checked against policy version {version}", None)
    return failing


def draft_status_set(*, draft: Draft, status: str, reason: str, user: User | None) -> None:
    """Move a draft to `status` (submitted, approved, awaiting import, published, ...) with the
    reason in its history. Approval and publishing decide when; this is how, for both."""
    draft.status = status
    draft.updated_at = timezone.now()
    history_note(draft, reason=reason, user=user)
    draft.save(update_fields=["status", "updated_at"])


def drafts_recheck(*, firm: Firm, organisation: ClientOrganisation) -> int:
    """Check the organisation's open drafts against its current policy (after it changed), so
    no stale verdict shows. Drafts waiting for approval keep the verdicts they were submitted
    with. Returns the drafts checked."""
    drafts = list(
        Draft.objects.for_firm(firm).filter(organisation=organisation, status=Draft.Status.DRAFT)
    )
    for draft in drafts:
        draft_policy_recheck(firm=firm, draft=draft)
    return len(drafts)


def draft_can_submit(*, firm: Firm, draft: Draft) -> list[str]:
    """Why the draft cannot be submitted for approval yet; empty when it can."""
    reasons = []
    if draft.status != Draft.Status.DRAFT:
        reasons.append(f"The draft is {draft.get_status_display().lower()}, not a draft.")
    lines = list(DraftLine.objects.for_firm(firm).filter(draft=draft))
    if not lines:
        reasons.append("The draft has no lines.")
    failing = [line for line in lines if not line.policy_ok]
    if failing:
        reasons.append(
            f"{len(failing)} line{'s' if len(failing) != 1 else ''} break the policy: edit "
            "them within the policy's limits first."
        )
    undecided = [line for line in lines if not line.accepted]
    if undecided:
        reasons.append(
            f"{len(undecided)} line{'s' if len(undecided) != 1 else ''} neither accepted nor "
            "edited: accept or edit every line."
        )
    return reasons


# --- Accuracy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    scored: int
    balances_filled: int


def forecast_records_score(*, firm: Firm, organisation: ClientOrganisation) -> ScoreResult:
    """Fill the actual and the errors of every kept forecast whose month has now closed, and
    the actual of drafts' months. Run after each sync; running it twice changes nothing."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    last_closed = forecast_last_closed(profile)
    if last_closed is None:
        return ScoreResult(0, 0)
    records = list(
        ForecastRecord.objects.for_firm(firm).filter(
            organisation=organisation, actual__isnull=True, target__lte=last_closed
        )
    )
    balances = list(
        DraftBalance.objects.for_firm(firm)
        .filter(organisation=organisation, actual__isnull=True, period__lte=last_closed)
        .select_related("line")
    )
    if not records and not balances:
        return ScoreResult(0, 0)
    periods = {r.target for r in records} | {b.period for b in balances}
    actuals = {
        (account, option, period): amount
        for account, option, period, amount in ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, period__in=periods)
        .values_list("account_id", "tracking_option_id", "period", "amount")
    }
    now = timezone.now()
    for record in records:
        # A closed month with no row was quiet: the sync stores every month's P&L, zero or not.
        actual = actuals.get((record.account_id, record.tracking_option_id, record.target))
        actual = money(actual if actual is not None else 0)
        record.actual = actual
        record.abs_error = abs(actual - record.point)
        record.within_80 = record.lo_80 <= actual <= record.hi_80
        record.within_95 = record.lo_95 <= actual <= record.hi_95
        record.scored_at = now
    rows_update(
        queryset=ForecastRecord.objects.for_firm(firm),
        rows=records,
        fields=["actual", "abs_error", "within_80", "within_95", "scored_at"],
    )
    # Actuals are facts from Xero, not a change to the draft: no revision, no history row.
    for balance in balances:
        actual = actuals.get(
            (balance.line.account_id, balance.line.tracking_option_id, balance.period)
        )
        balance.actual = money(actual if actual is not None else 0)
    rows_update(queryset=DraftBalance.objects.for_firm(firm), rows=balances, fields=["actual"])
    logger.info("Scored %d forecasts of %s", len(records), organisation)
    return ScoreResult(len(records), len(balances))


def organisation_forecast_after_sync(
    *, firm: Firm, organisation: ClientOrganisation, closed: bool
) -> ForecastRun | None:
    """For the post-close pipeline: score kept forecasts, and after a close queue a draft."""
    forecast_records_score(firm=firm, organisation=organisation)
    if not closed:
        return None
    return forecast_run_start(firm=firm, organisation=organisation, source=Draft.Source.CLOSE)
