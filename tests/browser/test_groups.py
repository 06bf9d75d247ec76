"""Client groups in a real browser at 1024 px, every page checked by axe-core (page_for runs it):
a preparer maps the intercompany fees, then reads the consolidated report, opens a line to its
members and narrative, and drills down to a member."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.budgeting.groups.conftest import group_data_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_preparer_maps_the_fees_and_reads_the_consolidated_report(firm_a, page_for):
    data = group_data_create(firm_a)
    firm, group = firm_a.firm.slug, data.group.pk
    page = page_for(firm_a.member("preparer").user)
    page.set_viewport_size({"width": 1024, "height": 768})

    page.goto(reverse("group_list", args=[firm]))
    page.get_by_role("link", name="Harbour Lane Group").click()
    page.get_by_role("link", name="Intercompany pairs").click()
    page.get_by_label("Name").fill("Management fees")
    page.get_by_label("Income account").select_option(str(data.fee_income.pk))
    page.get_by_label("Expense account").select_option(str(data.fee_expense.pk))
    page.get_by_role("button", name="Map the pair").click()
    expect(page.locator("main")).to_contain_text("Intercompany pair mapped.")

    page.goto(reverse("group_report", args=[firm, group]) + "?period=2026-10")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbour Lane Group")
    expect(page.locator("#net-profit-heading")).to_be_visible()
    expect(page.locator("main")).to_contain_text("NZ$34,875.00")
    sales = page.locator("#group-table summary", has_text="Sales").first
    sales.click()
    expect(page.locator("#group-table")).to_contain_text("Harbour Lane Sydney: NZ$62,500.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("link", name="Harbour Lane Sydney").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Harbour Lane Sydney")
    expect(page.locator("main table")).to_contain_text("NZ$62,500.00")
    page.goto(reverse("group_rates", args=[firm, group]))
    expect(page.locator("main table")).to_contain_text("AUD")
    # The group's form, as an edit: its members ticked, the parent chosen.
    page.goto(reverse("group_edit", args=[firm, group]))
    expect(page.get_by_label("Harbour Lane Sydney")).to_be_checked()
    page.goto(reverse("group_create", args=[firm]))
    expect(page.get_by_role("button", name="Create the group")).to_be_visible()
