"""Writes for annual drafts: next financial year's budget drafted from the history, drafting a
year again, and applying the firm's tendency to a line.

`annual_draft_create` forecasts every Profit and Loss line of an organisation (overall and per
tracking option) with at least one actual in its last 36 closed months, with the forecasting
engine (seasonality kept, the 80% and 95% intervals), to the end of the chosen financial year,
and keeps the year's twelve months as a drafts.Draft (source "annual") through
`draft_create_from_figures`: the draft's review, guardrails, approval chain and publishing are
the drafts'. Each line gets its flags (maths.line_flags) and, where the firm's approvers
leaned one way on the same line of this client's earlier drafts, the tendency.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from budgeting.annual import maths
from budgeting.annual.models import AnnualDraft, AnnualLineFlag
from budgeting.annual.selectors import (
    annual_draft_current,
    annual_years,
    decision_changes,
)
from budgeting.deals.selectors import sales_pipeline_lines
from budgeting.drafts.models import Draft, DraftLine
from budgeting.drafts.provenance import (
    LEVELS,
    PROVENANCE_VERSION,
    history_record,
    inputs_hash,
    sales_pipeline_record,
)
from budgeting.drafts.selectors import forecast_lines_load, organisation_policy
from budgeting.drafts.services import (
    DraftError,
    FiguresLine,
    draft_create_from_figures,
    draft_lines_decide,
    draft_status_set,
    forecast_realised_load,
    method_label,
    pipeline_shift,
)
from budgeting.forecasting import forecast_series
from core.history import history_note
from core.money import amount_in, money
from core.months import add_months, months_between
from tenants.models import ClientOrganisation, Firm, User

logger = logging.getLogger(__name__)


class AnnualDraftError(Exception):
    """An annual draft that cannot be made or changed; the message says why and what to do."""


def _cents(value: float) -> Decimal:
    return money(Decimal(str(value)))


def annual_draft_create(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    user: User | None,
    financial_year: int | None = None,
    departure_percent: Decimal | None = None,
    supersede: AnnualDraft | None = None,
) -> AnnualDraft:
    """Draft `financial_year` (the next one by default) from the history.

    A year already drafted is refused unless `supersede` is its current draft (the person chose
    "Draft again"): the new draft then supersedes it, and the earlier one, if still a draft,
    is rejected with the reason in its history. Run twice with the same `supersede`, the
    second run is refused: that draft is no longer current.
    """
    years = annual_years(firm=firm, organisation=organisation)
    if years.profile is None or years.last_closed is None:
        raise AnnualDraftError(
            f"{organisation.name} has no closed month yet: sync it from Xero (a month closes "
            "when Xero's period lock date passes its end), then draft next year."
        )
    last_closed = years.last_closed
    year = years.default if financial_year is None else years.get(int(financial_year))
    if year is None:
        choices = ", ".join(y.label for y in years.years) or "none"
        raise AnnualDraftError(
            f"FY{financial_year} cannot be drafted: a draft covers a financial year still wholly "
            f"to come (after {last_closed:%B %Y}, the last close) and within two years of it. "
            f"Years that can be drafted: {choices}."
        )
    departure = Decimal(
        str(maths.DEFAULT_DEPARTURE_PERCENT if departure_percent is None else departure_percent)
    )
    if not Decimal(1) <= departure <= Decimal(1000):
        raise AnnualDraftError("The departure threshold is a percentage from 1 to 1000.")
    current = annual_draft_current(firm=firm, organisation=organisation, financial_year=year.year)
    if supersede is not None and (current is None or supersede.pk != current.pk):
        raise AnnualDraftError(
            f"That draft of {year.label} is no longer the current one: it was drafted again."
        )
    if current is not None and supersede is None:
        raise AnnualDraftError(
            f"{year.label} of {organisation.name} was drafted on "
            f"{timezone.localtime(current.created_at):%d %B %Y} (draft {current.draft_id}). "
            "To draft it again, choose Draft again: the new draft supersedes it."
        )
    if current is not None and current.draft.status == Draft.Status.SUBMITTED:
        raise AnnualDraftError(
            f"{year.label}'s draft is waiting for approval: have it rejected (or approved) "
            "before drafting the year again."
        )
    policy = organisation_policy(firm=firm, organisation=organisation)
    if not policy.allows_drafts:
        raise AnnualDraftError("The budget policy is read-only analysis: it allows no drafts.")

    steps = len(months_between(add_months(last_closed, 1), year.last_period))
    loaded = forecast_lines_load(
        firm=firm,
        organisation=organisation,
        profile=years.profile,
        last_closed=last_closed,
        horizon=steps,
    )
    realised = forecast_realised_load(firm=firm, organisation=organisation)
    tendencies = decision_changes(firm=firm, organisation=organisation)
    currency = years.profile.base_currency
    history_months = months_between(loaded.first_month, last_closed)
    figures: list[FiguresLine] = []
    flags_by_key: dict[tuple[int, int | None], list[maths.Flag]] = {}
    skipped = 0
    # The client's current sales pipeline for the year's revenue lines, blended as a rolling
    # draft blends it (the weight its backtest chose): deals closing in the year only.
    revenue = {s.key for s in loaded.lines if s.account_class == "REVENUE"}
    pipeline_upload, pipelines = (
        sales_pipeline_lines(
            firm=firm,
            organisation=organisation,
            last_actual=last_closed,
            months=list(year.months),
            keys=revenue,
        )
        if revenue
        else (None, {})
    )
    for series in loaded.lines:
        if not any(series.actuals.values()):
            continue
        option_pk = series.tracking_option.pk if series.tracking_option else None
        if not policy.in_scope(account_id=series.account.pk, tracking_option_id=option_pk):
            skipped += 1
            continue
        values = series.history(first=loaded.first_month, last=last_closed)
        line_realised = realised.get(series.key) or None
        forecast = forecast_series(
            [float(v) for v in values], horizon=steps, levels=LEVELS, realised=line_realised
        )
        offset = steps - 12
        statistical = [_cents(x) for x in forecast.point[offset:]]
        pipeline = pipelines.get(series.key)
        # A revenue line with deals that month: the blend, its intervals moved with it.
        shifts = [
            pipeline_shift(pipeline, m, p) for m, p in zip(year.months, statistical, strict=True)
        ]
        point = [p + shift for p, shift in zip(statistical, shifts, strict=True)]
        intervals = {
            month: (
                _cents(forecast.lower(80)[offset + i]) + shifts[i],
                _cents(forecast.upper(80)[offset + i]) + shifts[i],
                _cents(forecast.lower(95)[offset + i]) + shifts[i],
                _cents(forecast.upper(95)[offset + i]) + shifts[i],
            )
            for i, month in enumerate(year.months)
        }
        flags = maths.line_flags(
            values=[float(v) for v in values],
            months=history_months,
            draft=[float(v) for v in point],
            draft_months=year.months,
            currency=currency,
            departure_percent=float(departure),
        )
        tendency = maths.tendency_of(tendencies.get(series.key, []))
        if tendency is not None:
            flags.append(maths.tendency_flag(tendency))
        flags_by_key[series.key] = flags
        total = sum(point, Decimal(0))
        last_twelve = sum(values[-12:], Decimal(0))
        lo_year = sum((i[0] for i in intervals.values()), Decimal(0))
        hi_year = sum((i[1] for i in intervals.values()), Decimal(0))
        narrative = (
            f"{year.label} drafted from {len(values)} months of actuals by "
            f"{method_label(forecast.method)}: {amount_in(total, currency)} for the year "
            f"against {amount_in(last_twelve, currency)} in the last twelve months (monthly 80% "
            f"intervals add up to {amount_in(lo_year, currency)} to "
            f"{amount_in(hi_year, currency)})."
        )
        if pipeline is not None:
            narrative += (
                f" Includes the sales pipeline (v{pipeline_upload.version}, weight "
                f"{pipeline.weight.weight}): {amount_in(total - sum(statistical, Decimal(0)), currency)}"
                " beside the statistical figures."
            )
        if flags:
            narrative += " Flagged: " + "; ".join(f.reason for f in flags)
        digest = inputs_hash(
            values=values, first=loaded.first_month, horizon=steps, realised=line_realised
        )
        kept = history_record(
            values=values, first=loaded.first_month, horizon=steps, realised=line_realised
        )
        kept["offset"] = offset
        figures.append(
            FiguresLine(
                account=series.account,
                tracking_option=series.tracking_option,
                proposed=dict(zip(year.months, point, strict=True)),
                original=None,
                intervals=intervals,
                method=forecast.method,
                confidence=forecast.confidence,
                confidence_label=forecast.confidence_label,
                backtest_mase=forecast.backtest_mase,
                backtest_smape=forecast.backtest_smape,
                history_months=len(values),
                forecast_notes=tuple(forecast.notes),
                inputs_hash=digest,
                narrative=narrative[:2000],
                accepted=False,
                provenance={
                    "version": PROVENANCE_VERSION,
                    "source": "annual",
                    "method": {
                        "name": forecast.method,
                        "label": method_label(forecast.method),
                        "confidence": forecast.confidence,
                        "confidence_label": forecast.confidence_label,
                        "backtest_mase": forecast.backtest_mase,
                        "backtest_smape": forecast.backtest_smape,
                        "notes": list(forecast.notes),
                        "spikes": [
                            add_months(loaded.first_month, int(i)).isoformat()
                            for i in forecast.spikes
                        ],
                    },
                    "history": kept,
                    "inputs_hash": digest,
                    "annual": {
                        "financial_year": year.year,
                        "flags": [f.kind for f in flags],
                    },
                    "narrative": {"shown": narrative[:2000]},
                },
            )
        )
        if pipeline is not None:
            figures[-1].provenance["sales_pipeline"] = sales_pipeline_record(
                upload=pipeline_upload,
                weight=pipeline.weight,
                months=[
                    (m, stat, p, pipeline.figures_of(m))
                    for m, stat, p in zip(year.months, statistical, point, strict=True)
                ],
            )
    if not figures:
        raise AnnualDraftError(
            f"{organisation.name} has no actuals in the {len(history_months)} months to "
            f"{last_closed:%B %Y}"
            + (" within the budget policy's scope" if skipped else "")
            + f": there is no history to draft {year.label} from, so no draft was made."
        )
    again = current is not None
    reason = (
        f"{year.label} drafted again from the history, superseding draft {current.draft_id}"
        if again
        else f"{year.label} drafted from the history"
    )
    try:
        with transaction.atomic():
            if again:
                current = AnnualDraft.objects.for_firm(firm).select_for_update().get(pk=current.pk)
                if current.superseded_at is not None:
                    raise AnnualDraftError(
                        f"That draft of {year.label} is no longer the current one: it was "
                        "drafted again."
                    )
                current.superseded_at = timezone.now()
                history_note(current, reason=f"Superseded: {year.label} drafted again", user=user)
                current.save()
                old = Draft.objects.for_firm(firm).select_for_update().get(pk=current.draft_id)
                if old.status == Draft.Status.DRAFT:
                    draft_status_set(
                        draft=old,
                        status=Draft.Status.REJECTED,
                        reason=f"Superseded: {year.label} drafted again",
                        user=user,
                    )
            draft = draft_create_from_figures(
                firm=firm,
                organisation=organisation,
                lines=figures,
                first_period=year.first_period,
                horizon=12,
                original_budget=None,
                source=Draft.Source.ANNUAL,
                trigger=DraftLine.Trigger.ANNUAL,
                method="annual",
                narrative="",
                provenance={},
                reason=reason,
                user=user,
                financial_year=year.year,
                lines_analysed=len(figures),
            )
            annual = AnnualDraft(
                firm=firm,
                organisation=organisation,
                draft=draft,
                financial_year=year.year,
                first_period=year.first_period,
                history_first=loaded.first_month,
                history_last=last_closed,
                departure_percent=departure,
                lines_skipped=skipped,
                created_by=user,
            )
            history_note(annual, reason=reason, user=user)
            annual.save()
            if again:
                current.superseded_by = annual
                history_note(current, reason=f"Superseded by draft {draft.pk}", user=user)
                current.save()
            lines = {
                (line.account_id, line.tracking_option_id): line
                for line in DraftLine.objects.for_firm(firm).filter(draft=draft)
            }
            for key, flags in flags_by_key.items():
                for flag in flags:
                    row = AnnualLineFlag(
                        firm=firm,
                        organisation=organisation,
                        annual=annual,
                        line=lines[key],
                        kind=flag.kind,
                        reason=flag.reason,
                        months=[m.isoformat() for m in flag.months],
                        percent=None if flag.percent is None else Decimal(f"{flag.percent:.1f}"),
                    )
                    history_note(row, reason=f"Flagged when {year.label} was drafted", user=user)
                    row.save()
    except DraftError as exc:
        raise AnnualDraftError(str(exc)) from exc
    except IntegrityError as exc:
        # Two people drafting the same year at once: the unique current draft keeps one.
        raise AnnualDraftError(
            f"{year.label} of {organisation.name} is being drafted already: open it from the "
            "organisation's drafts."
        ) from exc
    logger.info("%s of %s drafted: %d lines", year.label, organisation, len(figures))
    return annual


def annual_tendency_apply(*, firm: Firm, flag: AnnualLineFlag, user: User) -> AnnualLineFlag:
    """Change the line's figures by the firm's tendency (its median percent), once, as an edit
    with the tendency as the reason: the draft's revision moves and the history says who."""
    with transaction.atomic():
        flag = (
            AnnualLineFlag.objects.for_firm(firm)
            .select_for_update()
            .select_related("annual__draft", "line")
            .get(pk=flag.pk)
        )
        if flag.kind != AnnualLineFlag.Kind.TENDENCY or flag.percent is None:
            raise AnnualDraftError("Only the firm's tendency can be applied to a line.")
        if flag.applied_at is not None:
            raise AnnualDraftError(
                f"The tendency was applied to {flag.line} already, on "
                f"{timezone.localtime(flag.applied_at):%d %B %Y}."
            )
        reason = f"The firm's tendency applied ({flag.percent:+}%): {flag.reason}"
        try:
            draft_lines_decide(
                firm=firm,
                draft=flag.annual.draft,
                line_ids=[flag.line_id],
                decision="percent",
                value=flag.percent,
                reason=reason[:1000],
                user=user,
            )
        except DraftError as exc:
            raise AnnualDraftError(str(exc)) from exc
        flag.applied_at = timezone.now()
        flag.applied_by = user
        history_note(flag, reason=f"Tendency applied ({flag.percent:+}%)", user=user)
        flag.save()
    return flag
