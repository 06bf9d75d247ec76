"""The approval flow of a forecast draft in a real browser: the preparer edits and submits, the
first approver signs off from the email link, the second approves on the screen, and the
preparer downloads the Budget Manager import file. Emails come from a real Celery worker."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import (
    ApprovalDecision,
    ApprovalLink,
    ApprovalRequest,
    Draft,
    DraftBalance,
    DraftLine,
)
from tests.browser.helpers import (
    NOV,
    approval_chain,
    link_path,
    publishable_draft,
    wait_for_mail,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROFIT_IMPACT = re.compile(r"Net profit impact[^\n]*?(-|\u2212)\D*2,?250")


def _to(user):
    return lambda message: message.to == [user.email]


def _flash(page):
    """The messages a redirect leaves on the next page."""
    return page.locator("main ul.messages")


def _decisions(cast) -> list[tuple[int, str, str, str]]:
    return list(
        ApprovalDecision.objects.for_firm(cast.firm)
        .order_by("step__position")
        .values_list("step__position", "decision", "channel", "email")
    )


def test_prepare_submit_approve_by_link_and_screen_then_download_the_import_file(
    firm_a, page_for, celery_worker_thread
):
    cast = firm_a
    preparer = cast.member("preparer").user
    approver = cast.member("approver").user
    owner = cast.member("owner").user
    approval_chain(
        cast, [{"name": "Manager", "roles": ["approver"]}, {"name": "Partner", "roles": ["owner"]}]
    )
    draft = publishable_draft(cast, prepared_by=preparer)
    args = [cast.firm.slug, cast.organisation.pk, draft.pk]
    rent = DraftLine.objects.for_firm(cast.firm).get(draft=draft, account__code="469")

    # --- The preparer edits November's rent, with a reason. ------------------------------------
    page = page_for(preparer)
    page.goto(reverse("draft_detail", args=args))
    expect(page.locator("#draft-body")).to_contain_text("2 lines neither accepted nor edited")
    table = page.locator("#draft-table")
    table.locator("tr", has_text="Rent").get_by_role("link", name="Edit").click()
    edit = page.locator("#edit")
    expect(edit.get_by_role("heading", name="Change a month")).to_be_visible()
    edit.get_by_label("Month").select_option(label="November 2026")
    # The policy's verdict comes back as the figure is typed (htmx swaps #policy-check).
    with page.expect_response(lambda r: r.url.endswith("/check/") and r.status == 200):
        edit.get_by_label("New figure").fill("5750")
    expect(page.locator("#policy-check")).to_contain_text("Within policy")
    edit.get_by_label("Reason").fill("The new lease starts in November at 5,750")
    # Saved without a reload: a marker set on this document survives the save.
    page.evaluate("window.notReloaded = true")
    edit.get_by_role("button", name="Save the change").click()
    expect(_flash(page)).to_contain_text("November 2026 changed")
    assert page.evaluate("window.notReloaded === true")
    november = page.locator(".line-detail tr", has_text="Nov 2026")
    expect(november).to_contain_text("NZ$5,750.00")
    expect(november).to_contain_text("The new lease starts in November")
    balance = DraftBalance.objects.for_firm(cast.firm).get(line=rent, period=NOV)
    assert balance.edited_amount == Decimal("5750.00")
    assert balance.edited_by == preparer
    assert balance.edit_reason == "The new lease starts in November at 5,750"

    # The edited line counts as accepted; the other line is accepted with its button.
    page.get_by_role("link", name="Forecast draft from November 2026").click()
    advertising = page.locator("#draft-table tr", has_text="Advertising")
    page.evaluate("window.notReloaded = true")
    advertising.get_by_role("button", name="Accept").click()
    expect(page.locator("#draft-body")).to_contain_text("the draft is ready to submit")
    assert page.evaluate("window.notReloaded === true")
    assert set(
        DraftLine.objects.for_firm(cast.firm).filter(draft=draft).values_list("accepted", flat=True)
    ) == {True}

    # --- Submit, from the draft's approval screen. -------------------------------------------
    page.locator(".page-head").get_by_role("link", name=re.compile("approval", re.I)).click()
    expect(page).to_have_url(re.compile(reverse("draft_approval", args=args) + "$"))
    page.get_by_role("button", name="Submit for approval").click()
    expect(_flash(page)).to_contain_text("Submitted for approval")
    expect(page.locator("main")).to_contain_text("Status: Submitted")
    # The preparer may not decide: no decision form for them.
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # --- The worker emails step 1's approver; the link opens signed out. ----------------------
    (email,) = wait_for_mail(_to(approver))
    # Two expense lines up 1,750 and 500 over the draft (the figures' format may vary).
    assert PROFIT_IMPACT.search(email.body)
    link = page_for(None)
    link.goto(link_path(email))
    expect(link.get_by_role("heading", level=1)).to_contain_text(cast.organisation.name)
    expect(link.locator("main")).to_contain_text(PROFIT_IMPACT)
    expect(link.locator("main")).to_contain_text("Step 1: Manager")
    expect(link.get_by_role("button", name="Reject")).to_be_visible()
    # Opening the link decided nothing and did not spend it.
    assert _decisions(cast) == []
    assert ApprovalLink.objects.for_firm(cast.firm).get(email=approver.email).used_at is None
    link.get_by_label("Comment").fill("Rent matches the lease")
    link.get_by_role("button", name="Approve").click()
    expect(link.get_by_role("heading", name="Decision recorded")).to_be_visible()
    assert _decisions(cast) == [(1, "approve", "email", approver.email.lower())]

    # --- Step 2: the owner approves on the screen. ----------------------------------------------
    wait_for_mail(_to(owner))  # step 2 opened: its approvers are emailed too
    screen = page_for(owner)
    screen.goto(reverse("draft_approval", args=args))
    decision = screen.locator("form.decision")
    expect(decision).to_contain_text(re.compile(r"step 2\W+Partner", re.I))
    decision.get_by_role("button", name="Approve").click()
    expect(_flash(screen)).to_contain_text("Decision recorded.")
    expect(screen.locator("main")).to_contain_text("Status: Approved")
    assert _decisions(cast)[1] == (2, "approve", "screen", owner.email.lower())
    draft.refresh_from_db()
    assert draft.status == Draft.Status.APPROVED
    assert (
        ApprovalRequest.objects.for_firm(cast.firm).get(draft=draft).status
        == ApprovalRequest.Status.APPROVED
    )

    # --- The preparer publishes and downloads the Budget Manager file. ------------------------
    page.reload()
    expect(page.locator("main")).to_contain_text("Status: Approved")
    page.get_by_role("button", name="Make the import files").click()
    expect(_flash(page)).to_contain_text("1 import file made and emailed to you")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Overall Budget").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8", newline="") as handle:
        text = handle.read()
    grid = list(csv.reader(io.StringIO(text)))
    # Row 1: "Account" then the months as MMM-YYYY; column 1: "Account Name (Code)".
    assert grid[0] == ["Account", "Nov-2026", "Dec-2026"]
    assert grid[1:] == [["Advertising (400)", "", "3500"], ["Rent (469)", "5750", "6000"]]
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_IMPORT


def test_a_used_or_overtaken_email_link_says_so_in_the_browser(
    firm_a, page_for, celery_worker_thread
):
    from budgeting.approvals import services as approvals

    cast = firm_a
    preparer = cast.member("preparer").user
    approver = cast.member("approver").user
    admin = cast.member("admin").user
    approval_chain(cast, [{"name": "Manager", "roles": ["approver", "admin"]}])
    draft = publishable_draft(cast, prepared_by=preparer)
    DraftLine.objects.for_firm(cast.firm).filter(draft=draft).update(accepted=True)
    approvals.draft_submit(firm=cast.firm, draft=draft, user=preparer)
    (to_approver,) = wait_for_mail(_to(approver))
    (to_admin,) = wait_for_mail(_to(admin))

    page = page_for(None)
    page.goto(link_path(to_approver))
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()

    # The same link again: used.
    page.goto(link_path(to_approver))
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    expect(page.locator("main")).to_contain_text("Nothing was decided.")
    # The other approver's link: the step was decided without them.
    other = page_for(None)
    response = other.goto(link_path(to_admin))
    assert response.status == 410
    expect(other.get_by_role("heading", level=1)).to_have_text("This draft has moved on")
    expect(other.get_by_role("button", name="Approve")).to_have_count(0)
    assert _decisions(cast) == [(1, "approve", "email", approver.email.lower())]
