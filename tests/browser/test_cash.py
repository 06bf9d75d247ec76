"""The cash page in a real browser at 1024 px (axe checks every page page_for opens): an owner
finds it from the organisation, reads the projected low point and sets a threshold; the month
cash falls below it is shown. Another firm's owner finds nothing there."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.cash.selectors import cash_view_load
from tenants.roles import Role
from tests.browser.helpers import fits_width
from tests.sandbox import sync

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAFE = "Harbour Lane Café"


def test_an_owner_reads_the_cash_projection_and_sets_a_threshold(connected_firm, firm_b, page_for):
    sync(connected_firm, CAFE)
    organisation = connected_firm.linked[CAFE]
    firm = connected_firm.firm
    low = cash_view_load(firm=firm, organisation=organisation).projection.low
    cash = reverse("cash_view", args=[firm.slug, organisation.pk])

    page = page_for(connected_firm.member(Role.OWNER).user)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(reverse("organisation_detail", args=[firm.slug, organisation.pk]))
    page.get_by_role("link", name="Cash", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("cash")
    expect(page.locator("#cash-low")).to_contain_text(f"{low.period:%B %Y}")
    expect(
        page.get_by_role("img", name="Closing cash per month, actual and projected")
    ).to_be_visible()
    assert fits_width(page)

    page.get_by_label("Warn when closing cash would fall below").fill(f"{low.cash + 1}")
    page.get_by_role("button", name="Save the threshold").click()
    expect(page.locator("main ul.messages")).to_contain_text("Cash threshold saved.")
    expect(page.locator("#cash-below")).to_contain_text("From ")

    other = page_for(firm_b.member(Role.OWNER).user)
    assert other.goto(cash).status == 404
