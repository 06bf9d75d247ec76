""" "Waiting for you": each signed-in member sees what they can act on across every client
organisation (steps to decide, drafts back with changes requested, drafts to prepare), with its
count in the navigation; nothing of another firm's, and a count that costs the same for one
client or many."""

from types import SimpleNamespace

import pytest
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.approvals.selectors import draft_editors
from budgeting.drafts.services import draft_line_edit
from budgeting.models import DraftLine
from tests.budgeting.approval_data import NOV, _decide, _draft, _member, _submit
from tests.factories import client_organisation_create


def queue(client, cast, role) -> str:
    client.force_login(cast.member(role).user)
    response = client.get(reverse("waiting_queue", args=[cast.firm.slug]))
    assert response.status_code == 200
    return response.content.decode()


def count(client, cast, role) -> str:
    client.force_login(cast.member(role).user)
    response = client.get(reverse("waiting_count", args=[cast.firm.slug]))
    assert response.status_code == 200
    return response.content.decode()


def test_an_open_step_waits_for_those_it_names_and_not_for_the_preparer(client, chain):
    _submit(chain)

    approver = queue(client, chain, "approver")

    assert "Approval steps to decide (1)" in approver and "1. Manager" in approver
    assert "Harbour Lane Café" in approver
    assert ">1<" in count(client, chain, "approver")
    # The owner prepared it (segregation of duties); a viewer and a preparer cannot decide.
    for role in ("owner", "viewer", "preparer"):
        assert "Approval steps to decide (0)" in queue(client, chain, role)
    assert ">0<" in count(client, chain, "viewer")

    _decide(chain, _member(chain, "approver"))

    admin = queue(client, chain, "admin")
    assert "Approval steps to decide (1)" in admin and "2. Partner" in admin
    # The approver decided step 1 and one person approves at most one step.
    assert "Approval steps to decide (0)" in queue(client, chain, "approver")
    assert "Approval steps to decide (0)" in queue(client, chain, "owner")  # still its preparer


def test_changes_requested_come_back_to_the_preparer_with_the_comment(client, chain):
    _submit(chain)
    _decide(chain, _member(chain, "approver"), "request_changes", comment="Rent looks high")

    owner = queue(client, chain, "owner")
    preparer = queue(client, chain, "preparer")
    approver = queue(client, chain, "approver")

    assert "Changes requested on your drafts (1)" in owner and "Rent looks high" in owner
    assert "Drafts to prepare (0)" in owner
    # Another preparer sees it as a draft to prepare, marked; an approver prepares nothing.
    assert "Changes requested on your drafts (0)" in preparer
    assert "Drafts to prepare (1)" in preparer and "changes requested" in preparer
    assert "Drafts to prepare (0)" in approver and "Approval steps to decide (0)" in approver

    _submit(chain)  # resubmitted: it waits for the approver again, not the preparer

    assert "Changes requested on your drafts (0)" in queue(client, chain, "owner")
    assert "Approval steps to decide (1)" in queue(client, chain, "approver")


def test_only_the_newest_open_draft_of_a_client_is_to_prepare(client, chain):
    newer = _draft(chain, prepared_by=chain.member("preparer").user)

    page = queue(client, chain, "preparer")

    assert "Drafts to prepare (1)" in page
    assert f"/drafts/{newer.pk}/" in page and f"/drafts/{chain.draft.pk}/" not in page


def test_another_firms_work_never_shows_and_its_queue_is_not_found(client, chain, firm_b):
    theirs = SimpleNamespace(firm=firm_b.firm, organisation=firm_b.organisation)
    _draft(theirs, prepared_by=firm_b.member("owner").user)
    _submit(chain)

    mine = queue(client, chain, "owner") + queue(client, chain, "approver")
    birch = queue(client, firm_b, "preparer")

    assert "Kestrel" not in mine
    assert "Harbour Lane" not in birch and "Drafts to prepare (1)" in birch
    client.force_login(firm_b.member("owner").user)
    assert client.get(reverse("waiting_queue", args=[chain.firm.slug])).status_code == 404
    assert client.get(reverse("waiting_count", args=[chain.firm.slug])).status_code == 404


def test_the_navigation_loads_the_count_after_the_page(client, chain):
    client.force_login(chain.member("approver").user)

    page = client.get(reverse("firm_dashboard", args=[chain.firm.slug])).content.decode()

    assert "Waiting for you" in page
    assert f'hx-get="{reverse("waiting_count", args=[chain.firm.slug])}"' in page


def test_the_count_costs_the_same_for_one_client_or_many(
    client, chain, django_assert_num_queries, django_assert_max_num_queries
):
    _submit(chain)
    admin = chain.member("admin").user
    url = reverse("waiting_count", args=[chain.firm.slug])
    before = {}
    for role in ("approver", "admin"):  # the admin also prepares: open drafts are read too
        client.force_login(chain.member(role).user)
        # Session, user and membership, then one query for the steps, one for the drafts.
        with django_assert_max_num_queries(5) as counted:
            client.get(url)
        before[role] = len(counted.captured_queries)

    for name in ("Quay Street Bakery", "Tarn Motors", "Wren Studio"):
        organisation = client_organisation_create(firm=chain.firm, name=name)
        approvals.approval_chain_update(
            firm=chain.firm,
            organisation=organisation,
            user=admin,
            steps=[{"name": "Manager", "roles": ["approver"]}],
        )
        other = SimpleNamespace(firm=chain.firm, organisation=organisation)
        other.draft = _draft(other, prepared_by=chain.member("owner").user)
        _submit(other)

    client.force_login(chain.member("admin").user)
    with django_assert_num_queries(before["admin"]):
        client.get(url)
    client.force_login(chain.member("approver").user)
    with django_assert_num_queries(before["approver"]):
        response = client.get(url)
    assert ">4<" in response.content.decode()


def test_a_member_who_changed_a_figure_is_not_asked_to_approve_it_in_the_queue_or_by_the_rule(
    client, chain
):
    # The admin, named on step 2, changes one month of the owner's draft before it is sent.
    line = DraftLine.objects.for_firm(chain.firm).filter(draft=chain.draft).first()
    draft_line_edit(
        firm=chain.firm,
        draft=chain.draft,
        line=line,
        period=NOV,
        amount="5100.00",
        reason="Rent review",
        user=chain.member("admin").user,
    )
    _submit(chain)
    _decide(chain, _member(chain, "approver"))

    # The queue and the decision read the same rule: the admin neither sees step 2 nor may
    # decide it, and the rule names both the preparer and the editor.
    assert "Approval steps to decide (0)" in queue(client, chain, "admin")
    assert draft_editors(firm=chain.firm, draft=chain.draft) == {
        chain.member("owner").user.email.lower(),
        chain.member("admin").user.email.lower(),
    }
    with pytest.raises(approvals.ApprovalError):
        _decide(chain, _member(chain, "admin"))
