"""The partner API's approval of a draft: segregation of duties through the API, with the same
rules as the screens (budgeting.approvals.services.approval_decide). Always with two firms."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.approvals import services as approvals
from budgeting.drafts.services import draft_line_edit
from budgeting.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStep,
    Draft,
    DraftLine,
)
from tests.api import assert_error, bearer
from tests.budgeting.approval_data import _draft
from tests.factories import api_key_create

NOV = dt.date(2026, 11, 1)


def _set_up(cast):
    """Prepared by the owner; step 1 the approver role; step 2 the owner role, or the admin or
    the approver by name. Approve keys of the approver and the admin (their own), the owner's
    own approve key, and read and write keys."""
    owner = cast.member("owner")
    admin = cast.member("admin")
    approver = cast.member("approver")
    approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=admin.user,
        steps=[
            {"name": "Manager", "roles": ["approver"]},
            {
                "name": "Partner",
                "roles": ["owner"],
                "member_ids": [admin.user.pk, approver.user.pk],
            },
        ],
    )
    cast.draft = _draft(cast, prepared_by=owner.user)
    cast.keys = {
        "approver": api_key_create(firm=cast.firm, scopes=["read", "approve"], member=approver)[1],
        "admin": api_key_create(firm=cast.firm, scopes=["read", "approve"], member=admin)[1],
        "owner": api_key_create(firm=cast.firm, scopes=["read", "approve"], member=owner)[1],
        "read": api_key_create(firm=cast.firm, scopes=["read"], member=approver)[1],
        "write": api_key_create(firm=cast.firm, scopes=["read", "write"], member=approver)[1],
    }
    cast.url = f"/api/v1/organisations/{cast.organisation.public_id}/drafts/{cast.draft.pk}"
    return cast


def _submit(cast):
    request = approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=cast.draft.created_by)
    cast.steps = list(
        ApprovalStep.objects.for_firm(cast.firm).filter(request=request).order_by("position")
    )
    return request


@pytest.fixture
def chain(firm_a, firm_b, celery_eager):
    """Both firms with a chain and a draft; firm A's draft submitted, firm B's too."""
    a, b = _set_up(firm_a), _set_up(firm_b)
    _submit(a)
    _submit(b)
    a.other = b
    return a


def _post(client, cast, key: str, step, action="approve", **body):
    return client.post(
        f"{cast.url}/approval/steps/{step.pk}/{action}/",
        body,
        headers=bearer(cast.keys.get(key, key)),
        content_type="application/json",
    )


def _untouched(cast):
    """Firm B's round: still pending at step 1, with no decisions."""
    request = ApprovalRequest.objects.for_firm(cast.firm).get(draft=cast.draft)
    assert request.status == "pending"
    assert not ApprovalDecision.objects.for_firm(cast.firm).exists()


def test_an_approver_approves_step_one_through_the_api(client, chain):
    response = client.get(f"{chain.url}/approval/", headers=bearer(chain.keys["read"]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["revision"] == chain.draft.revision
    assert [s["name"] for s in body["steps"]] == ["Manager", "Partner"]
    assert [s["state"] for s in body["steps"]] == ["open", "waiting"]
    assert body["steps"][0]["who_may_approve"] == "Anyone with the Approver role"
    assert chain.member("admin").user.email in body["steps"][1]["who_may_approve"]
    assert body["decisions"] == []

    response = _post(
        client, chain, "approver", chain.steps[0], comment="Fine", revision=body["revision"]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    approver_email = chain.member("approver").user.email.lower()
    assert [s["state"] for s in body["steps"]] == ["approved", "open"]
    assert body["steps"][0]["decided_by"] == approver_email
    assert body["steps"][0]["decided_at"]
    [decision] = body["decisions"]
    assert decision["channel"] == "api"
    assert decision["decision"] == "approve"
    assert decision["by"] == approver_email
    assert decision["comment"] == "Fine"
    record = ApprovalDecision.objects.for_firm(chain.firm).get()
    assert (record.channel, record.user) == ("api", chain.member("approver").user)

    # The admin approves step 2: the draft is approved.
    response = _post(client, chain, "admin", chain.steps[1])
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "approved"
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED
    _untouched(chain.other)


def test_the_preparers_own_approve_key_cannot_approve(client, chain):
    error = assert_error(_post(client, chain, "owner", chain.steps[0]), 409, "decision_refused")
    assert "prepared or edited" in error["message"]
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()
    _untouched(chain.other)


def test_someone_who_edited_a_line_cannot_approve(client, firm_a, firm_b):
    cast, other = _set_up(firm_a), _set_up(firm_b)
    line = DraftLine.objects.for_firm(cast.firm).filter(draft=cast.draft).first()
    draft_line_edit(
        firm=cast.firm,
        draft=cast.draft,
        line=line,
        period=NOV,
        amount=Decimal("5600.00"),
        reason="Rent review",
        user=cast.member("admin").user,
    )
    cast.draft.refresh_from_db()
    _submit(cast)
    _submit(other)
    assert _post(client, cast, "approver", cast.steps[0]).status_code == 200
    error = assert_error(_post(client, cast, "admin", cast.steps[1]), 409, "decision_refused")
    assert "edited" in error["message"]
    assert ApprovalDecision.objects.for_firm(cast.firm).count() == 1
    _untouched(other)


def test_one_person_cannot_approve_two_steps(client, chain):
    assert _post(client, chain, "approver", chain.steps[0]).status_code == 200
    error = assert_error(_post(client, chain, "approver", chain.steps[1]), 409, "decision_refused")
    assert "one person approves at most one step" in error["message"]
    assert ApprovalDecision.objects.for_firm(chain.firm).count() == 1
    _untouched(chain.other)


def test_steps_are_decided_in_order(client, chain):
    error = assert_error(_post(client, chain, "admin", chain.steps[1]), 409, "decision_refused")
    assert "in order" in error["message"]
    # A decided step cannot be decided again either.
    assert _post(client, chain, "approver", chain.steps[0]).status_code == 200
    error = assert_error(
        _post(client, chain, "approver", chain.steps[0], action="reject", comment="No"),
        409,
        "decision_refused",
    )
    assert "already been decided" in error["message"]
    _untouched(chain.other)


def test_a_stale_revision_is_refused(client, chain):
    stale = chain.draft.revision + 1
    response = _post(client, chain, "approver", chain.steps[0], revision=stale)
    error = assert_error(response, 409, "decision_refused")
    assert "changed" in error["message"]
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()
    _untouched(chain.other)


def test_reject_sends_the_draft_back(client, chain):
    response = _post(
        client, chain, "approver", chain.steps[0], action="reject", comment="Rent is too high"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "rejected"
    assert body["closed_at"]
    assert [s["state"] for s in body["steps"]] == ["rejected", "waiting"]
    assert body["decisions"][0]["decision"] == "reject"
    assert body["decisions"][0]["comment"] == "Rent is too high"
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.REJECTED
    # The latest round is what the approval shows once none is pending.
    response = client.get(f"{chain.url}/approval/", headers=bearer(chain.keys["read"]))
    assert response.json()["status"] == "rejected"
    # Nothing is pending now: no more decisions.
    error = assert_error(_post(client, chain, "admin", chain.steps[1]), 409, "decision_refused")
    assert "not waiting for approval" in error["message"]
    _untouched(chain.other)


@pytest.mark.parametrize("key", ["read", "write"])
def test_a_read_or_write_key_cannot_decide(client, chain, key):
    for action in ("approve", "reject"):
        response = _post(client, chain, key, chain.steps[0], action=action, comment="x")
        assert_error(response, 403, "missing_scope")
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()
    _untouched(chain.other)


def test_another_firms_ids_are_not_found(client, chain):
    other = chain.other
    step_b = other.steps[0]
    # Firm B's organisation, draft and step with firm A's approver key.
    response = _post(client, other, chain.keys["approver"], step_b)
    assert_error(response, 404, "not_found")
    response = client.get(f"{other.url}/approval/", headers=bearer(chain.keys["read"]))
    assert_error(response, 404, "not_found")
    # Firm A's own organisation and draft with firm B's step.
    response = client.post(
        f"{chain.url}/approval/steps/{step_b.pk}/approve/",
        {},
        headers=bearer(chain.keys["approver"]),
        content_type="application/json",
    )
    assert_error(response, 404, "not_found")
    assert firm_name_absent(response, other)
    _untouched(other)
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()


def firm_name_absent(response, cast) -> bool:
    return cast.firm.name not in response.content.decode()


def test_bad_input_is_a_400(client, chain):
    error = assert_error(
        _post(client, chain, "approver", chain.steps[0], revision="latest"), 400, "invalid"
    )
    assert "revision" in error["fields"]
    error = assert_error(
        _post(client, chain, "approver", chain.steps[0], revision=0), 400, "invalid"
    )
    assert "revision" in error["fields"]
    # Rejecting needs a reason.
    error = assert_error(
        _post(client, chain, "approver", chain.steps[0], action="reject", comment="  "),
        400,
        "invalid",
    )
    assert "comment" in error["fields"]
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()
    _untouched(chain.other)


def test_a_draft_never_submitted_has_no_approval(client, firm_a, firm_b):
    cast, other = _set_up(firm_a), _set_up(firm_b)
    _submit(other)
    response = client.get(f"{cast.url}/approval/", headers=bearer(cast.keys["read"]))
    assert_error(response, 404, "not_submitted")
    _untouched(other)


def test_an_approve_key_can_read_the_approval_it_decides(client, chain):
    # Approve implies read (tenants/api_keys.py); a key made with approve alone reads too.
    approve_only = api_key_create(
        firm=chain.firm, scopes=["approve"], member=chain.member("approver")
    )[1]
    response = client.get(f"{chain.url}/approval/", headers=bearer(approve_only))
    assert response.status_code == 200, response.content
    _untouched(chain.other)


def test_a_signed_in_approver_decides_through_the_session_mount(client, chain):
    client.force_login(chain.member("approver").user)
    base = f"/f/{chain.firm.slug}{chain.url}"
    response = client.post(
        f"{base}/approval/steps/{chain.steps[0].pk}/approve/", {}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["decisions"][0]["channel"] == "api"
    # A viewer's role cannot approve.
    client.force_login(chain.member("viewer").user)
    response = client.post(
        f"{base}/approval/steps/{chain.steps[1].pk}/approve/", {}, content_type="application/json"
    )
    assert_error(response, 403, "role_not_allowed")
    # Firm B's slug is not the approver's firm.
    client.force_login(chain.member("approver").user)
    response = client.get(f"/f/{chain.other.firm.slug}{chain.other.url}/approval/")
    assert_error(response, 404, "not_found")
    _untouched(chain.other)


def test_changes_are_requested_on_lines_through_the_api(client, chain):
    rent = DraftLine.objects.for_firm(chain.firm).filter(draft=chain.draft).first()
    other = DraftLine.objects.for_firm(chain.other.firm).filter(draft=chain.other.draft)
    step = chain.steps[0]
    # Lines of another firm's draft are refused, and nothing is decided.
    response = _post(
        client,
        chain,
        "approver",
        step,
        "request-changes",
        comment="x",
        line_ids=[other.first().pk],
    )
    assert response.status_code == 400, response.content
    assert "line_ids" in response.content.decode()
    response = _post(client, chain, "approver", step, "request-changes", line_ids=[rent.pk])
    assert response.status_code == 400  # a comment is required
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()

    response = _post(
        client, chain, "approver", step, "request-changes", comment="Rent?", line_ids=[rent.pk]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "changes_requested"
    assert body["decisions"][0]["line_ids"] == [rent.pk]
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.DRAFT
    _untouched(chain.other)
