"""Reads for client groups: the firm's groups, their members, rates and intercompany pairs, and
the consolidated report (the screen, its CSV and the API all read `group_report_load`, so they
show the same figures).

Each member's balances come through the variance package's own loader
(`variance_data_load`), are consolidated by `budgeting.groups.maths`, and the group's lines are
measured by the same `variance_for_period` and explained by the same local narrative generator
as one organisation's report.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import Http404

from budgeting.groups.maths import (
    Consolidation,
    ConsolidationError,
    Elimination,
    EliminationCheck,
    GroupLine,
    Member,
    RateTable,
    balances_window,
    consolidate,
    line_key,
    translate,
)
from budgeting.groups.models import (
    ClientGroup,
    ClientGroupMember,
    GroupTranslationRate,
    IntercompanyMapping,
)
from budgeting.ledger.models import Account, XeroOrganisation
from budgeting.ledger.selectors import profile_month_window
from budgeting.variance.maths import (
    MaterialityThresholds,
    Period,
    Section,
    VarianceLine,
    VarianceReport,
    financial_year_start,
    variance_for_period,
)
from budgeting.variance.narratives import facts as narrative_facts
from budgeting.variance.narratives.local import LocalNarrativeGenerator
from budgeting.variance.selectors import (
    PROFIT_AND_LOSS_TYPES,
    VarianceData,
    facts_transaction_line,
    transaction_lines_for,
    variance_data_load,
)
from core.months import add_months
from tenants.models import ClientOrganisation, Firm

BASES = ("budget", "actual")
BASIS_LABELS = {
    "budget": "At budget rates (actual and budget both translated at the budget's rates)",
    "actual": "At actual rates (actual and budget both translated at the month's actual rates)",
}


def group_list(*, firm: Firm) -> list[ClientGroup]:
    return list(
        ClientGroup.objects.for_firm(firm)
        .select_related("parent")
        .prefetch_related("members__organisation")
    )


def group_get_or_404(*, firm: Firm, group_id: object) -> ClientGroup:
    """The firm's group; 404 alike for "missing" and "another firm's"."""
    try:
        return ClientGroup.objects.for_firm(firm).select_related("parent").get(pk=group_id)
    except (ClientGroup.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such group.") from exc


@dataclass(frozen=True)
class GroupMemberView:
    organisation: ClientOrganisation
    profile: XeroOrganisation | None

    @property
    def currency(self) -> str:
        return self.profile.base_currency if self.profile else self.organisation.base_currency

    @property
    def key(self) -> str:
        return str(self.organisation.pk)


def group_members(*, firm: Firm, group: ClientGroup) -> list[GroupMemberView]:
    members = (
        ClientGroupMember.objects.for_firm(firm)
        .filter(group=group, organisation__firm=firm)
        .select_related("organisation")
        .order_by("organisation__name", "organisation__pk")
    )
    organisations = [m.organisation for m in members]
    profiles = {
        p.organisation_id: p
        for p in XeroOrganisation.objects.for_firm(firm).filter(organisation__in=organisations)
    }
    return [GroupMemberView(o, profiles.get(o.pk)) for o in organisations]


def group_member_get_or_404(
    *, firm: Firm, group: ClientGroup, organisation_id: object
) -> GroupMemberView:
    member = next(
        (
            m
            for m in group_members(firm=firm, group=group)
            if str(m.organisation.pk) == str(organisation_id)
        ),
        None,
    )
    if member is None:
        raise Http404("No such member of the group.")
    return member


def group_rates(*, firm: Firm, group: ClientGroup) -> list[GroupTranslationRate]:
    return list(GroupTranslationRate.objects.for_firm(firm).filter(group=group))


def group_rate_get_or_404(
    *, firm: Firm, group: ClientGroup, rate_id: object
) -> GroupTranslationRate:
    try:
        return GroupTranslationRate.objects.for_firm(firm).get(pk=rate_id, group=group)
    except (GroupTranslationRate.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such rate.") from exc


def group_rate_tables(*, firm: Firm, group: ClientGroup) -> dict[str, dict]:
    """{basis: {(currency, month): rate}}, for the maths."""
    tables: dict[str, dict] = {basis: {} for basis in BASES}
    for rate in group_rates(firm=firm, group=group):
        tables[rate.basis][(rate.currency, rate.period)] = rate.rate
    return tables


def group_mappings(*, firm: Firm, group: ClientGroup) -> list[IntercompanyMapping]:
    return list(
        IntercompanyMapping.objects.for_firm(firm)
        .filter(group=group)
        .select_related("income_account__organisation", "expense_account__organisation")
    )


def group_mapping_get_or_404(
    *, firm: Firm, group: ClientGroup, mapping_id: object
) -> IntercompanyMapping:
    try:
        return IntercompanyMapping.objects.for_firm(firm).get(pk=mapping_id, group=group)
    except (IntercompanyMapping.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such intercompany pair.") from exc


def group_accounts(*, firm: Firm, group: ClientGroup) -> list[Account]:
    """The members' Profit and Loss accounts, for choosing a pair."""
    return list(
        Account.objects.for_firm(firm)
        .filter(
            organisation_id__in=ClientGroupMember.objects.for_firm(firm)
            .filter(group=group)
            .values("organisation_id"),
            type__in=PROFIT_AND_LOSS_TYPES,
        )
        .select_related("organisation")
        .order_by("organisation__name", "code", "name")
    )


def group_reporting_month(members: list[GroupMemberView]) -> Period | None:
    """The latest month every member reports: the earliest of their reporting months."""
    months = [profile_month_window(m.profile).reporting_month for m in members if m.profile]
    return min(months) if months else None


# --- The consolidated report ---------------------------------------------------------------


@dataclass(frozen=True)
class EliminationRow:
    mapping: IntercompanyMapping
    check: EliminationCheck
    month_difference: Decimal
    month_budget_difference: Decimal
    year_to_date_difference: Decimal

    @property
    def balances(self) -> bool:
        return self.month_difference == 0 and self.year_to_date_difference == 0


@dataclass(frozen=True)
class MemberRow:
    member: GroupMemberView
    net_profit_month: Decimal  # translated, before eliminations
    net_profit_budget: Decimal
    net_profit_year_to_date: Decimal


@dataclass(frozen=True)
class GroupRow:
    line: VarianceLine
    group_line: GroupLine
    parts: tuple[tuple[GroupMemberView, Decimal], ...]  # each member's actual of the month
    eliminated: Decimal | None  # what the pairs took out of the month; None when none
    narrative: str = ""


@dataclass(frozen=True)
class GroupSection:
    label: str
    key: str
    rows: tuple[GroupRow, ...]
    total: object  # SectionTotal
    is_profit: bool


@dataclass
class GroupReport:
    group: ClientGroup
    period: Period
    basis: str
    members: list[GroupMemberView]
    problem: str = ""  # why there is no report; the screen says it instead
    year_start: Period | None = None
    consolidation: Consolidation | None = None
    report: VarianceReport | None = None
    sections: tuple[GroupSection, ...] = ()
    eliminations: tuple[EliminationRow, ...] = ()
    member_rows: tuple[MemberRow, ...] = ()
    # Net profit's actual at the actual rates less at the budget rates: what the rates moved.
    translation_effect_month: Decimal | None = None
    translation_effect_year_to_date: Decimal | None = None
    narratives: dict[str, str] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.group.reporting_currency

    @property
    def basis_label(self) -> str:
        return BASIS_LABELS[self.basis]

    @property
    def unbalanced(self) -> tuple[EliminationRow, ...]:
        return tuple(row for row in self.eliminations if not row.balances)


def _members_for_maths(
    loaded: list[tuple[GroupMemberView, VarianceData]], *, first: Period, last: Period
) -> list[Member]:
    return [
        Member(
            key=member.key,
            name=member.organisation.name,
            currency=member.currency,
            balances=[balances_window(b, first=first, last=last) for b in data.balances],
        )
        for member, data in loaded
    ]


def _eliminations(mappings: list[IntercompanyMapping]) -> list[Elimination]:
    return [
        Elimination(
            key=str(m.pk),
            name=m.name,
            income_member=str(m.income_account.organisation_id),
            income_account=m.income_account.account_id,
            expense_member=str(m.expense_account.organisation_id),
            expense_account=m.expense_account.account_id,
        )
        for m in mappings
    ]


def _net_profit(accounts, *, first: Period, last: Period, budget: bool = False) -> Decimal:
    total = Decimal("0.00")
    for account in accounts:
        amount = (
            account.budget_between(first=first, last=last)
            if budget
            else account.actual_between(first=first, last=last)
        )
        total += amount if account.account_class == "REVENUE" else -amount
    return total


def group_report_load(
    *,
    firm: Firm,
    group: ClientGroup,
    period: Period,
    basis: str = "budget",
    with_narratives: bool = True,
) -> GroupReport:
    """The consolidated P&L against the consolidated budget for `period` and the year to date,
    in the group's currency, translated at the budget's or the actual rates (`basis`)."""
    if basis not in BASES:
        basis = "budget"
    members = group_members(firm=firm, group=group)
    view = GroupReport(group=group, period=period, basis=basis, members=members)
    unsynced = [m.organisation.name for m in members if m.profile is None]
    if unsynced:
        view.problem = f"{', '.join(unsynced)} has not synced with Xero yet."
        return view
    if len(members) < 2:
        view.problem = "A group reports once it has two members."
        return view
    year_end_months = {m.profile.financial_year_end_month for m in members}
    if len(year_end_months) > 1:
        view.problem = (
            "The members' financial years now end in different months (a member changed its "
            "year end in Xero), so their years cannot be added up."
        )
        return view
    profile = members[0].profile
    year_start = financial_year_start(
        period=period,
        financial_year_end_month=profile.financial_year_end_month,
        financial_year_end_day=profile.financial_year_end_day,
    )
    view.year_start = year_start
    loaded = [
        (
            member,
            variance_data_load(
                firm=firm,
                organisation=member.organisation,
                period=period,
                profile=member.profile,
                months=12,
            ),
        )
        for member in members
    ]
    tables = group_rate_tables(firm=firm, group=group)
    maths_members = _members_for_maths(loaded, first=year_start, last=period)
    mappings = group_mappings(firm=firm, group=group)
    rates = tables[basis]
    try:
        consolidation = consolidate(
            members=maths_members,
            reporting_currency=group.reporting_currency,
            actual_rates=rates,
            budget_rates=rates,
            eliminations=_eliminations(mappings),
        )
    except ConsolidationError as exc:
        view.problem = str(exc)
        return view
    parent = next((d for m, d in loaded if group.parent_id == m.organisation.pk), None)
    thresholds = parent.thresholds if parent else MaterialityThresholds()
    report = variance_for_period(
        lines=consolidation.balances,
        period=period,
        financial_year_end_month=profile.financial_year_end_month,
        financial_year_end_day=profile.financial_year_end_day,
        thresholds=thresholds,
    )
    view.consolidation, view.report = consolidation, report
    if with_narratives:
        view.narratives = _narratives(
            firm=firm, view=view, loaded=loaded, rates=rates, thresholds=thresholds
        )
    by_key = {line.balances.account_id: line for line in consolidation.lines}
    view.sections = tuple(
        GroupSection(
            label=section.label,
            key=section.value,
            rows=tuple(
                _row(line, by_key[line.account_id], members, view)
                for line in report.lines_in(section)
            ),
            total=report.total(section),
            is_profit=section in (Section.GROSS_PROFIT, Section.NET_PROFIT),
        )
        for section in Section
    )
    by_pk = {str(m.pk): m for m in mappings}
    view.eliminations = tuple(
        EliminationRow(
            mapping=by_pk[check.elimination.key],
            check=check,
            month_difference=check.difference(first=period, last=period),
            month_budget_difference=check.difference(first=period, last=period, budget=True),
            year_to_date_difference=check.difference(first=year_start, last=period),
        )
        for check in consolidation.eliminations
    )
    view.member_rows = tuple(
        MemberRow(
            member=member,
            net_profit_month=_net_profit(
                consolidation.translated[member.key], first=period, last=period
            ),
            net_profit_budget=_net_profit(
                consolidation.translated[member.key], first=period, last=period, budget=True
            ),
            net_profit_year_to_date=_net_profit(
                consolidation.translated[member.key], first=year_start, last=period
            ),
        )
        for member in members
    )
    _translation_effect(view, maths_members, tables, _eliminations(mappings))
    return view


def _row(
    line: VarianceLine, group_line: GroupLine, members: list[GroupMemberView], view: GroupReport
) -> GroupRow:
    period = view.period
    eliminated = group_line.eliminated
    return GroupRow(
        line=line,
        group_line=group_line,
        parts=tuple(
            (m, group_line.members[m.key].actual_between(first=period, last=period))
            for m in members
            if m.key in group_line.members
        ),
        eliminated=(
            eliminated.actual_between(first=period, last=period)
            if eliminated.actuals or eliminated.budgets
            else None
        ),
        narrative=view.narratives.get(line.account_id, ""),
    )


def _translation_effect(
    view: GroupReport, members: list[Member], tables: dict[str, dict], eliminations
) -> None:
    """Net profit's actual at the actual rates less at the budget rates, when both are set and
    a member reports in another currency than the group's."""
    if all(m.currency == view.group.reporting_currency for m in members):
        return
    profits = []
    for basis in BASES:
        try:
            group = consolidate(
                members=members,
                reporting_currency=view.group.reporting_currency,
                actual_rates=tables[basis],
                budget_rates=tables[basis],
                eliminations=eliminations,
            )
        except ConsolidationError:
            return
        profits.append(group.balances)
    at_budget, at_actual = profits
    period, start = view.period, view.year_start
    view.translation_effect_month = _net_profit(at_actual, first=period, last=period) - _net_profit(
        at_budget, first=period, last=period
    )
    view.translation_effect_year_to_date = _net_profit(
        at_actual, first=start, last=period
    ) - _net_profit(at_budget, first=start, last=period)


def _narratives(
    *,
    firm: Firm,
    view: GroupReport,
    loaded: list[tuple[GroupMemberView, VarianceData]],
    rates: RateTable,
    thresholds: MaterialityThresholds,
) -> dict[str, str]:
    """A narrative for each material line of the month, by the variance package's own local
    generator, from the consolidated balances and the members' transaction lines translated at
    the report's rates (the lines of eliminated accounts left out, as their amounts are)."""
    material = [line for line in view.report.lines if line.month.material]
    if not material:
        return {}
    eliminated = {
        (e.elimination.income_member, e.elimination.income_account)
        for e in view.consolidation.eliminations
    } | {
        (e.elimination.expense_member, e.elimination.expense_account)
        for e in view.consolidation.eliminations
    }
    keys = {line.account_id for line in material}
    first = add_months(view.period, -narrative_facts.PRIOR_MONTHS)
    lines_by_key: dict[str, list] = defaultdict(list)
    for member, data in loaded:
        key_of = {
            data.accounts[b.account_id].pk: line_key(b)
            for b in data.balances
            if line_key(b) in keys and (member.key, b.account_id) not in eliminated
        }
        if not key_of:
            continue
        accounts = [a for a in data.accounts.values() if a.pk in key_of]
        for line in transaction_lines_for(
            firm=firm,
            organisation=member.organisation,
            accounts=accounts,
            first=first,
            last=view.period,
        ):
            month = line.date.replace(day=1)
            amount = line.amount
            if member.currency != view.group.reporting_currency:
                rate = rates.get((member.currency, month))
                if rate is None:
                    continue  # a month before the report's window, with no rate: left out
                amount = translate(amount, rate)
            fact = facts_transaction_line(line)
            lines_by_key[key_of[line.account_id]].append(
                dataclasses.replace(
                    fact,
                    amount=amount,
                    # Two members' documents may share a number: each is its member's.
                    document_number=f"{member.organisation.name} {fact.document_number}".strip(),
                )
            )
    generator = LocalNarrativeGenerator()
    texts = {}
    for line in material:
        group_line = view.consolidation.line(line.account_id)
        facts = narrative_facts.variance_facts_build(
            account=group_line.balances,
            period=view.period,
            currency_code=view.group.reporting_currency,
            transactions=lines_by_key.get(line.account_id, ()),
            thresholds=thresholds,
            synced_from=view.year_start,
        )
        texts[line.account_id] = generator.explain(facts).text
    return texts
