"""Month-end paths on the screens: a form only for whoever can act on it (a viewer or the
draft's preparer sees the state and who it waits for), a rejection that needs a comment and
comes back to the preparer with it, and changes requested that the preparer answers and
resubmits with the same draft."""

import datetime as dt
import re

from django.core import mail
from django.urls import reverse

from budgeting.models import ApprovalDecision, ApprovalRequest, Draft, DraftBalance, DraftLine
from tests.budgeting.approval_data import _submit


def approval_page(client, cast, role) -> str:
    client.force_login(cast.member(role).user)
    args = [cast.firm.slug, cast.organisation.pk, cast.draft.pk]
    return client.get(reverse("draft_approval", args=args)).content.decode()


def decide(client, cast, role, decision, comment=""):
    client.force_login(cast.member(role).user)
    args = [cast.firm.slug, cast.organisation.pk, cast.draft.pk]
    return client.post(
        reverse("draft_approval_decide", args=args),
        {"decision": decision, "comment": comment},
        follow=True,
    )


def test_only_someone_who_can_decide_the_open_step_gets_the_form(client, chain):
    _submit(chain)
    approver = chain.member("approver").user

    pages = {role: approval_page(client, chain, role) for role in ("approver", "owner", "viewer")}

    assert "Your decision on step 1" in pages["approver"]
    assert "You cannot decide this step" not in pages["approver"]
    for role in ("owner", "viewer"):  # the owner prepared it; a viewer cannot approve
        assert "Your decision on step 1" not in pages[role]
        assert 'name="decision"' not in pages[role]
        assert "You cannot decide this step" in pages[role]
        assert f"Waiting for: {approver.display_name}" in pages[role]
    assert "segregation of duties" in pages["owner"]


def test_a_rejection_needs_a_comment_and_comes_back_to_the_preparer_with_it(client, chain, firm_b):
    _submit(chain)

    refused = decide(client, chain, "approver", "reject")
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED
    assert "Say why in a comment" in refused.content.decode()

    decide(client, chain, "approver", "reject", comment="Rent cannot rise before the lease")

    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.REJECTED
    client.force_login(chain.member("owner").user)
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    draft_page = client.get(reverse("draft_detail", args=args)).content.decode()
    queue = client.get(reverse("waiting_queue", args=[chain.firm.slug])).content.decode()
    assert "Rejected</strong> by" in draft_page
    assert "Rent cannot rise before the lease" in draft_page
    assert "make a new forecast draft" in draft_page
    assert "Changes requested on your drafts (1)" in queue and "rejected" in queue
    assert "Rent cannot rise before the lease" in queue
    client.force_login(firm_b.member("owner").user)
    assert client.get(reverse("draft_detail", args=args)).status_code == 404


def test_the_preparer_answers_requested_changes_and_resubmits_the_same_draft(client, chain):
    _submit(chain)
    decide(client, chain, "approver", "request_changes", comment="Rent: use the new lease")
    rent = DraftLine.objects.for_firm(chain.firm).get(draft=chain.draft, account__code="469")
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    client.force_login(chain.member("owner").user)

    draft_page = client.get(reverse("draft_detail", args=args)).content.decode()
    client.post(
        reverse("draft_line_edit", args=[*args, rent.pk]),
        {"period": "2026-11", "amount": "5200", "reason": "New lease from November"},
    )
    resubmitted = client.post(reverse("draft_submit", args=args))

    assert "Changes requested</strong> by" in draft_page and "use the new lease" in draft_page
    assert resubmitted.status_code == 302
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED  # the same draft, not a new one
    rounds = ApprovalRequest.objects.for_firm(chain.firm).filter(draft=chain.draft)
    assert sorted(rounds.values_list("status", flat=True)) == ["changes_requested", "pending"]
    assert rounds.get(status="pending").revision == chain.draft.revision
    balance = DraftBalance.objects.for_firm(chain.firm).get(line=rent, period=dt.date(2026, 11, 1))
    assert str(balance.edited_amount) == "5200.00"
    approver_page = approval_page(client, chain, "approver")
    assert "Your decision on step 1" in approver_page
    # The earlier round and its comment stay on the timeline.
    assert "Rent: use the new lease" in approver_page


def test_the_sign_off_link_shows_each_changed_month_with_reason_narrative_and_policy(
    client, chain, django_capture_on_commit_callbacks
):
    DraftLine.objects.for_firm(chain.firm).filter(draft=chain.draft, account__code="469").update(
        reason="New lease from November", narrative="Rent rose with the new lease in October."
    )
    DraftLine.objects.for_firm(chain.firm).filter(draft=chain.draft, account__code="710").update(
        needs_extra_approval=True, extra_approval_reasons=["Capital expenditure account"]
    )
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    path = re.search(r"https?://[^/\s]+(/approvals/[^/\s]+/)", mail.outbox[0].body)[1]

    page = client.get(path).content.decode()

    changed = page[page.index('id="changed-lines"') : page.index("</section>")]
    assert "2 lines" in changed and "Nov 2026" in changed and "Dec 2026" in changed
    assert "NZ$5,500.00" in changed and "was NZ$5,000.00, +NZ$500.00" in changed
    assert "Reason: New lease from November" in changed
    assert "Rent rose with the new lease in October." in changed
    assert "Within policy" in changed and "Capital expenditure account" in changed
    assert changed.count('<svg class="chart forecast"') == 2
    assert 'name="decision" value="reject"' in page  # the decision is on the same page
    assert not ApprovalDecision.objects.for_firm(chain.firm).exists()  # GET decides nothing
