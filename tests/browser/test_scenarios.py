"""What-if scenarios in a real browser: the preparer creates a scenario, types the question
from the client call as a sentence, confirms what it read, compares it with a second scenario,
and turns it into a draft that reaches the approval chain."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import (
    Account,
    ActualBalance,
    ApprovalRequest,
    BudgetBalance,
    BudgetLine,
    Draft,
    Scenario,
)
from budgeting.scenarios import services
from core.months import add_months
from tests.browser.helpers import approval_chain
from tests.budgeting.draft_data import NOVEMBER, OCTOBER, draft_organisation_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

QUESTION = "What happens to net profit if we increase sales by 15% but COGS rises 5%?"


def _with_cost_of_goods(cast, data):
    """The draft organisation, with cost of goods sold at 20,000 a month (actual and budget)."""
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    cogs = Account.objects.for_firm(cast.firm).create(
        **owned,
        account_id="acc-310",
        code="310",
        name="Cost of Goods Sold",
        type="DIRECTCOSTS",
        account_class="EXPENSE",
    )
    line = BudgetLine.objects.for_firm(cast.firm).create(**owned, budget=data.overall, account=cogs)
    for i in range(-12, 12):
        month = add_months(NOVEMBER, i)
        BudgetBalance.objects.for_firm(cast.firm).create(
            **owned, budget_line=line, period=month, amount=Decimal("20000")
        )
        if month <= OCTOBER:
            ActualBalance.objects.for_firm(cast.firm).create(
                **owned, account=cogs, period=month, amount=Decimal("20000")
            )


def test_a_sentence_confirmed_compared_and_drafted_to_the_approval_chain(
    firm_a, page_for, celery_worker_thread
):
    cast = firm_a
    preparer = cast.member("preparer").user
    data = draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    _with_cost_of_goods(cast, data)
    approval_chain(cast, [{"name": "Manager", "roles": ["approver"]}])
    other = services.scenario_create(
        firm=cast.firm,
        organisation=cast.organisation,
        name="Flat year",
        first_period=NOVEMBER,
        months=12,
        base_budget=data.overall,
        user=preparer,
    )

    page = page_for(preparer)
    page.goto(reverse("scenario_list", args=[cast.firm.slug, cast.organisation.pk]))
    page.get_by_label("Name").fill("Sales up, COGS up")
    page.get_by_label("Starts from").select_option(label="Budget: Overall")
    page.get_by_label("First month").fill("2026-11")
    page.get_by_label("Months").fill("12")
    page.get_by_role("button", name="Create the scenario").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales up, COGS up")
    scenario = Scenario.objects.for_firm(cast.firm).get(name="Sales up, COGS up")

    page.get_by_label("Say what changes").fill(QUESTION)
    page.get_by_role("button", name="Read it").click()
    read = page.locator("#read-adjustments")
    expect(read).to_contain_text("Revenue up 15% from Nov 2026 to Oct 2027")
    expect(read).to_contain_text("Cost of sales up 5% from Nov 2026 to Oct 2027")
    page.get_by_role("button", name="Confirm and apply").click()
    expect(page.locator("#adjustments")).to_contain_text("Revenue up 15%")
    # Net profit a month: 57,500 + 60 - 21,000 - 3,000 - 5,000 = 28,560, up 6,500.
    net = page.locator("#pnl tr", has_text="Net profit").first
    expect(net).to_contain_text("NZ$28,560.00")

    page.goto(reverse("scenario_list", args=[cast.firm.slug, cast.organisation.pk]))
    page.get_by_label("Compare Sales up, COGS up").check()
    page.get_by_label("Compare Flat year").check()
    page.get_by_role("button", name="Compare the ticked scenarios").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scenarios side by side")
    expect(page.locator("svg.chart path.series-1")).to_have_count(1)
    expect(page.locator("svg.chart path.series-2")).to_have_count(1)
    comparison = page.locator("#comparison")
    expect(comparison).to_contain_text("Flat year")
    expect(comparison.locator("tr", has_text="Net profit").first).to_contain_text("NZ$342,720.00")

    page.get_by_role("link", name="Sales up, COGS up").click()
    page.get_by_role("button", name="Make it a draft").click()
    expect(page.locator("main ul.messages")).to_contain_text("The scenario is now a draft")
    draft = Draft.objects.for_firm(cast.firm).get(source=Draft.Source.SCENARIO)
    page.goto(reverse("draft_approval", args=[cast.firm.slug, cast.organisation.pk, draft.pk]))
    page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("main")).to_contain_text("Status: Submitted")
    request = ApprovalRequest.objects.for_firm(cast.firm).get(draft=draft)
    assert request.status == ApprovalRequest.Status.PENDING
    page.goto(reverse("scenario_detail", args=[cast.firm.slug, cast.organisation.pk, scenario.pk]))
    expect(page.locator("#scenario-draft")).to_contain_text(re.compile("submitted", re.I))
    assert other.pk != scenario.pk


@pytest.fixture
def chat_endpoint(settings):
    from tests.fake_chat import chat_endpoint_serve

    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    yield from chat_endpoint_serve()


def test_a_sentence_the_parser_cannot_read_is_read_by_the_firms_model_and_confirmed(
    firm_a, page_for, chat_endpoint
):
    import json

    from budgeting.models import ScenarioAdjustment
    from tests.factories import NarrativeProviderSettingsFactory

    cast = firm_a
    preparer = cast.member("preparer").user
    data = draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    NarrativeProviderSettingsFactory(
        firm=cast.firm, enabled=True, base_url=chat_endpoint.base_url, model="test-model"
    )
    reading = {"accounts": ["400"], "percent": "-10", "from": "2027-01", "to": "2027-10"}
    chat_endpoint.answer_with(lambda payload: json.dumps({"adjustments": [reading]}))
    scenario = services.scenario_create(
        firm=cast.firm,
        organisation=cast.organisation,
        name="Quieter year",
        first_period=NOVEMBER,
        months=12,
        base_budget=data.overall,
        user=preparer,
    )
    page = page_for(preparer)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(reverse("scenario_detail", args=[cast.firm.slug, cast.organisation.pk, scenario.pk]))
    page.get_by_label("Say what changes").fill("increase sales by 10% and go easy on promotion")
    page.get_by_role("button", name="Read it").click()
    read = page.locator("#read-adjustments")
    expect(read).to_contain_text("Revenue up 10% from Nov 2026 to Oct 2027")
    expect(read.locator("li.read-by-model")).to_contain_text(
        "400 Advertising down 10% from Jan 2027 to Oct 2027 read by test-model, check before "
        "confirming"
    )
    assert not ScenarioAdjustment.objects.for_firm(cast.firm).filter(scenario=scenario).exists()
    page.get_by_role("button", name="Confirm and apply").click()
    expect(page.locator("#adjustments")).to_contain_text("400 Advertising down 10%")
    assert ScenarioAdjustment.objects.for_firm(cast.firm).filter(scenario=scenario).count() == 2
    assert len(chat_endpoint.received) == 1
