"""Reads for forecast drafts: the series to forecast, the policy, and forecast accuracy.

Every function takes the firm explicitly. Loading an organisation's lines runs a fixed number of
queries whatever the number of accounts and tracking options.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Abs

from budgeting.drafts import guardrails as policy_rules
from budgeting.drafts.models import (
    BudgetPolicy,
    Draft,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    ForecastRun,
)
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    TrackingOption,
    XeroOrganisation,
)
from budgeting.variance.maths import ACCOUNT_CLASS_BY_TYPE, SECTION_BY_TYPE, Period
from core.money import money
from core.months import add_months, last_closed_month
from tenants.models import ClientOrganisation, Firm
from tenants.scoping import client_organisation_get_or_404, get_firm_object_or_404

# The engine is given at most three years: older months say little about next year's budget.
HISTORY_MONTHS = 36


# --- Policy ------------------------------------------------------------------------------------


def budget_policy_get(*, firm: Firm, organisation: ClientOrganisation) -> BudgetPolicy | None:
    return BudgetPolicy.objects.for_firm(firm).filter(organisation=organisation).first()


def policy_from_row(row: BudgetPolicy | None) -> policy_rules.Policy:
    """The pure policy of a stored row; the default guardrails if the organisation has none.

    Defaults by reading, not by a data migration: an organisation has a row only once someone
    changed its policy, so every organisation, those connected before the guardrails and those
    connected tomorrow, is checked against `DEFAULT_POLICY` with no row to create when it is
    connected (tenants cannot import budgeting) and none to backfill. The first saved change
    writes version 1 with its history; until then drafts record policy version 0, "the
    defaults". Rows saved before the guardrails existed got the multiple and sign rules from
    the migration's column defaults, and keep the change percent their firm chose."""
    if row is None:
        return policy_rules.DEFAULT_POLICY
    return policy_rules.Policy(
        scope=row.scope,
        account_ids=frozenset(int(i) for i in row.account_ids),
        tracking_option_ids=frozenset(int(i) for i in row.tracking_option_ids),
        account_caps={int(k): Decimal(v) for k, v in row.account_caps.items()},
        class_caps={str(k): Decimal(v) for k, v in row.class_caps.items()},
        max_change_percent=row.max_change_percent,
        max_change_amount=row.max_change_amount,
        capex_account_ids=frozenset(int(i) for i in row.capex_account_ids),
        extra_approval_above=row.extra_approval_above,
        horizon=row.horizon,
        max_actual_multiple=row.max_actual_multiple,
        sign_check=row.sign_check,
    )


ActualRanges = dict[tuple[int, int | None], tuple[Decimal, Decimal]]


def actual_ranges(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account_id: int | None = None,
    tracking_option_id: int | None = None,
) -> ActualRanges:
    """Per line (account, tracking option or None): its largest monthly actual in absolute
    terms and its lowest, over its whole synced history, for the guardrails. One query; with
    `account_id` only that account's lines."""
    rows = ActualBalance.objects.for_firm(firm).filter(organisation=organisation)
    if account_id is not None:
        rows = rows.filter(account_id=account_id)
        if tracking_option_id is None:
            rows = rows.filter(tracking_option__isnull=True)
        else:
            rows = rows.filter(tracking_option_id=tracking_option_id)
    return {
        (account, option): (largest, lowest)
        for account, option, largest, lowest in rows.order_by()
        .values("account_id", "tracking_option_id")
        .annotate(largest=Max(Abs("amount")), lowest=Min("amount"))
        .values_list("account_id", "tracking_option_id", "largest", "lowest")
    }


def organisation_policy(*, firm: Firm, organisation: ClientOrganisation) -> policy_rules.Policy:
    return policy_from_row(budget_policy_get(firm=firm, organisation=organisation))


# --- The lines to forecast ---------------------------------------------------------------------


@dataclass
class LineSeries:
    """One account line, overall or for one tracking option, with its monthly figures."""

    account: Account
    tracking_option: TrackingOption | None
    budget: Budget | None
    actuals: dict[Period, Decimal] = field(default_factory=dict)
    budgets: dict[Period, Decimal] = field(default_factory=dict)

    @property
    def account_class(self) -> str:
        return self.account.account_class or ACCOUNT_CLASS_BY_TYPE[self.account.type]

    @property
    def section(self) -> str:
        return SECTION_BY_TYPE[self.account.type].value

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.account.pk, self.tracking_option.pk if self.tracking_option else None)

    def history(self, *, first: Period, last: Period) -> list[Decimal]:
        """Every month first..last, zero when the month was quiet."""
        values, month = [], first
        while month <= last:
            values.append(self.actuals.get(month, Decimal("0.00")))
            month = add_months(month, 1)
        return values


@dataclass(frozen=True)
class OrganisationLines:
    profile: XeroOrganisation
    last_closed: Period
    first_month: Period  # of the history given to the engine
    overall_budget: Budget | None
    lines: tuple[LineSeries, ...]


def forecast_last_closed(profile: XeroOrganisation | None) -> Period | None:
    return last_closed_month(profile.period_lock_date) if profile else None


def forecast_lines_load(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    profile: XeroOrganisation,
    last_closed: Period,
    horizon: int,
) -> OrganisationLines:
    """Every Profit and Loss account line with actuals in the last 36 closed months: overall,
    and for each tracking option (with its own tracking budget, where Xero has one)."""
    first = add_months(last_closed, 1 - HISTORY_MONTHS)
    last_budget = add_months(last_closed, horizon)
    accounts = {
        account.pk: account
        for account in Account.objects.for_firm(firm).filter(
            organisation=organisation, type__in=tuple(ACCOUNT_CLASS_BY_TYPE)
        )
    }
    options = {
        option.pk: option
        for option in TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("category")
    }
    budgets = list(
        Budget.objects.for_firm(firm)
        .filter(organisation=organisation)
        .filter(tracking_option_2__isnull=True)
        .order_by("pk")
    )
    overall = next((b for b in budgets if b.type == Budget.Type.OVERALL), None)
    by_option: dict[int, Budget] = {}
    for budget in budgets:
        if budget.type == Budget.Type.TRACKING and budget.tracking_option_id:
            by_option.setdefault(budget.tracking_option_id, budget)

    series: dict[tuple[int, int | None], LineSeries] = {}

    def line_for(account_pk: int, option_pk: int | None) -> LineSeries | None:
        key = (account_pk, option_pk)
        if key not in series:
            account = accounts.get(account_pk)
            if account is None:
                return None
            option = options.get(option_pk) if option_pk else None
            budget = overall if option_pk is None else by_option.get(option_pk)
            series[key] = LineSeries(account=account, tracking_option=option, budget=budget)
        return series[key]

    synced_first: Period | None = None
    for account_pk, option_pk, month, amount in (
        ActualBalance.objects.for_firm(firm)
        .filter(organisation=organisation, period__gte=first, period__lte=last_closed)
        .values_list("account_id", "tracking_option_id", "period", "amount")
    ):
        line = line_for(account_pk, option_pk)
        if line is not None:
            line.actuals[month] = amount
            synced_first = month if synced_first is None else min(synced_first, month)
    budget_ids = {b.pk: b for b in ([overall] if overall else []) + list(by_option.values())}
    option_of_budget = {b.pk: b.tracking_option_id for b in by_option.values()}
    for budget_pk, account_pk, month, amount in (
        BudgetBalance.objects.for_firm(firm)
        .filter(
            budget_line__budget_id__in=list(budget_ids),
            period__gte=last_closed,
            period__lte=last_budget,
        )
        .values_list("budget_line__budget_id", "budget_line__account_id", "period", "amount")
    ):
        key = (account_pk, option_of_budget.get(budget_pk))
        # Only lines with actuals are forecast: with no history there is nothing to go on.
        if key in series:
            series[key].budgets[month] = amount
    ordered = sorted(
        series.values(),
        key=lambda s: (
            s.tracking_option is not None,
            s.tracking_option.name if s.tracking_option else "",
            s.section,
            s.account.code,
            s.account.name,
        ),
    )
    return OrganisationLines(
        profile=profile,
        last_closed=last_closed,
        first_month=synced_first or last_closed,
        overall_budget=overall,
        lines=tuple(ordered),
    )


# --- Drafts ------------------------------------------------------------------------------------


def draft_list(*, firm: Firm, organisation: ClientOrganisation):
    return (
        Draft.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("created_by")
        .annotate(line_count=Count("lines"))
        .order_by("-created_at")
    )


def draft_lines(*, firm: Firm, draft: Draft) -> list[DraftLine]:
    """The lines with their account, option and months, in two queries."""
    from django.db.models import Prefetch

    return list(
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft)
        # What produced each figure is read one line at a time (its screen, the API's "why"):
        # kilobytes a line that a table of hundreds of lines would load for nothing.
        .defer("provenance")
        .select_related("account", "tracking_option__category")
        .prefetch_related(
            Prefetch(
                "balances",
                queryset=DraftBalance.objects.for_firm(firm).order_by("period"),
            )
        )
        .order_by("tracking_option__name", "section", "account__code", "account__name")
    )


@dataclass(frozen=True)
class LineDecisionPreview:
    """What one decision on many lines would do to a line, before it applies."""

    line: DraftLine
    before: Decimal  # the figures shown now, over the horizon
    after: Decimal
    was_accepted: bool

    @property
    def changes(self) -> bool:
        return self.before != self.after or not self.was_accepted

    @property
    def difference(self) -> Decimal:
        return self.after - self.before


def decision_figure(*, decision: str, balance: DraftBalance, value: Decimal | None) -> Decimal:
    """The month's figure after a bulk decision: the one rule the preview shows and the
    service applies (services.draft_lines_decide). `value` is the percentage or the figure the
    preparer typed, for the decisions that take one."""
    if decision == "forecast":
        return balance.suggested_amount
    if decision == "original":
        return balance.original_amount or Decimal("0.00")
    if decision == "percent":
        return money(balance.effective_amount * (100 + value) / 100)
    if decision == "amount":
        return value
    return balance.effective_amount


def draft_lines_decision_preview(
    *,
    firm: Firm,
    draft: Draft,
    line_ids: Iterable[int],
    decision: str,
    value: Decimal | None = None,
) -> list[LineDecisionPreview]:
    """The summary shown before a bulk decision (services.draft_lines_decide) applies: each
    chosen line's total now and after, in two queries."""
    chosen = set(line_ids)
    previews = []
    for line in draft_lines(firm=firm, draft=draft):
        if line.pk not in chosen:
            continue
        balances = list(line.balances.all())
        before = sum((b.effective_amount for b in balances), Decimal("0.00"))
        after = sum(
            (decision_figure(decision=decision, balance=b, value=value) for b in balances),
            Decimal("0.00"),
        )
        previews.append(LineDecisionPreview(line, before, after, line.accepted))
    return previews


def draft_narrative_fallbacks(*, firm: Firm, draft: Draft) -> list[tuple[DraftLine, str]]:
    """The lines whose variance narrative is the local one because the firm's outside provider
    was not used, with why (kept in each line's provenance when it was suggested)."""
    key = "provenance__narrative__fallback_reason"
    lines = (
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft, provenance__narrative__has_key="fallback_reason")
        .exclude(**{key: ""})
        .select_related("account", "tracking_option")
        .only("pk", "account", "tracking_option", "draft_id")
        .annotate(fallback_reason=KeyTextTransform("fallback_reason", "provenance__narrative"))
        .order_by("account__code", "tracking_option__name")
    )
    return [(line, line.fallback_reason) for line in lines]


def forecast_run_latest(*, firm: Firm, organisation: ClientOrganisation) -> ForecastRun | None:
    return ForecastRun.objects.for_firm(firm).filter(organisation=organisation).first()


# --- Accuracy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accuracy:
    """How past forecasts did once their months closed.

    `error_percent` is the weighted absolute percentage error (total absolute error over total
    absolute actual), which stays finite for quiet months where a plain MAPE would divide by zero.
    """

    scored: int
    error_percent: Decimal | None
    within_80_percent: Decimal | None
    within_95_percent: Decimal | None
    mean_abs_error: Decimal | None

    @classmethod
    def of(cls, records: Iterable[tuple[Decimal, Decimal, bool, bool]]) -> Accuracy:
        """From (actual, abs_error, within_80, within_95) tuples."""
        rows = list(records)
        return cls.from_totals(
            scored=len(rows),
            abs_actual=sum((abs(r[0]) for r in rows), Decimal(0)),
            abs_error=sum((r[1] for r in rows), Decimal(0)),
            within_80=sum(1 for r in rows if r[2]),
            within_95=sum(1 for r in rows if r[3]),
        )

    @classmethod
    def from_totals(
        cls, *, scored: int, abs_actual, abs_error, within_80: int, within_95: int
    ) -> Accuracy:
        if not scored:
            return cls(0, None, None, None, None)
        abs_actual, abs_error = Decimal(abs_actual or 0), Decimal(abs_error or 0)

        def pct(value: Decimal) -> Decimal:
            return value.quantize(Decimal("0.1"))

        return cls(
            scored=scored,
            error_percent=pct(abs_error * 100 / abs_actual) if abs_actual else None,
            within_80_percent=pct(Decimal(within_80 * 100) / scored),
            within_95_percent=pct(Decimal(within_95 * 100) / scored),
            mean_abs_error=(abs_error / scored).quantize(Decimal("0.01")),
        )


@dataclass(frozen=True)
class AccuracyLine:
    account: Account
    tracking_option: TrackingOption | None
    accuracy: Accuracy


@dataclass(frozen=True)
class OrganisationAccuracy:
    overall: Accuracy
    by_step: dict[int, Accuracy]
    by_method: dict[str, Accuracy]
    lines: list[AccuracyLine]
    pending: int  # forecasts whose month has not closed yet

    def for_line(self, account_id: int, tracking_option_id: int | None) -> Accuracy | None:
        for line in self.lines:
            option_id = line.tracking_option.pk if line.tracking_option else None
            if line.account.pk == account_id and option_id == tracking_option_id:
                return line.accuracy
        return None


_TOTALS = {
    "scored": Count("id"),
    "abs_actual": Sum(Abs("actual")),
    "abs_error": Sum("abs_error"),
    "within_80": Count("id", filter=Q(within_80=True)),
    "within_95": Count("id", filter=Q(within_95=True)),
}


def _accuracy(row: dict) -> Accuracy:
    return Accuracy.from_totals(**{key: row[key] for key in _TOTALS})


def forecast_accuracy(*, firm: Firm, organisation: ClientOrganisation) -> OrganisationAccuracy:
    """Totals computed in the database: five queries however many forecasts were kept."""
    records = ForecastRecord.objects.for_firm(firm).filter(organisation=organisation)
    scored = records.filter(actual__isnull=False)
    by_line = list(
        scored.values("account_id", "tracking_option_id")
        .annotate(**_TOTALS)
        .order_by("account_id", "tracking_option_id")
    )
    accounts = Account.objects.for_firm(firm).in_bulk({row["account_id"] for row in by_line})
    options = (
        TrackingOption.objects.for_firm(firm)
        .select_related("category")
        .in_bulk({row["tracking_option_id"] for row in by_line if row["tracking_option_id"]})
    )
    lines = [
        AccuracyLine(
            account=accounts[row["account_id"]],
            tracking_option=options.get(row["tracking_option_id"]),
            accuracy=_accuracy(row),
        )
        for row in by_line
    ]
    lines.sort(
        key=lambda line: (
            line.account.code,
            line.account.name,
            line.tracking_option.name if line.tracking_option else "",
        )
    )
    return OrganisationAccuracy(
        overall=_accuracy(scored.aggregate(**_TOTALS)),
        by_step={
            row["step"]: _accuracy(row)
            for row in scored.values("step").annotate(**_TOTALS).order_by("step")
        },
        by_method={
            row["method"]: _accuracy(row)
            for row in scored.values("method").annotate(**_TOTALS).order_by("method")
        },
        lines=lines,
        pending=records.filter(actual__isnull=True).count(),
    )


def forecast_history_for_line(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account: Account,
    tracking_option: TrackingOption | None,
    first: dt.date,
    last: dt.date,
) -> dict[Period, Decimal]:
    return dict(
        ActualBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            account=account,
            tracking_option=tracking_option,
            period__gte=first,
            period__lte=last,
        )
        .values_list("period", "amount")
    )


def draft_get_or_404(
    *, firm: Firm, organisation_id: object, draft_id: object
) -> tuple[ClientOrganisation, Draft]:
    """A client organisation and one of its drafts, as every draft screen looks them up."""
    organisation = client_organisation_get_or_404(firm=firm, organisation_id=organisation_id)
    draft = get_firm_object_or_404(Draft, firm=firm, pk=draft_id, organisation=organisation)
    return organisation, draft
