"""Reads for scenarios: an organisation's chart as the maths sees it, a scenario's base (a budget,
a draft or the latest forecast) and actuals, the scenario's P&L, and sentences read over the
organisation's own chart.

The queries are a fixed few per scenario, however many accounts and months it has: the chart,
the base's balances, the actuals and the adjustments, each in one query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from budgeting.drafts.models import Draft, DraftBalance, ForecastRecord
from budgeting.drafts.selectors import forecast_last_closed
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    TrackingOption,
    XeroOrganisation,
)
from budgeting.scenarios import llm
from budgeting.scenarios.maths import (
    Adjustment,
    Change,
    ChartAccount,
    Figures,
    Group,
    Per,
    ScenarioResult,
    Target,
    scenario_result,
)
from budgeting.scenarios.models import MAX_COMPARED, Scenario, ScenarioAdjustment
from budgeting.scenarios.sentences import ParseResult, TrackingName, sentence_parse
from budgeting.variance.maths import SECTION_BY_TYPE
from core.months import months_between
from tenants.models import ClientOrganisation, Firm
from tenants.scoping import get_firm_object_or_404

OPEN_DRAFT = (Draft.Status.DRAFT, Draft.Status.SUBMITTED)


def scenario_list(*, firm: Firm, organisation: ClientOrganisation):
    return (
        Scenario.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("created_by", "base_budget", "base_draft", "draft")
        .order_by("-updated_at", "-pk")
    )


def scenario_get_or_404(
    *, firm: Firm, organisation: ClientOrganisation, scenario_id: int
) -> Scenario:
    return get_firm_object_or_404(Scenario, firm=firm, organisation=organisation, pk=scenario_id)


def profile_get(*, firm: Firm, organisation: ClientOrganisation) -> XeroOrganisation | None:
    return XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()


def chart_accounts(*, firm: Firm, organisation: ClientOrganisation) -> list[ChartAccount]:
    """The organisation's P&L accounts as the maths and the parser see them."""
    rows = (
        Account.objects.for_firm(firm)
        .filter(organisation=organisation, type__in=list(SECTION_BY_TYPE))
        .exclude(status="ARCHIVED")
        .values_list("pk", "code", "name", "type", "account_class")
        .order_by("code", "name")
    )
    return [ChartAccount(pk, code, name, type_, cls) for pk, code, name, type_, cls in rows]


def tracking_names(*, firm: Firm, organisation: ClientOrganisation) -> list[TrackingName]:
    return [
        TrackingName(key=pk, name=name, category=category)
        for pk, name, category in TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation, status="ACTIVE")
        .values_list("pk", "name", "category__name")
    ]


def base_budgets(*, firm: Firm, organisation: ClientOrganisation) -> list[Budget]:
    """Budgets a scenario may start from: the overall budgets (the original and, once Xero has
    it, the forecast budget beside it)."""
    return list(
        Budget.objects.for_firm(firm)
        .filter(organisation=organisation, type=Budget.Type.OVERALL)
        .order_by("description", "pk")
    )


def base_drafts(*, firm: Firm, organisation: ClientOrganisation) -> list[Draft]:
    return list(
        Draft.objects.for_firm(firm)
        .filter(organisation=organisation, status__in=OPEN_DRAFT)
        .order_by("-created_at")
    )


def budget_figures(firm: Firm, budget_id: int, first, last, option=None) -> Figures:
    figures: Figures = {}
    rows = BudgetBalance.objects.for_firm(firm).filter(
        budget_line__budget_id=budget_id, period__range=(first, last)
    )
    for account, period, amount in rows.values_list("budget_line__account_id", "period", "amount"):
        figures.setdefault((account, option), {})[period] = amount
    return figures


def _option_budgets(firm: Firm, scenario: Scenario, options: set[int], first, last) -> Figures:
    """The tracking budgets of the options the adjustments name, in one query."""
    if not options:
        return {}
    figures: Figures = {}
    rows = BudgetBalance.objects.for_firm(firm).filter(
        budget_line__budget__organisation=scenario.organisation,
        budget_line__budget__type=Budget.Type.TRACKING,
        budget_line__budget__tracking_option_id__in=options,
        budget_line__budget__tracking_option_2__isnull=True,
        period__range=(first, last),
    )
    for account, option, period, amount in rows.values_list(
        "budget_line__account_id", "budget_line__budget__tracking_option_id", "period", "amount"
    ):
        figures.setdefault((account, option), {})[period] = amount
    return figures


def scenario_base(
    *, firm: Firm, scenario: Scenario, options: set[int] | frozenset[int] = frozenset()
) -> Figures:
    """The figures the scenario starts from, per line and month, for its months."""
    first, last = scenario.first_period, scenario.last_period
    if scenario.base == Scenario.Base.DRAFT and scenario.base_draft_id:
        draft = scenario.base_draft
        figures = (
            budget_figures(firm, draft.original_budget_id, first, last)
            if draft.original_budget_id
            else {}
        )
        rows = DraftBalance.objects.for_firm(firm).filter(
            line__draft_id=draft.pk, period__range=(first, last)
        )
        for account, option, period, suggested, edited in rows.values_list(
            "line__account_id", "line__tracking_option_id", "period", "suggested_amount",
            "edited_amount",
        ):  # fmt: skip
            figures.setdefault((account, option), {})[period] = (
                suggested if edited is None else edited
            )
    elif scenario.base == Scenario.Base.FORECAST:
        records = ForecastRecord.objects.for_firm(firm).filter(organisation=scenario.organisation)
        latest = records.aggregate(made=Max("made_at"))["made"]
        figures = {}
        for account, option, period, point in records.filter(
            made_at=latest, target__range=(first, last)
        ).values_list("account_id", "tracking_option_id", "target", "point"):
            figures.setdefault((account, option), {})[period] = point
    else:
        figures = (
            budget_figures(firm, scenario.base_budget_id, first, last)
            if scenario.base_budget_id
            else {}
        )
    for key, row in _option_budgets(firm, scenario, set(options), first, last).items():
        figures.setdefault(key, row)
    return figures


def scenario_actuals(*, firm: Firm, organisation: ClientOrganisation, first, last) -> Figures:
    figures: Figures = {}
    rows = ActualBalance.objects.for_firm(firm).filter(
        organisation=organisation, tracking_option__isnull=True, period__range=(first, last)
    )
    for account, period, amount in rows.values_list("account_id", "period", "amount"):
        figures.setdefault((account, None), {})[period] = amount
    return figures


def adjustment_from_row(row: ScenarioAdjustment) -> Adjustment:
    return Adjustment(
        target=Target(
            account_keys=frozenset(int(pk) for pk in row.account_ids),
            group=Group(row.group) if row.group else None,
            account_class=row.account_class,
            account_type=row.account_type,
            tracking_option=row.tracking_option_id,
        ),
        change=Change(row.change),
        value=row.value,
        first=row.first_period,
        last=row.last_period,
        per=Per(row.per) if row.per else None,
        cost_follows=row.cost_follows,
    )


def scenario_adjustments(*, firm: Firm, scenario: Scenario) -> list[ScenarioAdjustment]:
    return list(
        ScenarioAdjustment.objects.for_firm(firm)
        .filter(scenario=scenario)
        .select_related("tracking_option")
        .order_by("position", "pk")
    )


@dataclass(frozen=True)
class ScenarioView:
    """A scenario computed: its P&L against its base and the actuals."""

    scenario: Scenario
    adjustments: list[ScenarioAdjustment]
    result: ScenarioResult
    currency: str
    last_closed: dt.date | None
    chart: list[ChartAccount]

    @property
    def months(self) -> list[dt.date]:
        return [m.period for m in self.result.months]


def scenario_compute(
    *,
    firm: Firm,
    scenario: Scenario,
    adjustments: list[Adjustment] | None = None,
    profile: XeroOrganisation | None = None,
    chart: list[ChartAccount] | None = None,
) -> ScenarioView:
    """The scenario's P&L; with `adjustments`, for those instead of the saved ones (a check
    before saving). Raises maths.ScenarioError when an adjustment cannot apply."""
    organisation = scenario.organisation
    profile = profile or profile_get(firm=firm, organisation=organisation)
    chart = chart if chart is not None else chart_accounts(firm=firm, organisation=organisation)
    rows = scenario_adjustments(firm=firm, scenario=scenario) if scenario.pk else []
    wanted = adjustments if adjustments is not None else [adjustment_from_row(r) for r in rows]
    options = {a.target.tracking_option for a in wanted if a.target.tracking_option}
    last_closed = forecast_last_closed(profile)
    result = scenario_result(
        base=scenario_base(firm=firm, scenario=scenario, options=options),
        actuals=scenario_actuals(
            firm=firm,
            organisation=organisation,
            first=scenario.first_period,
            last=scenario.last_period,
        ),
        chart=chart,
        adjustments=wanted,
        first=scenario.first_period,
        last=scenario.last_period,
        last_closed=last_closed,
        year_end_month=profile.financial_year_end_month if profile else 12,
    )
    return ScenarioView(
        scenario=scenario,
        adjustments=rows,
        result=result,
        currency=profile.base_currency if profile else "",
        last_closed=last_closed,
        chart=chart,
    )


def scenario_compare(
    *, firm: Firm, organisation: ClientOrganisation, scenario_ids: list[int]
) -> list[ScenarioView]:
    """Up to five of the organisation's scenarios, computed; ids of other organisations or
    firms are not found (the caller says 404)."""
    ids = list(dict.fromkeys(scenario_ids))[:MAX_COMPARED]
    scenarios = {
        s.pk: s
        for s in Scenario.objects.for_firm(firm)
        .filter(organisation=organisation, pk__in=ids)
        .select_related("organisation", "base_draft")
    }
    profile = profile_get(firm=firm, organisation=organisation)
    chart = chart_accounts(firm=firm, organisation=organisation)
    return [
        scenario_compute(firm=firm, scenario=scenarios[pk], profile=profile, chart=chart)
        for pk in ids
        if pk in scenarios
    ]


def scenario_sentence_read(
    *,
    firm: Firm,
    scenario: Scenario,
    sentence: str,
    currency: str = "",
    ask_provider: bool = False,
    provider_answer: str = "",
) -> ParseResult:
    """What a sentence says over the organisation's chart and the scenario's months.

    With `ask_provider`, a part the parser could not read goes to the firm's chat model when
    the firm turned it on (budgeting/scenarios/llm.py); with `provider_answer` (its reading as
    the confirmation posted it back), that reading is checked again instead, and nothing is
    sent. Either is used only while the firm's provider is on.
    """
    organisation = scenario.organisation
    chart = chart_accounts(firm=firm, organisation=organisation)
    months = months_between(scenario.first_period, scenario.last_period)
    read = sentence_parse(
        sentence,
        chart=chart,
        months=months,
        options=tracking_names(firm=firm, organisation=organisation),
        currency=currency,
    )
    if not (ask_provider or provider_answer) or not llm.provider_wanted(read):
        return read
    provider = llm.sentence_provider_for_firm(firm=firm)
    if provider is None:
        return read
    if provider_answer:
        return llm.provider_reading_merge(
            read,
            answer=provider_answer,
            model=provider.model,
            chart=chart,
            months=months,
            currency=currency,
        )
    return llm.provider_reading_add(
        read,
        firm=firm,
        organisation=organisation,
        provider=provider,
        sentence=sentence,
        chart=chart,
        months=months,
        currency=currency,
    )


def account_search(
    *, firm: Firm, organisation: ClientOrganisation, text: str, limit: int = 20
) -> list[ChartAccount]:
    """P&L accounts whose code starts with, or whose name holds, what was typed."""
    text = (text or "").strip().lower()
    chart = chart_accounts(firm=firm, organisation=organisation)
    if not text:
        return chart[:limit]
    return [a for a in chart if a.code.lower().startswith(text) or text in a.name.lower()][:limit]


@dataclass(frozen=True)
class HistoryEntry:
    when: dt.datetime
    who: str
    kind: str  # Created, Changed, Deleted
    reason: str
    version: int | None  # the scenario's version after the change; None for an adjustment's


def scenario_history(*, firm: Firm, scenario: Scenario, limit: int = 100) -> list[HistoryEntry]:
    """The scenario's versions and its adjustments' additions and removals, newest first."""
    kinds = {"+": "Created", "~": "Changed", "-": "Deleted"}
    own = Scenario.history.filter(firm_id=firm.pk, id=scenario.pk).select_related("history_user")[
        :limit
    ]
    adjustments = ScenarioAdjustment.history.filter(
        firm_id=firm.pk, scenario_id=scenario.pk
    ).select_related("history_user")[:limit]
    entries = [
        HistoryEntry(
            when=r.history_date,
            who=r.history_user.display_name if r.history_user else "The system",
            kind=kinds[r.history_type],
            reason=r.history_change_reason or "",
            version=getattr(r, "version", None),
        )
        for r in [*own, *adjustments]
    ]
    return sorted(entries, key=lambda e: e.when, reverse=True)[:limit]
