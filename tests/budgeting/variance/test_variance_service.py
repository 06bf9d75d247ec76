"""Variance from the synced data: the right budget, narratives stored with their facts and
written again only when the facts change, materiality settings, the provider only when on."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest

from budgeting.approvals import services as approvals
from budgeting.models import (
    Budget,
    BudgetBalance,
    BudgetLine,
    NarrativeProviderSettings,
    TransactionLine,
    VarianceNarrative,
    VarianceSummary,
)
from budgeting.variance.maths import Section
from budgeting.variance.narratives.local import LocalNarrativeGenerator
from budgeting.variance.narratives.provider import OpenAICompatibleGenerator
from budgeting.variance.selectors import facts_hash, variance_data_load, variance_report_load
from budgeting.variance.services import (
    materiality_setting_update,
    narrative_generator_for_firm,
    narrative_provider_settings_update,
    organisation_variance_refresh,
)
from core.months import last_closed_month
from tests.budgeting.variance_data import (
    CAMPAIGN,
    OCTOBER,
    RENT_JOURNAL,
    variance_organisation_create,
)


@pytest.fixture
def variance_org(firm_a):
    return variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


def _narratives(firm, organisation):
    return {
        n.account.code: n
        for n in VarianceNarrative.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("account")
    }


def test_last_closed_month_follows_the_period_lock_date():
    assert last_closed_month(dt.date(2026, 10, 31)) == dt.date(2026, 10, 1)
    assert last_closed_month(dt.date(2026, 10, 15)) == dt.date(2026, 9, 1)
    assert last_closed_month(dt.date(2024, 2, 29)) == dt.date(2024, 2, 1)
    assert last_closed_month(None) is None


def test_report_loads_the_overall_budget_and_totals_the_sections(firm_a, variance_org):
    view = variance_report_load(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        profile=variance_org.profile,
        period=OCTOBER,
    )
    lines = {row.line.code: row.line for row in view.rows}
    assert lines["200"].month.actual == Decimal("50000.00")
    assert lines["200"].month.budget == Decimal("48000.00")
    assert lines["200"].month.favourable is True
    assert lines["400"].month.variance == CAMPAIGN
    assert lines["400"].month.favourable is False
    assert lines["400"].month.material is True
    # Year to date from April (the year ends in March): seven months.
    assert view.report.financial_year_start == dt.date(2026, 4, 1)
    assert lines["200"].year_to_date.actual == Decimal("350000.00")
    net = view.report.net_profit.month
    assert net.actual == Decimal("50000") + 100 - 20000 - (3000 + CAMPAIGN) - (5000 + RENT_JOURNAL)
    assert net.budget == Decimal("48000") + 100 - 20000 - 3000 - 5000
    assert view.report.total(Section.OPERATING_EXPENSES).month.actual == (
        lines["400"].month.actual + lines["469"].month.actual
    )


def test_a_tracking_option_is_compared_with_its_own_tracking_budget(firm_a, variance_org):
    from budgeting.models import ActualBalance

    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    option, sales = variance_org.option, variance_org.accounts["200"]
    budget = Budget.objects.create(
        **owned, budget_id="b-north", type=Budget.Type.TRACKING, tracking_option=option
    )
    line = BudgetLine.objects.create(**owned, budget=budget, account=sales)
    BudgetBalance.objects.create(**owned, budget_line=line, period=OCTOBER, amount=10000)
    ActualBalance.objects.create(
        **owned, account=sales, tracking_option=option, period=OCTOBER, amount=12500
    )
    data = variance_data_load(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        period=OCTOBER,
        profile=variance_org.profile,
        tracking_option=option,
    )
    assert data.budget == budget
    (only,) = data.report(OCTOBER).lines
    assert (only.code, only.month.actual, only.month.budget) == ("200", 12500, 10000)
    assert only.month.percent == Decimal("25.0")


def test_refresh_explains_material_variances_with_their_facts(firm_a, variance_org):
    result = organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)

    assert result.period == OCTOBER
    narratives = _narratives(firm_a.firm, firm_a.organisation)
    assert set(narratives) == {"400", "469"}  # sales is 4% over: not material
    ads = narratives["400"]
    assert "Brightwave Media" in ads.text and "4,100" in ads.text
    assert ads.generator == "local"
    assert ads.facts["variance"] == "4100.00"
    assert ads.facts_hash == facts_hash(ads.facts)
    assert ads.drivers[0]["contact_name"] == "Brightwave Media"
    # Every number in the text is in the facts or drivers stored with it.
    stored = json.dumps([ads.facts, ads.drivers])
    for number in ("4,100", "3,000"):
        assert number.replace(",", "") in stored.replace(",", "")


def test_a_variance_the_data_cannot_explain_is_reported_as_such(firm_a, variance_org):
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)

    rent = _narratives(firm_a.firm, firm_a.organisation)["469"]
    assert "do not explain the difference" in rent.text
    assert "Quay Properties" not in rent.text.split(".")[0]
    assert rent.drivers == [
        {
            "kind": "residual",
            "contact_name": "",
            "description": "transactions do not account for the actual",
            "amount": "0.00",
            "typical": "0.00",
            "impact": "2500.00",
            "document_type": "",
            "document_count": "0",
            "first_seen": None,
            "last_seen": None,
        }
    ]


def test_refresh_is_safe_to_run_twice_and_rewrites_only_when_the_facts_change(firm_a, variance_org):
    firm, organisation = firm_a.firm, firm_a.organisation
    organisation_variance_refresh(firm=firm, organisation=organisation)
    before = _narratives(firm, organisation)
    organisation_variance_refresh(firm=firm, organisation=organisation)
    again = _narratives(firm, organisation)
    assert {c: n.created_at for c, n in again.items()} == {
        c: n.created_at for c, n in before.items()
    }
    assert before["400"].history.count() == 1

    # A new bill synced for October changes the facts: that narrative is written again.
    TransactionLine.objects.create(
        firm=firm,
        organisation=organisation,
        document_type="ACCPAY",
        document_id="bill-late",
        document_number="ADS-LATE",
        line_id="1",
        date=OCTOBER.replace(day=28),
        account=variance_org.accounts["400"],
        contact_name="Google Ads",
        description="Extra clicks",
        amount=Decimal("10.00"),
    )
    organisation_variance_refresh(firm=firm, organisation=organisation)
    after = _narratives(firm, organisation)
    assert after["400"].facts_hash != before["400"].facts_hash
    assert after["400"].history.count() == 2
    assert after["469"].facts_hash == before["469"].facts_hash
    # The text the re-sync replaced stays in the history, with why it changed.
    newest, oldest = after["400"].history.order_by("-history_date", "-history_id")
    assert (oldest.text, oldest.history_change_reason) == (before["400"].text, "Narrative written")
    assert oldest.facts == before["400"].facts
    assert (newest.text, newest.history_change_reason) == (
        after["400"].text,
        "Narrative rewritten: the facts changed",
    )
    assert VarianceNarrative.objects.for_firm(firm).count() == 2


def test_refresh_stores_the_month_summary_for_the_dashboard(firm_a, variance_org):
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)

    (summary,) = VarianceSummary.objects.for_firm(firm_a.firm)
    assert summary.period == OCTOBER
    assert summary.net_profit_variance == Decimal(2000) - CAMPAIGN - RENT_JOURNAL
    assert summary.net_profit_favourable is False
    assert summary.material_count == 2
    assert summary.currency_code == "NZD"


def test_materiality_is_configurable_per_organisation_and_class(firm_a, variance_org):
    firm, organisation = firm_a.firm, firm_a.organisation
    organisation_variance_refresh(firm=firm, organisation=organisation)
    assert set(_narratives(firm, organisation)) == {"400", "469"}
    materiality_setting_update(
        firm=firm,
        organisation=organisation,
        account_class="REVENUE",
        percent=Decimal("2"),
        floor=Decimal("1000"),
    )
    materiality_setting_update(
        firm=firm,
        organisation=organisation,
        account_class="",
        percent=Decimal("10"),
        floor=Decimal("3000"),
    )
    result = organisation_variance_refresh(firm=firm, organisation=organisation)
    # Sales (2,000, 4%) passes the revenue threshold; rent (2,500) no longer passes the floor,
    # and its narrative goes.
    assert set(_narratives(firm, organisation)) == {"200", "400"}
    assert result.material == 2


def test_an_organisation_not_synced_yet_has_nothing_to_refresh(firm_a):
    result = organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    assert result.period is None and result.narratives == 0


def test_the_local_generator_is_used_unless_the_firm_turns_the_provider_on(firm_a):
    firm = firm_a.firm
    assert isinstance(narrative_generator_for_firm(firm=firm), LocalNarrativeGenerator)
    narrative_provider_settings_update(
        firm=firm, enabled=False, base_url="http://llm.test/v1", model="m", api_key="sk-1"
    )
    assert isinstance(narrative_generator_for_firm(firm=firm), LocalNarrativeGenerator)
    narrative_provider_settings_update(
        firm=firm, enabled=True, base_url="http://llm.test/v1", model="m", api_key=None
    )
    generator = narrative_generator_for_firm(firm=firm)
    assert isinstance(generator, OpenAICompatibleGenerator)
    assert generator.api_key == "sk-1"  # kept when the form leaves it empty


def test_the_api_key_is_stored_encrypted_and_kept_out_of_the_history(firm_a):
    from django.db import connection

    settings = narrative_provider_settings_update(
        firm=firm_a.firm, enabled=True, base_url="http://llm.test/v1", model="m", api_key="sk-42"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT api_key FROM {NarrativeProviderSettings._meta.db_table} WHERE id = %s",
            [settings.pk],
        )
        (raw,) = cursor.fetchone()
    assert raw and "sk-42" not in raw
    assert not hasattr(settings.history.first(), "api_key")


def test_refresh_uses_the_provider_only_when_enabled(
    firm_a,
    variance_org,
    chat_endpoint,
):
    firm, organisation = firm_a.firm, firm_a.organisation

    def answer(payload):
        contact = payload["drivers"][0]["contact_name"]
        return f"Advertising is 4,100 over budget, from one bill from {contact} (4,100)."

    chat_endpoint.answer_with(answer)
    organisation_variance_refresh(firm=firm, organisation=organisation)
    assert chat_endpoint.received == []

    narrative_provider_settings_update(
        firm=firm, enabled=True, base_url=chat_endpoint.base_url, model="test", api_key="sk-x"
    )
    VarianceNarrative.objects.for_firm(firm).delete()
    organisation_variance_refresh(firm=firm, organisation=organisation)

    narratives = _narratives(firm, organisation)
    # Asked once, for the variance the data explains, and never with a real name.
    assert len(chat_endpoint.received) == 1
    assert b"Brightwave" not in chat_endpoint.received[0]
    assert narratives["400"].generator == "openai-compatible (test)"
    assert "Brightwave Media (4,100)" in narratives["400"].text
    assert narratives["469"].generator.startswith("local (fallback:")


def test_the_refresh_masks_the_firms_people_and_every_synced_contact(
    firm_a, firm_b, variance_org, chat_endpoint
):
    firm, organisation = firm_a.firm, firm_a.organisation
    preparer = firm_a.member("preparer").user
    preparer.full_name = "Ana Reid"
    preparer.save()
    outsider = firm_b.member("preparer").user  # another firm's: not this firm's to mask
    outsider.full_name = "Otto Birch"
    outsider.save()
    approvals.external_approver_register(
        firm=firm,
        organisation=organisation,
        email="bea.owner@harbourlane.example",
        name="Bea Owner",
        user=firm_a.member("admin").user,
    )
    TransactionLine.objects.for_firm(firm).filter(contact_name="Brightwave Media").update(
        description=f"Spring campaign, approved by Ana Reid ({preparer.email}); "
        "art by Quay Properties; thanks Otto Birch; for BEA OWNER"
    )
    narrative_provider_settings_update(
        firm=firm, enabled=True, base_url=chat_endpoint.base_url, model="test", api_key="sk-x"
    )
    chat_endpoint.answer_with(
        lambda payload: "Advertising is 4,100 over budget, mostly a 9,999 campaign."
    )

    organisation_variance_refresh(firm=firm, organisation=organisation)

    [body] = chat_endpoint.received
    sent = body.decode()
    for leak in ("Ana", "Reid", preparer.email, "Brightwave", "Quay", "Google", "BEA", "OWNER"):
        assert leak not in sent
    description = json.loads(json.loads(sent)["messages"][-1]["content"])["facts"]["lines"][-1][
        "description"
    ]
    # The contact of another account's lines is masked too; another firm's people are not
    # this firm's to know, so they are not in its list.
    assert re.fullmatch(
        r"Spring campaign, approved by Person \d+ \(Email \d+\); art by Contact \d+; "
        r"thanks Otto Birch; for Person \d+",
        description,
    )
    advertising = _narratives(firm, organisation)["400"]
    assert advertising.fallback_reason == "unverified number 9,999"
    assert advertising.generator == "local (fallback: unverified number 9,999)"
    assert "9,999" not in advertising.text
    # Names to mask are not facts: neither stored with the narrative nor in its hash.
    assert "person_names" not in advertising.facts and "Ana Reid" not in json.dumps(
        advertising.facts["trend"]
    )
