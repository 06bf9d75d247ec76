"""The budget policy's extra approval step really happens: a draft with a capital-expenditure
line, a large change, or both gets one extra step before it can be published, decided by whoever
the firm chose on the approval chain screen (a role, or a named external approver; the firm's
owners until it chooses), on the screen, through the email link and the API, with segregation of
duties like any step. Always with two firms.

The draft (tests/budgeting/approval_data.py): two lines, Rent (469) and Plant (710), each 500
above the original budget in each of its two months, so 1,000 over the draft.
"""

import secrets
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.drafts.services import budget_policy_update, draft_line_edit, draft_policy_recheck
from budgeting.models import Account, ApprovalDecision, ApprovalStep, Draft, DraftLine
from tests.api import assert_error, bearer
from tests.budgeting.approval_data import NOV, _decide, _draft, _link_token, _member, _submit
from tests.factories import api_key_create, membership_create

CAPEX = "Plant (710): Capital expenditure account"
PLANT_LARGE = "Plant (710): Change of 1,000.00 over the draft is above 800.00"
RENT_LARGE = "Rent (469): Change of 1,000.00 over the draft is above 800.00"


@pytest.fixture
def client(client):
    # Sign-off links are rate limited per client address: an address of its own per test.
    client.defaults["REMOTE_ADDR"] = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9"
    return client


def _policy(cast, *, capex=False, above=None):
    """The budget policy marks Plant as capital expenditure and/or changes above `above`; the
    draft's lines are checked against it, as saving the policy on its screen does."""
    plant = Account.objects.for_firm(cast.firm).get(
        organisation=cast.organisation, code="710", account_id__endswith=f"-{cast.draft.pk}"
    )
    budget_policy_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=cast.member("admin").user,
        scope="all",
        account_ids=[],
        tracking_option_ids=[],
        account_caps={},
        class_caps={},
        max_change_percent=None,
        max_change_amount=None,
        capex_account_ids=[plant.pk] if capex else [],
        extra_approval_above=None if above is None else Decimal(above),
        horizon=6,
    )
    draft_policy_recheck(firm=cast.firm, draft=cast.draft)
    cast.draft.refresh_from_db()


def _chain_with_extra_step(cast, **who):
    """The chain fixture's three steps, and the extra approval step naming `who`."""
    approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=cast.member("admin").user,
        steps=[
            *cast.policy.steps,
            {"name": "Capex and large changes", "condition": "extra_approval", **who},
        ],
    )


def _round(cast):
    request = approvals.ApprovalRequest.objects.for_firm(cast.firm).get(
        draft=cast.draft, status="pending"
    )
    return list(ApprovalStep.objects.for_firm(cast.firm).filter(request=request).order_by("pk"))


def _extra_steps(steps):
    return [s for s in steps if s.condition == "extra_approval"]


def test_a_capex_line_gets_the_extra_step_and_the_external_approver_signs_it_off_by_link(
    client, chain, firm_b, django_capture_on_commit_callbacks
):
    _chain_with_extra_step(chain, external_approver_ids=[chain.client_owner.pk])
    _policy(chain, capex=True)
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    steps = _round(chain)
    assert [(s.name, s.status) for s in steps] == [
        ("Manager", "open"),
        ("Partner", "waiting"),
        ("Client", "skipped"),  # the chain's own change_above step: 1,000 is under 5,000
        ("Capex and large changes", "waiting"),
    ]
    assert steps[3].reasons == [CAPEX]

    with django_capture_on_commit_callbacks(execute=True):
        _decide(chain, _member(chain, "approver"))
        _decide(chain, _member(chain, "admin"))
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED  # not publishable without the extra step

    client.force_login(firm_b.member("owner").user)
    page = reverse("draft_approval", args=[chain.firm.slug, chain.organisation.pk, chain.draft.pk])
    assert client.get(page).status_code == 404
    client.force_login(chain.member("viewer").user)
    timeline = client.get(page).content.decode()
    assert "Capex and large changes" in timeline and CAPEX in timeline
    client.logout()

    (email,) = [m for m in mail.outbox if m.to == ["budget.owner@client.example"]]
    assert "step 4: Capex and large changes" in email.body
    assert f"This step is needed because:\n- {CAPEX}" in email.body
    link = reverse("approval_link", args=[_link_token(email)])
    shown = client.get(link)
    assert shown.status_code == 200 and CAPEX in shown.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(link, {"decision": "approve"}).status_code == 200
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED
    decision = ApprovalDecision.objects.for_firm(chain.firm).get(step=steps[3])
    assert (decision.external_approver, decision.channel) == (chain.client_owner, "email")


def test_a_large_change_gets_the_extra_step_decided_through_the_api_with_segregation_of_duties(
    client, chain, firm_b
):
    # The firm chooses a role for the extra step: approvers (one of them decides step 1).
    _chain_with_extra_step(chain, roles=["approver"])
    _policy(chain, above="800")
    _submit(chain)
    manager, partner, client_step, extra = _round(chain)
    assert (client_step.status, extra.status) == ("skipped", "waiting")
    assert extra.reasons == [RENT_LARGE, PLANT_LARGE]

    approver = chain.member("approver")
    second = membership_create(firm=chain.firm, role="approver")
    keys = {
        "approver": api_key_create(firm=chain.firm, scopes=["read", "approve"], member=approver),
        "admin": api_key_create(
            firm=chain.firm, scopes=["read", "approve"], member=chain.member("admin")
        ),
        "second": api_key_create(firm=chain.firm, scopes=["read", "approve"], member=second),
    }
    keys = {name: key for name, (_record, key) in keys.items()}
    _api_key, key_b = api_key_create(
        firm=firm_b.firm, scopes=["read", "approve"], member=firm_b.member("approver")
    )
    url = f"/api/v1/organisations/{chain.organisation.public_id}/drafts/{chain.draft.pk}/approval"

    def approve(key, step):
        return client.post(
            f"{url}/steps/{step.pk}/approve/",
            {},
            headers=bearer(key),
            content_type="application/json",
        )

    body = client.get(f"{url}/", headers=bearer(keys["approver"])).json()
    assert [(s["condition"], s["state"]) for s in body["steps"]] == [
        ("always", "open"),
        ("always", "waiting"),
        ("change_above", "skipped"),
        ("extra_approval", "waiting"),
    ]
    assert body["steps"][3]["reasons"] == [RENT_LARGE, PLANT_LARGE]
    assert body["steps"][3]["who_may_approve"] == "Anyone with the Approver role"
    assert_error(client.get(f"{url}/", headers=bearer(key_b)), 404, "not_found")

    assert approve(keys["approver"], manager).status_code == 200
    assert approve(keys["admin"], partner).status_code == 200
    assert_error(approve(key_b, extra), 404, "not_found")
    # The approver decided step 1: one person approves at most one step, the extra one too.
    error = assert_error(approve(keys["approver"], extra), 409, "decision_refused")
    assert "one person approves at most one step" in error["message"]
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED

    response = approve(keys["second"], extra)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED
    decision = ApprovalDecision.objects.for_firm(chain.firm).get(step=extra)
    assert (decision.user, decision.channel) == (second.user, "api")


def test_a_capex_line_with_a_large_change_gets_one_extra_step_naming_both_reasons(chain):
    _chain_with_extra_step(chain, external_approver_ids=[chain.client_owner.pk])
    _policy(chain, capex=True, above="800")
    plant = DraftLine.objects.for_firm(chain.firm).get(draft=chain.draft, account__code="710")
    assert plant.extra_approval_reasons == [
        "Capital expenditure account",
        "Change of 1,000.00 over the draft is above 800.00",
    ]
    _submit(chain)
    steps = _round(chain)
    (extra,) = _extra_steps(steps)
    assert extra.reasons == [RENT_LARGE, CAPEX, PLANT_LARGE]
    assert len(steps) == 4


def test_with_no_extra_step_in_the_chain_the_firms_owners_decide_it_last(client, chain, firm_b):
    chain.draft = _draft(chain, prepared_by=chain.member("preparer").user)
    _policy(chain, capex=True)
    page = reverse("draft_approval", args=[chain.firm.slug, chain.organisation.pk, chain.draft.pk])
    client.force_login(firm_b.member("owner").user)
    assert client.get(page).status_code == 404
    client.force_login(chain.member("preparer").user)
    before = client.get(page).content.decode()
    assert "1 line needs the budget policy&rsquo;s extra approval step" in before
    assert "the firm&rsquo;s owners (an admin can choose someone else" in before
    _submit(chain)
    steps = _round(chain)
    assert [(s.name, s.status) for s in steps] == [
        ("Manager", "open"),
        ("Partner", "waiting"),
        ("Client", "skipped"),
        ("Extra approval", "waiting"),
    ]
    assert (steps[3].roles, steps[3].reasons) == (["owner"], [CAPEX])
    _decide(chain, _member(chain, "approver"))
    _decide(chain, _member(chain, "admin"))
    with pytest.raises(approvals.ApprovalError, match="not an approver of step 4"):
        _decide(chain, _member(chain, "approver"))
    _decide(chain, _member(chain, "owner"))
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED


def test_a_draft_with_no_marked_line_has_no_extra_step(chain):
    _chain_with_extra_step(chain, roles=["approver"])
    _policy(chain, capex=False, above="5000")
    _submit(chain)
    steps = _round(chain)
    assert [s.status for s in steps] == ["open", "waiting", "skipped", "skipped"]
    assert [s.reasons for s in steps] == [[], [], [], []]


def test_an_edit_after_submission_that_makes_a_change_large_adds_the_extra_step(chain):
    chain.draft = _draft(chain, prepared_by=chain.member("preparer").user)
    _policy(chain, above="4000")
    _submit(chain)
    assert [s.name for s in _round(chain)] == ["Manager", "Partner", "Client"]
    _decide(chain, _member(chain, "approver"))

    rent = DraftLine.objects.for_firm(chain.firm).get(draft=chain.draft, account__code="469")
    draft_line_edit(
        firm=chain.firm,
        draft=chain.draft,
        line=rent,
        period=NOV,
        amount="9000",
        reason="The new lease",
        user=chain.member("preparer").user,
    )
    steps = _round(chain)
    assert [(s.name, s.status) for s in steps] == [
        ("Manager", "open"),  # approval started again
        ("Partner", "waiting"),
        ("Client", "skipped"),
        ("Extra approval", "waiting"),
    ]
    assert steps[3].reasons == ["Rent (469): Change of 4,500.00 over the draft is above 4,000.00"]


def test_the_chain_screen_lets_the_firm_choose_who_decides_the_extra_step(client, chain, firm_b):
    url = reverse("approval_chain_edit", args=[chain.firm.slug, chain.organisation.pk])
    client.force_login(firm_b.member("owner").user)
    assert client.get(url).status_code == 404

    client.force_login(chain.member("admin").user)
    page = client.get(url).content.decode()
    assert "The extra approval step" in page
    assert "the firm&rsquo;s owners decide it" in page
    assert "When the budget policy asks for extra approval" in page  # a choice of "When"
    form = {
        "form-TOTAL_FORMS": "2",
        "form-INITIAL_FORMS": "0",
        "form-0-name": "Manager",
        "form-0-roles": ["approver"],
        "form-0-condition": "always",
        "form-1-name": "Client signs capex",
        "form-1-external_approver_ids": [str(chain.client_owner.pk)],
        "form-1-condition": "extra_approval",
    }
    assert client.post(url, form).status_code == 302
    saved = approvals.ApprovalChain.objects.for_firm(chain.firm).get()
    assert saved.steps[1]["condition"] == "extra_approval"
    assert saved.steps[1]["external_approver_ids"] == [chain.client_owner.pk]
    assert (
        "Here it is the step &ldquo;Client signs capex&rdquo;." in client.get(url).content.decode()
    )


def _chain(cast, *extra_steps):
    approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=cast.member("admin").user,
        steps=[{"name": "Manager", "roles": ["approver"]}, *extra_steps],
    )


OWNERS = "the firm&rsquo;s owners (an admin can choose someone else"
CAPEX_STEP = {"name": "Capex sign-off", "roles": ["owner"], "condition": "capex"}


def _change_step(above):
    return {
        "name": "Large change",
        "roles": ["owner"],
        "condition": "change_above",
        "change_above": above,
    }


@pytest.mark.parametrize(
    ("steps", "policy", "expected", "says"),
    [
        # The chain's own capex step covers a capex line: no second step for the owners.
        (
            [CAPEX_STEP],
            {"capex": True},
            [("Manager", "open"), ("Capex sign-off", "waiting")],
            "the step &ldquo;Capex sign-off&rdquo; of the approval chain",
        ),
        # A change-above step at or below the policy's amount covers a large change.
        (
            [_change_step("500")],
            {"above": "800"},
            [("Manager", "open"), ("Large change", "waiting")],
            "the step &ldquo;Large change&rdquo; of the approval chain",
        ),
        # Above the policy's amount it does not: a change of 1,000 is over 800, not over 5,000.
        (
            [_change_step("5000")],
            {"above": "800"},
            [("Manager", "open"), ("Large change", "skipped"), ("Extra approval", "waiting")],
            OWNERS,
        ),
        # A capex step covers capex, not a large change: the owners still decide that.
        (
            [CAPEX_STEP],
            {"capex": True, "above": "800"},
            [("Manager", "open"), ("Capex sign-off", "waiting"), ("Extra approval", "waiting")],
            OWNERS,
        ),
    ],
)
def test_a_chain_step_that_covers_the_policys_reason_is_not_doubled_by_the_owners_step(
    client, chain, firm_b, steps, policy, expected, says
):
    _chain(chain, *steps)
    chain.draft = _draft(chain, prepared_by=chain.member("preparer").user)
    _policy(chain, **policy)
    page = reverse("draft_approval", args=[chain.firm.slug, chain.organisation.pk, chain.draft.pk])
    client.force_login(chain.member("preparer").user)
    assert says in client.get(page).content.decode()
    client.force_login(firm_b.member("preparer").user)
    assert client.get(page).status_code == 404

    _submit(chain)

    assert [(s.name, s.status) for s in _round(chain)] == expected
