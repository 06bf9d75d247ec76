"""Next year's budget in a real browser at a laptop's width, checked by axe on every page
(page_for): the owner drafts it from the client's page, sees the flagged line in the review and
its flagged month ringed on the line's chart."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.helpers import fits_width
from tests.budgeting.draft_data import draft_organisation_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_drafts_next_year_and_reviews_its_flags_at_1024_px(firm_a, page_for):
    cast = firm_a
    draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    page = page_for(cast.member("owner").user)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(reverse("organisation_detail", args=[cast.firm.slug, cast.organisation.pk]))
    page.get_by_role("link", name="Draft next year's budget").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("draft next year's budget")
    expect(page.get_by_label("Financial year")).to_have_value("2028")
    page.get_by_role("button", name="Draft the budget").click()
    flags = page.locator("#annual-flags")
    expect(flags).to_contain_text("FY2028: next year's budget, 1 line flagged")
    expect(flags).to_contain_text("One-off months")
    assert fits_width(page)
    flags.get_by_role("link", name="Advertising").click()
    expect(page.locator("#annual-line-flags")).to_contain_text("Flagged for a second look")
    expect(page.locator("svg.chart circle.flagged")).to_have_count(1)
    assert fits_width(page)
