"""A scenario becomes a draft of the budget, which takes the normal path: the policy checks
each line, the preparer submits it, and it reaches the approval chain. Firm B cannot."""

from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.models import ApprovalRequest, Draft, DraftBalance, DraftLine, Scenario
from budgeting.scenarios import services
from budgeting.scenarios.maths import Adjustment, Change, Target
from budgeting.scenarios.selectors import scenario_sentence_read
from core.months import add_months
from tenants.roles import Role
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create
from tests.budgeting.screens import login
from tests.factories import ApprovalChainFactory, BudgetPolicyFactory


@pytest.fixture
def scenario(firm_a):
    data = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    user = firm_a.member(Role.PREPARER).user
    made = services.scenario_create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        name="Busy year",
        first_period=NOVEMBER,
        months=12,
        base_budget=data.overall,
        user=user,
    )
    sentence = "increase sales by 15% but advertising rises 5% from March"
    read = scenario_sentence_read(firm=firm_a.firm, scenario=made, sentence=sentence)
    services.scenario_adjustments_add(
        firm=firm_a.firm,
        scenario=made,
        adjustments=[a.adjustment for a in read.adjustments],
        sentence=sentence,
        user=user,
    )
    made.data = data
    return made


def _url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def test_a_scenario_becomes_a_draft_that_reaches_the_approval_chain(client, firm_a, scenario):
    ApprovalChainFactory(organisation=firm_a.organisation)
    login(client, firm_a)
    response = client.post(_url(firm_a, "scenario_draft_create", scenario.pk))
    draft = Draft.objects.for_firm(firm_a.firm).get()
    assert response.status_code == 302
    assert response["Location"] == _url(firm_a, "draft_detail", draft.pk)
    assert draft.source == Draft.Source.SCENARIO
    assert draft.original_budget == scenario.data.overall
    assert (draft.first_period, draft.horizon) == (NOVEMBER, 12)
    lines = {
        line.account.code: line
        for line in DraftLine.objects.for_firm(firm_a.firm)
        .filter(draft=draft)
        .select_related("account")
    }
    # Only the accounts the scenario changes: sales, and advertising from March.
    assert set(lines) == {"200", "400"}
    sales = DraftBalance.objects.for_firm(firm_a.firm).filter(line=lines["200"]).order_by("period")
    assert [(b.original_amount, b.effective_amount) for b in sales[:1]] == [
        (Decimal("50000.00"), Decimal("57500.00"))
    ]
    advertising = DraftBalance.objects.for_firm(firm_a.firm).filter(line=lines["400"])
    assert {b.period.month: b.effective_amount for b in advertising}[2] == Decimal("3000.00")
    assert {b.period.month: b.effective_amount for b in advertising}[3] == Decimal("3150.00")
    assert all(line.policy_ok and line.accepted for line in lines.values())
    assert lines["200"].provenance["scenario"]["name"] == "Busy year"
    scenario.refresh_from_db()
    assert scenario.draft == draft
    assert scenario.version == 3
    # The screen of the draft is the normal one, and the preparer submits it to the chain.
    assert client.get(_url(firm_a, "draft_detail", draft.pk)).status_code == 200
    request = approvals.draft_submit(
        firm=firm_a.firm, draft=draft, user=firm_a.member(Role.PREPARER).user
    )
    draft.refresh_from_db()
    assert draft.status == Draft.Status.SUBMITTED
    assert request.status == ApprovalRequest.Status.PENDING
    page = client.get(_url(firm_a, "scenario_detail", scenario.pk)).content.decode()
    assert "became" in page and "submitted for approval" in page


def test_the_policy_guards_a_scenario_draft(client, firm_a, scenario):
    # At most a 10% change: sales up 15% breaks it, and the draft cannot be submitted.
    BudgetPolicyFactory(organisation=firm_a.organisation, max_change_percent=Decimal("10"))
    draft = services.scenario_draft_create(
        firm=firm_a.firm, scenario=scenario, user=firm_a.member(Role.PREPARER).user
    )
    sales = DraftLine.objects.for_firm(firm_a.firm).get(draft=draft, account__code="200")
    assert not sales.policy_ok
    with pytest.raises(approvals.ApprovalError):
        approvals.draft_submit(
            firm=firm_a.firm, draft=draft, user=firm_a.member(Role.PREPARER).user
        )


def test_a_read_only_policy_allows_no_draft(client, firm_a, scenario):
    BudgetPolicyFactory(organisation=firm_a.organisation, scope="read_only")
    login(client, firm_a)
    response = client.post(_url(firm_a, "scenario_draft_create", scenario.pk), follow=True)
    assert "read-only analysis" in response.content.decode()
    assert not Draft.objects.for_firm(firm_a.firm).exists()


def test_firm_b_cannot_make_a_draft_of_firm_a_scenario(client, firm_a, firm_b, scenario):
    login(client, firm_b)
    response = client.post(_url(firm_b, "scenario_draft_create", scenario.pk))
    assert response.status_code == 404
    assert not Draft.objects.for_firm(firm_a.firm).exists()
    assert Scenario.objects.for_firm(firm_a.firm).get().draft is None


def test_a_tracking_options_change_becomes_its_own_line_of_its_tracking_budget(
    client, firm_a, firm_b
):
    """North's sales up 10%: the draft changes the overall Sales line by North's share, and the
    North line of the North budget by the same, as a forecast draft holds both."""
    data = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    user = firm_a.member(Role.PREPARER).user
    made = services.scenario_create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        name="North grows",
        first_period=NOVEMBER,
        months=3,
        base_budget=data.overall,
        user=user,
    )
    sales = data.accounts["200"]
    services.scenario_adjustments_add(
        firm=firm_a.firm,
        scenario=made,
        adjustments=[
            Adjustment(
                target=Target(account_keys=frozenset({sales.pk}), tracking_option=data.option.pk),
                change=Change.PERCENT,
                value=Decimal("10"),
                first=NOVEMBER,
                last=add_months(NOVEMBER, 2),
            )
        ],
        sentence="",
        user=user,
    )

    draft = services.scenario_draft_create(firm=firm_a.firm, scenario=made, user=user)

    lines = {
        (line.account.code, line.tracking_option_id): line
        for line in DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft)
    }
    assert set(lines) == {("200", None), ("200", data.option.pk)}
    overall, north = lines[("200", None)], lines[("200", data.option.pk)]
    assert (overall.original_budget, north.original_budget) == (data.overall, data.north)
    north_figures = [
        (b.original_amount, b.effective_amount)
        for b in DraftBalance.objects.for_firm(firm_a.firm).filter(line=north).order_by("period")
    ]
    assert north_figures == [(Decimal("15000.00"), Decimal("16500.00"))] * 3
    overall_first = (
        DraftBalance.objects.for_firm(firm_a.firm).filter(line=overall).order_by("period").first()
    )
    assert overall_first.effective_amount - overall_first.original_amount == Decimal("1500.00")
    # Firm B sees neither the scenario nor its draft.
    login(client, firm_b)
    assert client.get(_url(firm_a, "draft_detail", draft.pk)).status_code == 404
