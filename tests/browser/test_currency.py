"""The budget-rates page and the variance report's currency effects at a laptop's width, checked
by axe-core (page_for runs it on every page): the split is readable and adds up on the screen."""

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.currency.services import budget_rate_set
from tests.browser.helpers import fits_width
from tests.budgeting.currency.data import importer_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_preparer_reads_the_currency_split_and_sets_a_rate_at_1024_px(firm_a, page_for):
    cast = firm_a
    importer_create(firm=cast.firm, organisation=cast.organisation)
    budget_rate_set(
        firm=cast.firm,
        organisation=cast.organisation,
        currency="USD",
        period=None,
        rate=Decimal("1.30"),
    )
    firm, organisation = cast.firm.slug, cast.organisation.pk
    page = page_for(cast.member("preparer").user)
    page.set_viewport_size({"width": 1024, "height": 768})

    page.goto(reverse("variance_report", args=[firm, organisation]) + "?period=2026-10")
    table = page.locator("#currency-table")
    expect(table).to_contain_text("Cost of Goods Sold")
    expect(table).to_contain_text("+£1,666.67")
    expect(table).to_contain_text("weaker pound against the US dollar")
    assert fits_width(page)

    page.get_by_role("link", name="Budget rates").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Budget rates")
    page.locator("#id_entered-currency").select_option("EUR")
    page.locator("#id_entered-rate").fill("1.17")
    page.get_by_role("button", name="Save rate").click()
    expect(page.locator("#budget-rates")).to_contain_text("1.170000")
    assert fits_width(page)
