"""Writes for scenarios: create one, add adjustments (typed or read from a confirmed sentence),
remove one, rename, and turn a scenario into a draft.

Every change bumps the scenario's `version` and says why in its history (and in the history of
each adjustment added or removed), so the audit log shows each version. Adjustments are
checked by computing the scenario with them before anything is saved: one that cannot apply
saves nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from budgeting.drafts.guardrails import MAX_DRAFT_HORIZON
from budgeting.drafts.models import Draft, DraftLine
from budgeting.drafts.services import FiguresLine, draft_create_from_figures
from budgeting.ledger.models import Account, Budget, TrackingOption
from budgeting.scenarios.maths import Adjustment, Change, ScenarioError
from budgeting.scenarios.models import Scenario, ScenarioAdjustment
from budgeting.scenarios.selectors import (
    OPEN_DRAFT,
    adjustment_from_row,
    budget_figures,
    chart_accounts,
    scenario_adjustments,
    scenario_compute,
)
from budgeting.scenarios.sentences import adjustment_describe
from core.history import history_note
from core.months import add_months
from tenants.models import ClientOrganisation, Firm, User

MAX_MONTHS = 36
MAX_ADJUSTMENTS = 50


class ScenarioServiceError(ValueError):
    """A scenario change that cannot be made; the message says why, for the user."""


def scenario_create(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    name: str,
    first_period: dt.date,
    months: int,
    base: str = Scenario.Base.BUDGET,
    base_budget: Budget | None = None,
    base_draft: Draft | None = None,
    user: User | None = None,
) -> Scenario:
    name = (name or "").strip()
    if not name:
        raise ScenarioServiceError("Give the scenario a name.")
    if not 1 <= months <= MAX_MONTHS:
        raise ScenarioServiceError(f"A scenario covers 1 to {MAX_MONTHS} months.")
    if first_period.day != 1:
        raise ScenarioServiceError("A scenario starts on the first day of a month.")
    try:
        last_period = add_months(first_period, months - 1)
    except ValueError as exc:  # past the year 9999, the last a date can hold
        raise ScenarioServiceError("A scenario's months end by December 9999.") from exc
    if base == Scenario.Base.BUDGET:
        if base_budget is None or base_budget.organisation_id != organisation.pk:
            raise ScenarioServiceError("Choose the budget the scenario starts from.")
        base_draft = None
    elif base == Scenario.Base.DRAFT:
        if (
            base_draft is None
            or base_draft.organisation_id != organisation.pk
            or base_draft.status not in OPEN_DRAFT
        ):
            raise ScenarioServiceError("Choose an open draft the scenario starts from.")
        base_budget = None
    elif base == Scenario.Base.FORECAST:
        base_budget = base_draft = None
    else:
        raise ScenarioServiceError(f"{base!r} is not a base a scenario can start from.")
    scenario = Scenario(
        firm=firm,
        organisation=organisation,
        name=name[:120],
        base=base,
        base_budget=base_budget,
        base_draft=base_draft,
        first_period=first_period,
        last_period=last_period,
        created_by=user,
    )
    history_note(scenario, reason=f"Scenario created: {scenario.name}", user=user)
    scenario.save()
    return scenario


def _locked(firm: Firm, scenario: Scenario) -> Scenario:
    return (
        Scenario.objects.for_firm(firm)
        .select_for_update(of=("self",))
        .select_related("organisation", "base_draft")
        .get(pk=scenario.pk)
    )


def _version_bump(scenario: Scenario, reason: str, user: User | None) -> None:
    scenario.version += 1
    scenario.updated_at = timezone.now()
    history_note(scenario, reason=reason, user=user)
    scenario.save()


def _option(firm: Firm, scenario: Scenario, key: int | None) -> TrackingOption | None:
    if key is None:
        return None
    try:
        return TrackingOption.objects.for_firm(firm).get(pk=key, organisation=scenario.organisation)
    except TrackingOption.DoesNotExist as exc:
        raise ScenarioServiceError("That tracking option is not this organisation's.") from exc


def scenario_adjustments_add(
    *,
    firm: Firm,
    scenario: Scenario,
    adjustments: Sequence[Adjustment],
    user: User | None,
    sentence: str = "",
    read_by: Sequence[str] = (),
) -> list[ScenarioAdjustment]:
    """Add adjustments after the scenario's own; all apply or none is saved. `read_by` names,
    adjustment by adjustment, the chat model that read it ("" for the parser or a form): the
    history says so beside the user who confirmed it."""
    if not adjustments:
        raise ScenarioServiceError("There is no adjustment to add.")
    models = [*read_by, *[""] * (len(adjustments) - len(read_by))]
    with transaction.atomic():
        scenario = _locked(firm, scenario)
        rows = scenario_adjustments(firm=firm, scenario=scenario)
        if len(rows) + len(adjustments) > MAX_ADJUSTMENTS:
            raise ScenarioServiceError(f"A scenario holds at most {MAX_ADJUSTMENTS} adjustments.")
        chart = chart_accounts(firm=firm, organisation=scenario.organisation)
        known = {account.key for account in chart}
        for adjustment in adjustments:
            unknown = adjustment.target.account_keys - known
            if unknown:
                raise ScenarioServiceError("An account named is not on this organisation's P&L.")
        try:
            view = scenario_compute(
                firm=firm,
                scenario=scenario,
                adjustments=[*(adjustment_from_row(r) for r in rows), *adjustments],
                chart=chart,
            )
        except ScenarioError as exc:
            raise ScenarioServiceError(str(exc)) from exc
        added = []
        position = max((r.position for r in rows), default=-1) + 1
        for adjustment, model in zip(adjustments, models, strict=True):
            target = adjustment.target
            matched = [a for a in chart if target.matches(a)]
            if not matched:
                raise ScenarioServiceError("No account of this organisation is in that target.")
            row = ScenarioAdjustment(
                firm=firm,
                organisation=scenario.organisation,
                scenario=scenario,
                position=position,
                account_ids=sorted(target.account_keys),
                group=target.group.value if target.group else "",
                account_class=target.account_class,
                account_type=target.account_type,
                tracking_option=_option(firm, scenario, target.tracking_option),
                change=adjustment.change.value,
                value=adjustment.value,
                per=adjustment.per.value
                if adjustment.per and adjustment.change != Change.PERCENT
                else "",
                first_period=adjustment.first,
                last_period=adjustment.last,
                cost_follows=adjustment.cost_follows,
                description=adjustment_describe(adjustment, matched, currency=view.currency)[:255],
            )
            read = f" (read by {model}, confirmed)" if model else ""
            history_note(row, reason=f"Added: {row.description}{read}", user=user)
            row.save()
            added.append(row)
            position += 1
        if sentence:
            scenario.sentence = sentence.strip()[:2000]
        words = f"“{sentence.strip()}”" if sentence else "; ".join(r.description for r in added)
        _version_bump(scenario, f"Adjusted: {words}", user)
    return added


def scenario_adjustment_remove(
    *, firm: Firm, scenario: Scenario, adjustment: ScenarioAdjustment, user: User | None
) -> None:
    with transaction.atomic():
        scenario = _locked(firm, scenario)
        try:
            row = ScenarioAdjustment.objects.for_firm(firm).get(pk=adjustment.pk, scenario=scenario)
        except ScenarioAdjustment.DoesNotExist as exc:
            raise ScenarioServiceError("That adjustment is not part of this scenario.") from exc
        history_note(row, reason=f"Removed: {row.description}", user=user)
        row.delete()
        _version_bump(scenario, f"Removed: {row.description}", user)


def scenario_rename(*, firm: Firm, scenario: Scenario, name: str, user: User | None) -> Scenario:
    name = (name or "").strip()[:120]
    if not name:
        raise ScenarioServiceError("Give the scenario a name.")
    with transaction.atomic():
        scenario = _locked(firm, scenario)
        if scenario.name != name:
            old, scenario.name = scenario.name, name
            _version_bump(scenario, f"Renamed from {old}", user)
    return scenario


def _original_budget(firm: Firm, scenario: Scenario) -> Budget | None:
    """The budget a draft of the scenario proposes changes to: the scenario's own budget, the
    draft's original, or else the organisation's overall budget."""
    if scenario.base == Scenario.Base.BUDGET and scenario.base_budget_id:
        return scenario.base_budget
    if scenario.base == Scenario.Base.DRAFT and scenario.base_draft_id:
        return scenario.base_draft.original_budget
    return (
        Budget.objects.for_firm(firm)
        .filter(organisation=scenario.organisation, type=Budget.Type.OVERALL)
        .order_by("pk")
        .first()
    )


def scenario_draft_create(*, firm: Firm, scenario: Scenario, user: User | None) -> Draft:
    """The scenario's figures for its months still open, as a draft of the budget: each account
    whose figures differ from the budget becomes a line, checked against the policy; then the
    draft takes the normal path (guardrails, the approval chain, publishing)."""
    scenario = (
        Scenario.objects.for_firm(firm)
        .select_related("organisation", "base_budget", "base_draft")
        .get(pk=scenario.pk)
    )
    view = scenario_compute(firm=firm, scenario=scenario)
    last_closed = view.last_closed
    if last_closed is None:
        raise ScenarioServiceError(
            f"{scenario.organisation.name} has no closed month yet: sync it from Xero first."
        )
    first = max(scenario.first_period, add_months(last_closed, 1))
    months = [m for m in view.months if m >= first]
    if not months:
        raise ScenarioServiceError(
            "Every month of this scenario is closed: a draft changes months still to come."
        )
    if len(months) > MAX_DRAFT_HORIZON:
        raise ScenarioServiceError(
            f"A draft covers at most {MAX_DRAFT_HORIZON} months; this scenario has "
            f"{len(months)} open. Make a scenario of {MAX_DRAFT_HORIZON} months or fewer."
        )
    original = _original_budget(firm, scenario)
    if original is None:
        raise ScenarioServiceError("The organisation has no budget for a draft to change.")
    before = budget_figures(firm, original.pk, months[0], months[-1])
    accounts = {
        a.pk: a
        for a in Account.objects.for_firm(firm).filter(
            organisation=scenario.organisation, pk__in=[k for k, _o in view.result.figures]
        )
    }
    # An adjustment of one tracking option changes its account's overall line and, where the
    # organisation keeps a budget for that option, the option's line of that tracking budget,
    # as a forecast draft has both.
    option_ids = {o for (_k, o) in view.result.figures if o is not None}
    option_budgets = {
        b.tracking_option_id: b
        for b in Budget.objects.for_firm(firm)
        .filter(
            organisation=scenario.organisation,
            type=Budget.Type.TRACKING,
            tracking_option_id__in=option_ids,
            tracking_option_2__isnull=True,
        )
        .select_related("tracking_option")
        .order_by("pk")
    }
    option_before = {
        option: budget_figures(firm, budget.pk, months[0], months[-1])
        for option, budget in option_budgets.items()
    }
    lines = []
    ordered = sorted(view.result.figures.items(), key=lambda item: (item[0][0], item[0][1] or 0))
    for (key, option), row in ordered:
        if key not in accounts or (option is not None and option not in option_budgets):
            continue  # an option with no budget of its own is in its account's overall line
        proposed = {m: row.get(m, Decimal(0)) for m in months}
        source = before if option is None else option_before[option]
        was = {m: source.get((key, None), {}).get(m, Decimal(0)) for m in months}
        if proposed != was:
            budget = option_budgets.get(option)
            lines.append(
                FiguresLine(
                    account=accounts[key],
                    proposed=proposed,
                    original=was,
                    tracking_option=budget.tracking_option if budget else None,
                    original_budget=budget,
                )
            )
    reason = f"From scenario {scenario.name}, version {scenario.version}"[:100]
    with transaction.atomic():
        draft = draft_create_from_figures(
            firm=firm,
            organisation=scenario.organisation,
            lines=lines,
            first_period=months[0],
            horizon=len(months),
            original_budget=original,
            source=Draft.Source.SCENARIO,
            trigger=DraftLine.Trigger.SCENARIO,
            method="scenario",
            narrative=(
                f"From the what-if scenario {scenario.name} (version {scenario.version}): "
                + "; ".join(r.description for r in view.adjustments)
            )[:2000],
            provenance={
                "source": "scenario",
                "scenario": {
                    "id": scenario.pk,
                    "name": scenario.name,
                    "version": scenario.version,
                    "base": scenario.base,
                    "adjustments": [r.description for r in view.adjustments],
                },
            },
            reason=reason,
            user=user,
        )
        scenario = _locked(firm, scenario)
        scenario.draft = draft
        _version_bump(scenario, f"Became draft {draft.pk}", user)
    return draft
