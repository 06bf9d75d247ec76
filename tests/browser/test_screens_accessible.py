"""Screens read at a laptop's and a desktop's size, checked by axe-core (page_for runs it on every
page): a viewer's month-end round, the variance table at 1024 px with its header row and account
column in view and its subtotals adding up as the P&L does, and the two-factor pages inside the
firm's layout."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import DraftLine
from budgeting.variance.services import organisation_variance_refresh
from tests.browser.helpers import approval_chain, publishable_draft
from tests.budgeting.variance_data import variance_organisation_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1024, "height": 768}
DESKTOP = {"width": 1440, "height": 900}
SIZES = pytest.mark.parametrize("size", [LAPTOP, DESKTOP], ids=["1024x768", "1440x900"])


def _amount(text: str) -> Decimal:
    """A figure as the page writes it (NZ$1,234.00, a minus sign or a plus before it) as a Decimal."""
    sign = -1 if text.strip()[:1] in ("-", "\u2212") else 1
    return sign * Decimal(re.sub(r"[^\d.]", "", text))


def _no_page_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@SIZES
def test_a_viewer_reads_every_screen_of_the_month_end(firm_a, page_for, size):
    cast = firm_a
    preparer = cast.member("preparer").user
    approval_chain(cast, [{"name": "Manager", "roles": ["approver"]}])
    draft = publishable_draft(cast, prepared_by=preparer)
    DraftLine.objects.for_firm(cast.firm).filter(draft=draft).update(accepted=True)
    from budgeting.approvals import services as approvals

    approvals.draft_submit(firm=cast.firm, draft=draft, user=preparer)
    firm, organisation = cast.firm.slug, cast.organisation.pk
    page = page_for(cast.member("viewer").user)
    page.set_viewport_size(size)

    for name, args in [
        ("firm_dashboard", [firm]),
        ("waiting_queue", [firm]),
        ("organisation_detail", [firm, organisation]),
        ("variance_report", [firm, organisation]),
        ("draft_list", [firm, organisation]),
        ("forecast_accuracy", [firm, organisation]),
        ("draft_detail", [firm, organisation, draft.pk]),
        ("draft_approval", [firm, organisation, draft.pk]),
        ("audit_log", [firm, organisation]),
        ("member_list", [firm]),
    ]:
        response = page.goto(reverse(name, args=args))
        assert response.status == 200, name
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("navigation", name="Firm")).to_contain_text("Dashboard")
        assert _no_page_overflow(page), f"{name} overflows the page at {size['width']} px"
    # Focus is visible: the first Tab reaches "Skip to content", shown with an outline, and it
    # leads into the page's main content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    assert skip.get_attribute("href") == "#main"
    # No form for a viewer on the approval page, only who it waits for.
    expect(page.locator("form.decision")).to_have_count(0)
    # An error page is inside the layout, with a way back.
    response = page.goto(reverse("draft_detail", args=[firm, organisation, draft.pk + 999]))
    assert response.status == 404
    expect(page.get_by_role("navigation", name="Firm")).to_contain_text("Dashboard")


def test_the_variance_table_keeps_its_header_and_accounts_in_view_at_1024(firm_a, page_for):
    cast = firm_a
    # Forty more expense accounts: the table is taller and wider than its box.
    variance_organisation_create(firm=cast.firm, organisation=cast.organisation, extra_accounts=40)
    organisation_variance_refresh(firm=cast.firm, organisation=cast.organisation)
    page = page_for(cast.member("viewer").user)
    page.set_viewport_size(LAPTOP)
    page.goto(
        reverse("variance_report", args=[cast.firm.slug, cast.organisation.pk]) + "?period=2026-10"
    )
    box = page.locator("#variance-scroll")
    table = page.locator("#variance-table")
    expect(table).to_be_visible()
    # The table scrolls inside its box; the page itself never scrolls sideways.
    assert _no_page_overflow(page)
    assert box.evaluate("e => e.scrollHeight > e.clientHeight")
    # The box takes keyboard focus (so it scrolls without a mouse) and says what it holds.
    box.focus()
    expect(box).to_be_focused()
    expect(box).to_have_accessible_name(re.compile("Budget against actual"))

    corner = table.locator("thead th").first
    rent = table.locator("tbody th[scope=row]", has_text="Rent")
    before = box.bounding_box()
    box.evaluate("e => { e.scrollTop = e.scrollHeight; e.scrollLeft = e.scrollWidth; }")
    assert box.evaluate("e => e.scrollTop > 200")
    # The header row is still at the top of the box, and the account column at its left.
    head = corner.bounding_box()
    assert abs(head["y"] - before["y"]) <= 2 and abs(head["x"] - before["x"]) <= 2
    net = table.locator("tr.total", has_text="Net Profit").locator("th")
    expect(net).to_be_in_viewport()
    assert abs(net.bounding_box()["x"] - before["x"]) <= 2
    rent.scroll_into_view_if_needed()
    assert abs(rent.bounding_box()["x"] - before["x"]) <= 2

    # Subtotals as the P&L adds them, from the figures on the page (the month's actual).
    def month_actual(row) -> Decimal:
        return _amount(row.locator("td").first.inner_text())

    def section(key):
        body = table.locator(f"tbody.section-{key}")
        lines = body.locator("tr:not(.section-head):not(.total)")
        return [month_actual(lines.nth(i)) for i in range(lines.count())], month_actual(
            body.locator("tr.total")
        )

    income, total_income = section("income")
    cost_lines, cost_of_sales = section("cost_of_sales")
    _, gross_profit = section("gross_profit")
    other_lines, other_income = section("other_income")
    expense_lines, operating_expenses = section("operating_expenses")
    _, net_profit = section("net_profit")
    assert total_income == sum(income) == Decimal("50000.00")
    assert cost_of_sales == sum(cost_lines)
    assert other_income == sum(other_lines)
    assert operating_expenses == sum(expense_lines) and len(expense_lines) == 42
    assert gross_profit == total_income - cost_of_sales
    assert net_profit == gross_profit + other_income - operating_expenses
    # The same net profit as the report's headline.
    headline = page.locator("#net-profit-heading + p strong").first.inner_text()
    assert _amount(headline) == net_profit
    for label in ("Total Income", "Total Cost of Sales", "Gross Profit", "Total Operating"):
        expect(table.locator("tr.total th", has_text=label)).to_have_count(1)


@SIZES
def test_the_two_factor_pages_keep_the_firms_navigation(firm_a, firm_b, page_for, size):
    page = page_for(firm_a.member("owner").user)
    page.set_viewport_size(size)
    page.goto(reverse("firm_dashboard", args=[firm_a.firm.slug]))
    page.get_by_text(firm_a.member("owner").user.email).click()
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Firm")
    expect(nav.get_by_role("link", name=re.compile(firm_a.firm.name))).to_be_visible()
    expect(nav).not_to_contain_text(firm_b.firm.name)
    # Setting up an app asks for the password again first: that page too is in the layout.
    page.goto(reverse("mfa_activate_totp"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_label(re.compile("Password"))).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile(firm_a.firm.name))).to_be_visible()
    page.goto(reverse("mfa_required", args=[firm_a.firm.slug]))
    expect(nav).to_contain_text("Dashboard")
