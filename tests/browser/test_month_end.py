"""Month-end in a real browser, at a laptop's and a desktop's size: the preparer finds the draft
in "Waiting for you", decides its lines in bulk after a summary, and submits; the approver
rejects only with a comment, requests changes, and the preparer answers and resubmits the same
draft; a viewer sees the state and who it waits for, never a form."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import Draft, DraftBalance, DraftLine
from tests.browser.helpers import NOV, approval_chain, publishable_draft

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1024, "height": 768}
DESKTOP = {"width": 1440, "height": 900}


def _open(page_for, user, size=LAPTOP):
    page = page_for(user)
    page.set_viewport_size(size)
    return page


def _flash(page):
    return page.locator("main ul.messages")


def _badge(page):
    return page.locator("header #waiting-count")


@pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1024x768", "1440x900"])
def test_the_preparer_finds_the_draft_waiting_and_decides_its_lines_in_bulk(
    firm_a, page_for, celery_worker_thread, size
):
    cast = firm_a
    preparer = cast.member("preparer").user
    approval_chain(cast, [{"name": "Manager", "roles": ["approver"]}])
    draft = publishable_draft(cast, prepared_by=preparer)
    rent = DraftLine.objects.for_firm(cast.firm).get(draft=draft, account__code="469")

    page = _open(page_for, preparer, size)
    page.goto(reverse("firm_dashboard", args=[cast.firm.slug]))
    expect(_badge(page)).to_contain_text("1")
    page.locator("header").get_by_role("link", name=re.compile("Waiting for you")).click()
    expect(page.locator("#waiting-drafts")).to_contain_text("Drafts to prepare (1)")
    page.locator("#waiting-drafts").get_by_role("link", name=re.compile("Harbour Lane")).click()

    # Rent keeps its original budget: ticked, decided, a summary, a reason, applied.
    page.get_by_role("checkbox", name=re.compile("Choose Rent")).check()
    page.get_by_label("Decide many lines").select_option("ticked")
    page.get_by_label("Decision").select_option("original")
    page.get_by_role("button", name="Review the change…").click()
    summary = page.locator("#decide-summary")
    expect(summary).to_contain_text("1 of 1 line changes")
    expect(summary).to_contain_text("NZ$12,000.00 to NZ$10,000.00")
    assert not DraftBalance.objects.for_firm(cast.firm).filter(edited_amount__isnull=False)
    page.get_by_role("button", name="Apply to 1 line").click()
    # The reason is required: the browser keeps the form until it is given.
    expect(page.get_by_label(re.compile("Why the original budget stays"))).to_be_visible()
    page.get_by_label(re.compile("Why the original budget stays")).fill("Lease unchanged")
    page.get_by_role("button", name="Apply to 1 line").click()
    expect(_flash(page)).to_contain_text("1 line changed: keep the original budget and accept.")

    # Every line shown is accepted at once: the other one changes, Rent stays as kept.
    page.get_by_label("Decide many lines").select_option("shown")
    page.get_by_label("Decision").select_option("accept")
    page.get_by_role("button", name="Review the change…").click()
    expect(page.locator("#decide-summary")).to_contain_text("1 of 2 lines change")
    page.get_by_role("button", name="Apply to 2 lines").click()
    expect(_flash(page)).to_contain_text("1 line changed: accept the figures shown.")
    expect(page.locator("#draft-body")).to_contain_text("the draft is ready to submit")
    rent.refresh_from_db()
    assert rent.accepted and rent.reason == "Lease unchanged"
    november = DraftBalance.objects.for_firm(cast.firm).get(line=rent, period=NOV)
    assert november.edited_amount == Decimal("5000.00")

    page.locator(".page-head").get_by_role("link", name=re.compile("approval", re.I)).click()
    page.get_by_role("button", name="Submit for approval").click()
    expect(_flash(page)).to_contain_text("Submitted for approval")
    # Nothing waits for the preparer now; no decision form for them.
    expect(_badge(page)).to_contain_text("0")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)


def test_reject_needs_a_comment_changes_are_answered_and_the_same_draft_resubmitted(
    firm_a, page_for, celery_worker_thread
):
    cast = firm_a
    preparer = cast.member("preparer").user
    approver = cast.member("approver").user
    viewer = cast.member("viewer").user
    approval_chain(cast, [{"name": "Manager", "roles": ["approver"]}])
    draft = publishable_draft(cast, prepared_by=preparer)
    DraftLine.objects.for_firm(cast.firm).filter(draft=draft).update(accepted=True)
    from budgeting.approvals import services as approvals

    approvals.draft_submit(firm=cast.firm, draft=draft, user=preparer)
    args = [cast.firm.slug, cast.organisation.pk, draft.pk]

    # A viewer sees the state and who the step waits for, not a form.
    watcher = _open(page_for, viewer)
    watcher.goto(reverse("draft_approval", args=args))
    expect(watcher.locator("#not-yours")).to_contain_text("You cannot decide this step")
    expect(watcher.locator("main")).to_contain_text(f"Waiting for: {approver.display_name}")
    expect(watcher.locator("form.decision")).to_have_count(0)

    # The approver finds the step in the queue; a rejection without a comment is refused.
    decide = _open(page_for, approver)
    decide.goto(reverse("waiting_queue", args=[cast.firm.slug]))
    expect(_badge(decide)).to_contain_text("1")
    expect(decide.locator("#waiting-steps")).to_contain_text("1. Manager")
    decide.locator("#waiting-steps").get_by_role(
        "link", name=re.compile("Review and decide")
    ).click()
    decide.locator("form.decision").get_by_role("button", name="Reject").click()
    expect(_flash(decide)).to_contain_text("Say why in a comment")
    draft.refresh_from_db()
    assert draft.status == Draft.Status.SUBMITTED
    decide.get_by_label(re.compile("Comment")).fill("Rent: keep the lease figure")
    decide.locator("form.decision").get_by_role("button", name="Request changes").click()
    expect(_flash(decide)).to_contain_text("Decision recorded.")

    # The preparer: it is back, with the comment; answered in bulk and submitted again.
    page = _open(page_for, preparer)
    page.goto(reverse("waiting_queue", args=[cast.firm.slug]))
    changes = page.locator("#waiting-changes")
    expect(changes).to_contain_text("Rent: keep the lease figure")
    changes.get_by_role("link", name=re.compile("Harbour Lane")).click()
    expect(page.locator("#draft-body")).to_contain_text("Changes requested")
    page.get_by_role("checkbox", name=re.compile("Choose Rent")).check()
    page.get_by_label("Decision").select_option("original")
    page.get_by_role("button", name="Review the change…").click()
    page.get_by_label(re.compile("Why the original budget stays")).fill("As the approver asked")
    page.get_by_role("button", name="Apply to 1 line").click()
    expect(_flash(page)).to_contain_text("1 line changed")
    page.locator(".page-head").get_by_role("link", name=re.compile("approval", re.I)).click()
    page.get_by_role("button", name="Submit for approval").click()
    expect(_flash(page)).to_contain_text("Submitted for approval")
    draft.refresh_from_db()
    assert draft.status == Draft.Status.SUBMITTED

    # The approver rejects the new round, with a comment; the preparer sees who and why.
    decide.goto(reverse("draft_approval", args=args))
    decide.get_by_label(re.compile("Comment")).fill("The client cancelled the forecast")
    decide.locator("form.decision").get_by_role("button", name="Reject").click()
    expect(_flash(decide)).to_contain_text("Decision recorded.")
    page.goto(reverse("draft_detail", args=args))
    expect(page.locator("#rejection")).to_contain_text("The client cancelled the forecast")
    expect(page.locator("#rejection")).to_contain_text(approver.display_name)
    page.goto(reverse("waiting_queue", args=[cast.firm.slug]))
    expect(page.locator("#waiting-changes")).to_contain_text("rejected")
    draft.refresh_from_db()
    assert draft.status == Draft.Status.REJECTED


def test_lines_are_reviewed_from_the_keyboard(firm_a, page_for, celery_worker_thread):
    cast = firm_a
    preparer = cast.member("preparer").user
    draft = publishable_draft(cast, prepared_by=preparer)
    args = [cast.firm.slug, cast.organisation.pk, draft.pk]
    page = _open(page_for, preparer)
    page.goto(reverse("draft_detail", args=args))
    expect(page.locator("#review-keys")).to_be_visible()
    rows = page.locator("#draft-table tbody tr")

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("reviewing"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("reviewing"))
    page.keyboard.press("a")  # accepts Rent; the body is swapped and the review stays on it
    expect(rows.nth(1)).to_contain_text("Accepted")
    expect(rows.nth(1)).to_have_class(re.compile("reviewing"))
    page.keyboard.press("k")
    page.keyboard.press("x")
    expect(rows.nth(0).get_by_role("checkbox")).to_be_checked()
    page.get_by_role("button", name="Review the change…").click()
    expect(page.locator("#decide-table")).to_contain_text("Advertising")
    expect(page.locator("#decide-table")).not_to_contain_text("Rent")
    accepted = dict(
        DraftLine.objects.for_firm(cast.firm)
        .filter(draft=draft)
        .values_list("account__code", "accepted")
    )
    assert accepted == {"400": False, "469": True}


@pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1024x768", "1440x900"])
def test_the_approver_signs_off_from_the_email_link_and_the_owner_from_the_queue(
    firm_a, page_for, celery_worker_thread, size
):
    from budgeting.approvals import services as approvals
    from tests.browser.helpers import link_path, wait_for_mail

    cast = firm_a
    preparer = cast.member("preparer").user
    approver = cast.member("approver").user
    owner = cast.member("owner").user
    approval_chain(
        cast, [{"name": "Manager", "roles": ["approver"]}, {"name": "Partner", "roles": ["owner"]}]
    )
    draft = publishable_draft(cast, prepared_by=preparer)
    DraftLine.objects.for_firm(cast.firm).filter(draft=draft).update(accepted=True)
    DraftLine.objects.for_firm(cast.firm).filter(draft=draft, account__code="469").update(
        reason="The new lease", narrative="Rent rose to 6,000 with the new lease."
    )
    approvals.draft_submit(firm=cast.firm, draft=draft, user=preparer)
    (email,) = wait_for_mail(lambda m: m.to == [approver.email])

    # The link, signed out: the whole view, then the decision on the same page.
    link = _open(page_for, None, size)
    link.goto(link_path(email))
    changed = link.locator("#changed-table")
    rent = changed.locator("tr", has_text="Rent")
    expect(rent).to_contain_text("NZ$6,000.00")
    expect(rent).to_contain_text("was NZ$5,000.00")
    expect(rent).to_contain_text("Reason: The new lease")
    expect(rent).to_contain_text("Within policy")
    rent.get_by_text("Narrative").click()
    expect(rent).to_contain_text("Rent rose to 6,000 with the new lease.")
    expect(link.locator("#changed-lines svg.chart")).to_have_count(2)
    link.get_by_role("button", name="Approve").click()
    expect(link.get_by_role("heading", name="Decision recorded")).to_be_visible()

    # The owner finds step 2 waiting and approves it on the screen.
    wait_for_mail(lambda m: m.to == [owner.email])
    screen = _open(page_for, owner, size)
    screen.goto(reverse("firm_dashboard", args=[cast.firm.slug]))
    expect(_badge(screen)).to_contain_text("1")
    screen.locator("header").get_by_role("link", name=re.compile("Waiting for you")).click()
    expect(screen.locator("#waiting-steps")).to_contain_text("2. Partner")
    screen.locator("#waiting-steps").get_by_role(
        "link", name=re.compile("Review and decide")
    ).click()
    screen.locator("form.decision").get_by_role("button", name="Approve").click()
    expect(_flash(screen)).to_contain_text("Decision recorded.")
    expect(screen.locator("main")).to_contain_text("Status: Approved")
    expect(_badge(screen)).to_contain_text("0")
    draft.refresh_from_db()
    assert draft.status == Draft.Status.APPROVED
