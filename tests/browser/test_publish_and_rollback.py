"""Publishing to Xero and rolling back, in a real browser against the Xero sandbox: the forecast
budget is added in the sandbox's Budget Manager, the preparer makes and downloads the import
file, it is imported there, the next sync verifies it with the original unchanged; then the
preparer rolls the file back, an approver approves the rollback draft, its file is imported and
the next sync verifies the earlier figures."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import BudgetPublication, Draft
from tests.budgeting.publishing_data import (
    CAFE,
    _add_budget,
    _after_sync,
    _cells,
    _import,
    _sandbox_draft,
    approve_through_the_chain,
)
from tests.sandbox import sync

pytestmark = [
    pytest.mark.browser,
    pytest.mark.mutable_sandbox,
    pytest.mark.django_db(transaction=True),
]


def _flash(page):
    return page.locator("main ul.messages")


def _download(page, name: str) -> str:
    """Click the import file's link and read the file the browser saved."""
    with page.expect_download() as download_info:
        page.get_by_role("link", name=name).first.click()
    with open(download_info.value.path(), encoding="utf-8", newline="") as handle:
        return handle.read()


def test_publish_import_verify_then_roll_back_and_verify_the_earlier_figures(
    connected_firm, xero_sandbox, page_for, celery_eager
):
    cast = connected_firm
    cafe = cast.linked[CAFE]
    preparer = cast.member("preparer").user
    assert sync(cast, CAFE).state == "succeeded"
    # A Xero user adds the forecast budget in Budget Manager; the next sync finds it.
    forecast_id = _add_budget(xero_sandbox, "Rolling Forecast")
    assert sync(cast, CAFE).state == "succeeded"
    draft, overall, _months, approved = _sandbox_draft(cast)
    original = _cells(cast, overall.budget_id)
    cast.organisation = cafe
    approve_through_the_chain(cast, draft)
    approval = reverse("draft_approval", args=[cast.firm.slug, cafe.pk, draft.pk])

    # --- Publish: the preparer makes the file and downloads it. --------------------------------
    page = page_for(preparer)
    page.goto(approval)
    page.get_by_role("button", name="Make the import files").click()
    expect(_flash(page)).to_contain_text("1 import file made and emailed to you")
    expect(page.locator("main")).to_contain_text("Status: Awaiting import into Xero")
    content = _download(page, "Rolling Forecast")
    assert content.startswith("Account,")

    # --- Import it in the sandbox's Budget Manager, re-sync: verified, original unchanged. -----
    _import(xero_sandbox, forecast_id, content)
    _after_sync(cast, full=True)
    page.reload()
    expect(page.locator("main")).to_contain_text("Status: Published and verified")
    files = page.locator("#publish table", has_text="Import files")
    expect(files.locator("tbody tr")).to_have_count(1)
    expect(files.locator("tbody tr").first).to_contain_text("Published and verified")
    assert _cells(cast, overall.budget_id) == original
    forecast = _cells(cast, forecast_id)
    assert any(forecast[cell] != original.get(cell, Decimal(0)) for cell in approved)

    # --- Roll it back, with the confirmation saying what happens in Xero. ----------------------
    page.get_by_role("link", name="Roll back to this revision…").click()
    what = page.locator("#rollback-what-happens")
    expect(what).to_contain_text("What will happen in Xero")
    expect(what).to_contain_text("Nothing changes in Xero yet")
    expect(what).to_contain_text("the original budget “Overall Budget” is unchanged")
    expect(page.get_by_label("Roll back to")).to_have_value("")
    page.get_by_label("Why (kept in the audit log)").fill("The board kept the old figures")
    page.get_by_role("button", name="Make the rollback draft").click()
    expect(_flash(page)).to_contain_text("Rollback draft made with the earlier figures")
    expect(page.locator("#rollback-notice")).to_contain_text("the original budget\u2019s figures")
    rollback = Draft.objects.for_firm(cast.firm).get(source=Draft.Source.ROLLBACK)
    rollback_approval = reverse("draft_approval", args=[cast.firm.slug, cafe.pk, rollback.pk])

    # --- The same chain: the preparer submits, and may not approve; the approver does. --------
    page.goto(rollback_approval)
    page.get_by_role("button", name="Submit for approval").click()
    expect(_flash(page)).to_contain_text("Submitted for approval")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    approver = page_for(cast.member("approver").user)
    approver.goto(rollback_approval)
    approver.locator("form.decision").get_by_role("button", name="Approve").click()
    expect(_flash(approver)).to_contain_text("Decision recorded.")
    expect(approver.locator("main")).to_contain_text("Status: Approved")

    # --- Publish the rollback into the same budget, import it, re-sync: verified. -------------
    page.reload()
    expect(page.locator("#rollback-notice")).to_contain_text("This draft rolls back")
    page.get_by_role("button", name="Make the import files").click()
    expect(_flash(page)).to_contain_text("1 import file made and emailed to you")
    content = _download(page, "Rolling Forecast")
    _import(xero_sandbox, forecast_id, content)
    _after_sync(cast, full=True)
    page.reload()
    expect(page.locator("main")).to_contain_text("Status: Published and verified")
    (back,) = BudgetPublication.objects.for_firm(cast.firm).filter(draft=rollback)
    assert back.status == BudgetPublication.Status.VERIFIED and back.xero_budget_id == forecast_id
    # Xero's forecast budget holds the earlier (original) figures again; the original is as it
    # was throughout.
    forecast = _cells(cast, forecast_id)
    for cell in approved:
        assert forecast.get(cell, Decimal(0)) == original.get(cell, Decimal(0))
    assert _cells(cast, overall.budget_id) == original
    # The first file's row links its rollback draft.
    page.goto(approval)
    expect(page.locator("#publish")).to_contain_text(
        re.compile(rf"Rollback draft {rollback.pk}\s*\(published and verified\)")
    )
