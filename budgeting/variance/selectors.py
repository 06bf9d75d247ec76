"""Reads for variance: synced actuals and budgets loaded into the pure variance module.

Every function takes the firm explicitly and runs a fixed number of queries whatever the number
of accounts: the report page, its CSV and the `variance_report` command all read through
`variance_report_load`, so they show the same figures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from budgeting.currency.selectors import AccountCurrencyEffects, Figures, currency_effects_for
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    DriverRemainder,
    TrackingOption,
    TransactionLine,
    XeroOrganisation,
)
from budgeting.variance.comparisons import forecast_budget_beside
from budgeting.variance.maths import (
    ACCOUNT_CLASS_BY_TYPE,
    AccountBalances,
    MaterialityThreshold,
    MaterialityThresholds,
    Period,
    SeriesPoint,
    VarianceLine,
    VarianceReport,
    variance_for_period,
    variance_series,
)
from budgeting.variance.models import MaterialitySetting, VarianceNarrative, VarianceSummary
from budgeting.variance.narratives import facts as narrative_facts
from budgeting.variance.signals import narrative_people_wanted
from core.months import add_months, month_start
from tenants.models import ClientOrganisation, Firm

# Charts compare two years; the year to date never reaches back further than 12 months.
CHART_MONTHS = 24
PROFIT_AND_LOSS_TYPES = tuple(ACCOUNT_CLASS_BY_TYPE)


def materiality_thresholds(
    *, firm: Firm, organisation: ClientOrganisation
) -> MaterialityThresholds:
    """The organisation's thresholds; the product's defaults (10% and 500) where none is set."""
    default = MaterialityThreshold()
    by_class = {}
    for setting in MaterialitySetting.objects.for_firm(firm).filter(organisation=organisation):
        threshold = MaterialityThreshold(percent=setting.percent, floor=setting.floor)
        if setting.account_class:
            by_class[setting.account_class] = threshold
        else:
            default = threshold
    return MaterialityThresholds(default=default, by_class=by_class)


@dataclass(frozen=True)
class VarianceData:
    """An organisation's balances for one tracking option (or overall), ready for the maths."""

    organisation: ClientOrganisation
    profile: XeroOrganisation
    tracking_option: TrackingOption | None
    budget: Budget | None
    accounts: dict[str, Account]  # by Xero AccountID, as the pure module names them
    balances: tuple[AccountBalances, ...]
    thresholds: MaterialityThresholds
    first_month: Period  # of the loaded window
    last_month: Period
    # The forecast budget beside `budget`, once it is in Xero, and the same balances with its
    # figures as the budget (budgeting.variance.comparisons).
    forecast_budget: Budget | None = None
    forecast_balances: tuple[AccountBalances, ...] = ()

    @property
    def currency(self) -> str:
        return self.profile.base_currency

    def forecast_report(self, period: Period) -> VarianceReport | None:
        """Actual against the forecast budget, by the same maths; None with no forecast budget."""
        if self.forecast_budget is None:
            return None
        return variance_for_period(
            lines=self.forecast_balances,
            period=period,
            financial_year_end_month=self.profile.financial_year_end_month,
            financial_year_end_day=self.profile.financial_year_end_day,
            thresholds=self.thresholds,
        )

    def report(self, period: Period) -> VarianceReport:
        return variance_for_period(
            lines=self.balances,
            period=period,
            financial_year_end_month=self.profile.financial_year_end_month,
            financial_year_end_day=self.profile.financial_year_end_day,
            thresholds=self.thresholds,
        )

    def series(self, *, end_period: Period, account_id: str | None = None) -> tuple[SeriesPoint]:
        if account_id is not None and account_id not in {b.account_id for b in self.balances}:
            return ()
        points = variance_series(
            lines=self.balances, end_period=end_period, months=CHART_MONTHS, account_id=account_id
        )
        if self.forecast_budget is None:
            return points
        # The same maths with the forecast budget's figures as the budget: the third line.
        forecasts = variance_series(
            lines=self.forecast_balances,
            end_period=end_period,
            months=CHART_MONTHS,
            account_id=account_id,
        )
        return tuple(
            dataclasses.replace(point, forecast=forecast.budget if forecast.budgeted else None)
            for point, forecast in zip(points, forecasts, strict=True)
        )

    def balances_of(self, account_id: str) -> AccountBalances | None:
        return next((b for b in self.balances if b.account_id == account_id), None)


def xero_organisation_get(*, firm: Firm, organisation: ClientOrganisation) -> XeroOrganisation:
    return XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)


def variance_budget(
    *, firm: Firm, organisation: ClientOrganisation, tracking_option: TrackingOption | None
) -> Budget | None:
    """The overall budget, or the tracking budget of exactly this option (Xero allows one)."""
    budgets = Budget.objects.for_firm(firm).filter(organisation=organisation)
    if tracking_option is None:
        budgets = budgets.filter(type=Budget.Type.OVERALL)
    else:
        budgets = budgets.filter(
            type=Budget.Type.TRACKING,
            tracking_option=tracking_option,
            tracking_option_2__isnull=True,
        )
    return budgets.order_by("pk").first()


def variance_data_load(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    period: Period,
    profile: XeroOrganisation,
    tracking_option: TrackingOption | None = None,
    months: int = CHART_MONTHS,
) -> VarianceData:
    """Balances for `months` months up to `period`, in five queries whatever the accounts."""
    first = add_months(period, 1 - max(months, 12))
    budget = variance_budget(firm=firm, organisation=organisation, tracking_option=tracking_option)
    accounts = {
        account.pk: account
        for account in Account.objects.for_firm(firm).filter(
            organisation=organisation, type__in=PROFIT_AND_LOSS_TYPES
        )
    }
    actuals: dict[int, dict[Period, Decimal]] = defaultdict(dict)
    for account_pk, month, amount in (
        ActualBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            tracking_option=tracking_option,
            period__gte=first,
            period__lte=period,
        )
        .values_list("account_id", "period", "amount")
    ):
        actuals[account_pk][month] = amount

    def budget_figures(of: Budget | None) -> dict[int, dict[Period, Decimal]]:
        figures: dict[int, dict[Period, Decimal]] = defaultdict(dict)
        if of is None:
            return figures
        for account_pk, month, amount in (
            BudgetBalance.objects.for_firm(firm)
            .filter(budget_line__budget=of, period__gte=first, period__lte=period)
            # A budget on an account Xero's report groups (the currency system accounts under
            # "FX gains and losses") counts on the line the report shows.
            .values_list(
                Coalesce("budget_line__account__report_group_id", "budget_line__account_id"),
                "period",
                "amount",
            )
        ):
            figures[account_pk][month] = figures[account_pk].get(month, Decimal("0.00")) + amount
        return figures

    budgets = budget_figures(budget)
    forecast_budget = forecast_budget_beside(firm=firm, organisation=organisation, original=budget)
    forecasts = budget_figures(forecast_budget)
    # Every synced month counts, zero when quiet: narratives read a missing month as "no data".
    synced = sorted({month for months_ in actuals.values() for month in months_})
    synced_months = _months(synced[0], synced[-1]) if synced else []
    balances = []
    forecast_balances = []
    for account_pk in sorted(set(actuals) | set(budgets)):
        account = accounts.get(account_pk)
        if account is None:
            continue
        expected_class = ACCOUNT_CLASS_BY_TYPE[account.type]
        filled = {month: Decimal("0.00") for month in synced_months}
        filled.update(actuals.get(account_pk, {}))
        balances.append(
            AccountBalances(
                account_id=account.account_id,
                code=account.code,
                name=account.name,
                account_type=account.type,
                # Xero's class, or the one its type implies when a sync left it blank.
                account_class=account.account_class or expected_class,
                actuals=filled,
                budgets=budgets.get(account_pk, {}),
                tracking_option_id=tracking_option.option_id if tracking_option else None,
            )
        )
        if forecast_budget is not None:
            forecast_balances.append(
                dataclasses.replace(balances[-1], budgets=forecasts.get(account_pk, {}))
            )
    return VarianceData(
        organisation=organisation,
        profile=profile,
        tracking_option=tracking_option,
        budget=budget,
        accounts={account.account_id: account for account in accounts.values()},
        balances=tuple(balances),
        thresholds=materiality_thresholds(firm=firm, organisation=organisation),
        first_month=first,
        last_month=period,
        forecast_budget=forecast_budget,
        forecast_balances=tuple(forecast_balances),
    )


def _months(first: Period, last: Period) -> list[Period]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


# --- The report as the screen, the CSV and the command show it -------------------------------


ACCOUNT_CLASSES = {"REVENUE": "Revenue", "EXPENSE": "Expense"}


@dataclass(frozen=True)
class ReportFilters:
    account_classes: frozenset[str] = frozenset()  # empty: every class
    material_only: bool = False

    def keeps(self, line: VarianceLine) -> bool:
        if self.account_classes and line.account_class not in self.account_classes:
            return False
        return not self.material_only or line.month.material or line.year_to_date.material


@dataclass(frozen=True)
class ReportRow:
    line: VarianceLine
    account: Account
    narrative: VarianceNarrative | None
    forecast: VarianceLine | None = None  # the same line against the forecast budget
    # Its variance split into volume, rate and currency gains and losses, for an account with
    # foreign-currency activity (budgeting.currency), when the report was loaded with them.
    currency: AccountCurrencyEffects | None = None


@dataclass(frozen=True)
class ReportSection:
    label: str
    key: str
    rows: tuple[ReportRow, ...]
    total: object  # SectionTotal
    is_profit: bool
    forecast_total: object | None = None  # against the forecast budget


@dataclass(frozen=True)
class VarianceReportView:
    data: VarianceData
    report: VarianceReport
    sections: tuple[ReportSection, ...]
    filters: ReportFilters
    forecast: VarianceReport | None = None  # actual against the forecast budget, once one exists

    @property
    def currency_rows(self) -> list[ReportRow]:
        """The rows whose variance is split by currency, in report order."""
        return [row for row in self.rows if row.currency is not None]

    @property
    def rows(self) -> list[ReportRow]:
        return [row for section in self.sections for row in section.rows]

    @property
    def material_count(self) -> int:
        return len(self.report.material_lines)


def variance_report_load(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    profile: XeroOrganisation,
    period: Period,
    tracking_option: TrackingOption | None = None,
    filters: ReportFilters | None = None,
    with_narratives: bool = True,
    with_currency: bool = False,
) -> VarianceReportView:
    """The whole report: lines, section totals and stored narratives, in six queries; three
    more `with_currency` (the split of each variance with foreign-currency activity)."""
    from budgeting.variance.maths import Section

    filters = filters or ReportFilters()
    data = variance_data_load(
        firm=firm,
        organisation=organisation,
        period=period,
        profile=profile,
        tracking_option=tracking_option,
    )
    report = data.report(period)
    forecast = data.forecast_report(period)
    against_forecast = (
        {line.account_id: line for line in forecast.lines} if forecast is not None else {}
    )
    narratives = (
        narratives_by_account(
            firm=firm, organisation=organisation, period=period, tracking_option=tracking_option
        )
        if with_narratives
        else {}
    )
    currency = (
        currency_effects_of(
            firm=firm,
            data=data,
            period=period,
            year_start=report.financial_year_start,
            lines=report.lines,
        )
        if with_currency
        else {}
    )
    sections = []
    for section in Section:
        total = report.total(section)
        rows = tuple(
            ReportRow(
                line=line,
                account=data.accounts[line.account_id],
                narrative=narratives.get(data.accounts[line.account_id].pk),
                forecast=against_forecast.get(line.account_id),
                currency=currency.get(line.account_id),
            )
            for line in report.lines_in(section)
            if filters.keeps(line)
        )
        sections.append(
            ReportSection(
                label=section.label,
                key=section.value,
                rows=rows,
                total=total,
                is_profit=section in (Section.GROSS_PROFIT, Section.NET_PROFIT),
                forecast_total=forecast.total(section) if forecast is not None else None,
            )
        )
    return VarianceReportView(
        data=data, report=report, sections=tuple(sections), filters=filters, forecast=forecast
    )


def currency_effects_of(
    *,
    firm: Firm,
    data: VarianceData,
    period: Period,
    year_start: Period,
    lines: Iterable[VarianceLine],
) -> dict[str, AccountCurrencyEffects]:
    """By AccountID: the split of each line's month and year-to-date variance, for the lines
    with foreign-currency activity or on a currency gains and losses account. Three queries."""
    lines = list(lines)
    accounts = {data.accounts[line.account_id].pk: data.accounts[line.account_id] for line in lines}
    month, year = {}, {}
    for line in lines:
        pk = data.accounts[line.account_id].pk
        month[pk] = Figures(actual=line.month.actual, budget=line.month.budget)
        year[pk] = Figures(actual=line.year_to_date.actual, budget=line.year_to_date.budget)
    effects = currency_effects_for(
        firm=firm,
        organisation=data.organisation,
        base_currency=data.currency,
        accounts=accounts,
        period=period,
        year_start=year_start,
        month_figures=month,
        year_figures=year,
        tracking_option=data.tracking_option,
    )
    return {effect.account.account_id: effect for effect in effects.values()}


def narratives_by_account(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    period: Period,
    tracking_option: TrackingOption | None,
) -> dict[int, VarianceNarrative]:
    return {
        narrative.account_id: narrative
        for narrative in VarianceNarrative.objects.for_firm(firm).filter(
            organisation=organisation, period=period, tracking_option=tracking_option
        )
    }


# --- Transactions behind a variance ------------------------------------------------------------


def transactions_synced_from(profile: XeroOrganisation) -> Period:
    """The first month whose transaction lines the sync keeps (its retention window)."""
    return add_months(month_start(profile.synced_at.date()), -settings.XERO_TRANSACTION_MONTHS)


def transaction_lines_for(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    accounts: Iterable[Account],
    first: Period,
    last: Period,
    tracking_option: TrackingOption | None = None,
):
    """Lines posted to `accounts` in the months first..last (for one option, if given)."""
    lines = TransactionLine.objects.for_firm(firm).filter(
        organisation=organisation,
        account__in=list(accounts),
        date__gte=first,
        date__lt=add_months(last, 1),
    )
    if tracking_option is not None:
        lines = lines.filter(
            Q(tracking_option=tracking_option) | Q(tracking_option_2=tracking_option)
        )
    return lines.order_by("date", "document_number", "pk")


def driver_remainders_for(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    accounts: Iterable[Account],
    period: Period,
    tracking_option: TrackingOption | None = None,
) -> dict[int, DriverRemainder]:
    """By account id: what the synced lines leave unexplained of the month's actual (overall,
    or for one option). An account missing here has lines that add up to its actual."""
    return {
        remainder.account_id: remainder
        for remainder in DriverRemainder.objects.for_firm(firm).filter(
            organisation=organisation,
            account__in=list(accounts),
            period=period,
            tracking_option=tracking_option,
        )
    }


def facts_transaction_line(line: TransactionLine) -> narrative_facts.TransactionLine:
    return narrative_facts.TransactionLine(
        date=line.date,
        contact_name=line.contact_name,
        description=line.description,
        amount=line.amount,
        document_type=line.document_type,
        document_number=line.document_number,
    )


@dataclass(frozen=True)
class NarrativeIdentities:
    """Everyone a narrative's facts may name, for masking before they leave the app."""

    person_names: tuple[str, ...]
    contact_names: tuple[str, ...]
    emails: tuple[str, ...]


def narrative_identities(*, firm: Firm, organisation: ClientOrganisation) -> NarrativeIdentities:
    """The firm's users (their names and addresses), the organisation's external approvers
    (through `narrative_people_wanted`) and every contact synced for the organisation, a query
    each. Xero's contacts are known only by the names their transaction lines carry; employees
    are not synced (no payroll scope), so staff named in a description are masked only where
    they are also users, approvers or contacts."""
    from tenants.models import Membership

    people: list[str] = []
    emails: list[str] = []
    for full_name, first_name, last_name, email in (
        Membership.objects.for_firm(firm)
        .order_by("user__email")
        .values_list("user__full_name", "user__first_name", "user__last_name", "user__email")
    ):
        people += [n for n in (full_name, f"{first_name} {last_name}".strip()) if n.strip()]
        emails.append(email)
    # The jobs above add theirs: the client's external approvers (approvals/receivers.py).
    for _receiver, pairs in narrative_people_wanted.send(
        sender=NarrativeIdentities, firm=firm, organisation=organisation
    ):
        for name, email in pairs:
            people += [name] if name.strip() else []
            emails += [email] if email.strip() else []
    contacts = (
        TransactionLine.objects.for_firm(firm)
        .filter(organisation=organisation)
        .exclude(contact_name="")
        .order_by("contact_name")
        .values_list("contact_name", flat=True)
        .distinct()
    )
    return NarrativeIdentities(
        person_names=tuple(dict.fromkeys(people)),
        contact_names=tuple(contacts),
        emails=tuple(dict.fromkeys(emails)),
    )


def facts_hash(facts: dict) -> str:
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


# --- Firm dashboard ----------------------------------------------------------------------------


def variance_summaries_latest(
    *, firm: Firm, organisation_ids: Iterable[int]
) -> dict[int, VarianceSummary]:
    """Each organisation's latest stored month summary, in one query whatever their number."""
    ids = list(organisation_ids)
    if not ids:
        return {}
    summaries = VarianceSummary.objects.for_firm(firm)
    # A correlated subquery rather than DISTINCT ON, which the SQLite demo does not have.
    latest = (
        summaries.filter(organisation_id=OuterRef("organisation_id"))
        .order_by("-period")
        .values("pk")[:1]
    )
    return {
        summary.organisation_id: summary
        for summary in summaries.filter(organisation_id__in=ids, pk=Subquery(latest))
    }


def variance_summary_latest_field(*, firm: Firm, field: str) -> Subquery:
    """`field` of the latest stored month summary of the organisation the outer query is on
    (OuterRef "pk"): for filtering and ordering a firm's organisations in SQL."""
    latest = VarianceSummary.objects.for_firm(firm).filter(organisation_id=OuterRef("pk"))
    return Subquery(latest.order_by("-period").values(field)[:1])
