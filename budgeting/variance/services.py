"""Writes for variance: narratives of material variances, the dashboard summary, settings.

`organisation_variance_refresh` is what the post-close pipeline calls after a sync: it explains
every material variance of the organisation's last closed month (overall, and for each tracking
option that has its own budget) and stores the month's summary for the firm dashboard. It is
safe to run twice: a narrative is regenerated only when its facts changed.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from budgeting.currency.maths import split_to_dict
from budgeting.currency.sentences import currency_sentences
from budgeting.ledger.models import Account, Budget, TrackingOption, XeroOrganisation
from budgeting.variance.maths import Period, VarianceLine, financial_year_start
from budgeting.variance.models import (
    MaterialitySetting,
    NarrativeProviderSettings,
    VarianceNarrative,
    VarianceSummary,
)
from budgeting.variance.narratives.facts import variance_facts_build
from budgeting.variance.narratives.local import LocalNarrativeGenerator
from budgeting.variance.narratives.provider import NarrativeGenerator, OpenAICompatibleGenerator
from budgeting.variance.selectors import (
    VarianceData,
    currency_effects_of,
    facts_hash,
    facts_transaction_line,
    narrative_identities,
    transaction_lines_for,
    transactions_synced_from,
    variance_data_load,
)
from core.history import history_note
from core.months import add_months, last_closed_month
from tenants.models import ClientOrganisation, Firm

logger = logging.getLogger(__name__)


# --- Narrative generator ------------------------------------------------------------------------


def narrative_provider_settings_get(*, firm: Firm) -> NarrativeProviderSettings:
    settings, _created = NarrativeProviderSettings.objects.for_firm(firm).get_or_create(firm=firm)
    return settings


def narrative_generator_for_firm(*, firm: Firm) -> NarrativeGenerator:
    """The local generator, unless the firm turned the outside provider on (and completed it)."""
    settings = NarrativeProviderSettings.objects.for_firm(firm).first()
    if settings and settings.enabled and settings.base_url and settings.model:
        return OpenAICompatibleGenerator(
            base_url=settings.base_url, api_key=settings.api_key, model=settings.model
        )
    return LocalNarrativeGenerator()


def narrative_provider_settings_update(
    *,
    firm: Firm,
    enabled: bool,
    base_url: str,
    model: str,
    api_key: str | None,
    reason: str = "Narrative provider settings changed",
) -> NarrativeProviderSettings:
    """Save the settings; `api_key=None` keeps the stored key (forms never show it back)."""
    settings = narrative_provider_settings_get(firm=firm)
    settings.enabled = enabled
    settings.base_url = base_url
    settings.model = model
    if api_key is not None:
        settings.api_key = api_key
    settings.updated_at = timezone.now()
    history_note(settings, reason=reason)
    settings.save()
    return settings


# --- Materiality -------------------------------------------------------------------------------


def materiality_setting_update(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account_class: str,
    percent: Decimal,
    floor: Decimal,
    reason: str = "Materiality threshold changed",
) -> MaterialitySetting:
    setting = (
        MaterialitySetting.objects.for_firm(firm)
        .filter(organisation=organisation, account_class=account_class)
        .first()
    ) or MaterialitySetting(firm=firm, organisation=organisation, account_class=account_class)
    setting.percent = percent
    setting.floor = floor
    setting.updated_at = timezone.now()
    history_note(setting, reason=reason)
    setting.save()
    return setting


def materiality_setting_remove(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account_class: str,
    reason: str = "Materiality threshold removed",
) -> None:
    """Back to the default threshold (or, for the default itself, the product's)."""
    for setting in MaterialitySetting.objects.for_firm(firm).filter(
        organisation=organisation, account_class=account_class
    ):
        history_note(setting, reason=reason)
        setting.delete()


# --- Narratives ---------------------------------------------------------------------------------


def variance_narratives_explain(
    *,
    firm: Firm,
    data: VarianceData,
    period: Period,
    lines: list[VarianceLine],
    generator: NarrativeGenerator | None = None,
) -> dict[str, VarianceNarrative]:
    """A stored narrative for each of `lines`, by AccountID; regenerated when the facts changed.

    Transactions for all the lines come in one query; each narrative is written only when new.
    """
    if not lines:
        return {}
    generator = generator or narrative_generator_for_firm(firm=firm)
    organisation, option = data.organisation, data.tracking_option
    synced_from = transactions_synced_from(data.profile)
    accounts = [data.accounts[line.account_id] for line in lines]
    by_account: dict[int, list] = {account.pk: [] for account in accounts}
    for row in transaction_lines_for(
        firm=firm,
        organisation=organisation,
        accounts=accounts,
        first=max(synced_from, add_months(period, -6)),
        last=period,
        tracking_option=option,
    ):
        by_account[row.account_id].append(facts_transaction_line(row))
    stored = {
        n.account_id: n
        for n in VarianceNarrative.objects.for_firm(firm).filter(
            organisation=organisation,
            period=period,
            tracking_option=option,
            account__in=accounts,
        )
    }
    # Everyone the facts may name, masked if the outside provider words the text; never part
    # of the stored facts or their hash.
    identities = narrative_identities(firm=firm, organisation=organisation)
    currency = currency_effects_of(
        firm=firm,
        data=data,
        period=period,
        year_start=financial_year_start(
            period=period,
            financial_year_end_month=data.profile.financial_year_end_month,
            financial_year_end_day=data.profile.financial_year_end_day,
        ),
        lines=lines,
    )
    result = {}
    for line, account in zip(lines, accounts, strict=True):
        balances = data.balances_of(line.account_id)
        facts = variance_facts_build(
            account=balances,
            period=period,
            currency_code=data.currency,
            transactions=by_account[account.pk],
            thresholds=data.thresholds,
            synced_from=synced_from,
            person_names=identities.person_names,
            contact_names=identities.contact_names,
            emails=identities.emails,
        )
        effects = currency.get(line.account_id)
        # Said once the organisation has budget rates for the month's currencies (a client
        # that never set one reads no "no budget rate" sentence), and on the currency accounts.
        if effects is not None and (
            effects.month.fx_account or any(not e.missing_months for e in effects.month.by_currency)
        ):
            facts = dataclasses.replace(
                facts,
                currency_effects=split_to_dict(effects.month),
                currency_sentences=tuple(
                    currency_sentences(
                        split=effects.month,
                        account_name=facts.account_name,
                        account_class=facts.account_class,
                        base_currency=data.currency,
                    )
                ),
            )
        facts_dict = facts.to_dict()
        digest = facts_hash(facts_dict)
        current = stored.get(account.pk)
        if current is not None and current.facts_hash == digest:
            result[line.account_id] = current
            continue
        narrative = generator.explain(facts)
        if current is None:
            current = VarianceNarrative(
                firm=firm,
                organisation=organisation,
                account=account,
                tracking_option=option,
                period=period,
            )
            history_note(current, reason="Narrative written")
        else:
            history_note(current, reason="Narrative rewritten: the facts changed")
        current.text = narrative.text
        current.facts = narrative.facts
        current.facts_hash = digest
        current.generator = narrative.generator
        current.fallback_reason = narrative.fallback[:200]
        current.drivers = narrative.drivers
        current.created_at = timezone.now()
        current.save()
        result[line.account_id] = current
    return result


def variance_narrative_for_account(
    *, firm: Firm, data: VarianceData, period: Period, account: Account
) -> VarianceNarrative | None:
    """The narrative of one account's variance, written on demand; None when not material."""
    report = data.report(period)
    line = next((x for x in report.lines if x.account_id == account.account_id), None)
    if line is None or not line.month.material:
        return None
    return variance_narratives_explain(firm=firm, data=data, period=period, lines=[line]).get(
        account.account_id
    )


# --- After a sync ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VarianceRefresh:
    period: Period | None
    reports: int  # overall and each tracking option with a budget
    material: int  # material lines across those reports
    narratives: int  # stored narratives for them


def organisation_variance_refresh(
    *, firm: Firm, organisation: ClientOrganisation, period: Period | None = None
) -> VarianceRefresh:
    """Explain the material variances of the last closed month and store the month's summary.

    The post-close pipeline calls this after a successful sync; running it again changes
    nothing unless the data did.
    """
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    if profile is None:
        return VarianceRefresh(period=None, reports=0, material=0, narratives=0)
    period = period or last_closed_month(profile.period_lock_date)
    if period is None:
        return VarianceRefresh(period=None, reports=0, material=0, narratives=0)
    generator = narrative_generator_for_firm(firm=firm)
    options: list[TrackingOption | None] = [None]
    options += [
        budget.tracking_option
        for budget in Budget.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            type=Budget.Type.TRACKING,
            tracking_option__isnull=False,
            tracking_option_2__isnull=True,
        )
        .select_related("tracking_option")
        .order_by("tracking_option__name", "pk")
    ]
    material = narratives = 0
    # No transaction around the whole refresh: with the outside provider on, each narrative
    # may wait on an HTTP call. Each row is written on its own, and a rerun only fills gaps.
    for option in dict.fromkeys(options):
        data = variance_data_load(
            firm=firm,
            organisation=organisation,
            period=period,
            profile=profile,
            tracking_option=option,
        )
        report = data.report(period)
        lines = list(report.material_lines)
        material += len(lines)
        narratives += len(
            variance_narratives_explain(
                firm=firm, data=data, period=period, lines=lines, generator=generator
            )
        )
        variance_narratives_prune(firm=firm, data=data, period=period, keep=lines)
        if option is None:
            variance_summary_store(firm=firm, data=data, period=period, lines=len(lines))
    logger.info(
        "Variance of %s for %s: %d material lines explained", organisation, period, material
    )
    return VarianceRefresh(
        period=period, reports=len(dict.fromkeys(options)), material=material, narratives=narratives
    )


def variance_narratives_prune(
    *, firm: Firm, data: VarianceData, period: Period, keep: list[VarianceLine]
) -> int:
    """Remove the month's narratives of lines that are no longer material (new data, or a
    changed threshold), so a page never shows an explanation of a variance it does not flag."""
    stale = (
        VarianceNarrative.objects.for_firm(firm)
        .filter(organisation=data.organisation, period=period, tracking_option=data.tracking_option)
        .exclude(account__account_id__in=[line.account_id for line in keep])
    )
    count = 0
    for narrative in stale:
        history_note(narrative, reason="Removed: the variance is no longer material")
        narrative.delete()
        count += 1
    return count


def variance_summary_store(
    *, firm: Firm, data: VarianceData, period: Period, lines: int
) -> VarianceSummary:
    net = data.report(period).net_profit.month
    summary, _created = VarianceSummary.objects.for_firm(firm).update_or_create(
        organisation=data.organisation,
        period=period,
        defaults={
            "firm": firm,
            "currency_code": data.currency,
            "net_profit_actual": net.actual,
            "net_profit_budget": net.budget,
            "net_profit_variance": net.variance,
            "net_profit_percent": net.percent,
            "net_profit_favourable": net.favourable,
            "material_count": lines,
            "refreshed_at": timezone.now(),
        },
    )
    return summary
