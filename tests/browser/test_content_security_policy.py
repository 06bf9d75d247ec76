"""Pages under the Content-Security-Policy in a real browser: they work, and Chromium reports no
refused script or style (page_for fails a test on any such report)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tenants.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_their_operations(page_for, firm_a):
    page = page_for(firm_a.member(Role.OWNER).user)
    page.goto(reverse("api:docs"))
    # Swagger UI draws the page from its schema: slow on a busy machine.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("partner API", timeout=15_000)
    expect(page.locator(".opblock").first).to_be_visible()


def test_the_dashboard_filters_with_htmx(page_for, firm_a, firm_b):
    page = page_for(firm_a.member(Role.VIEWER).user)
    page.goto(reverse("firm_dashboard", args=[firm_a.firm.slug]))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    search = page.get_by_role("searchbox").first
    search.fill("no such client")
    search.press("Enter")
    expect(page.locator("#organisation-table")).not_to_contain_text(firm_a.organisation.name)
    expect(page.locator("body")).not_to_contain_text(firm_b.organisation.name)


def test_why_this_figure_opens_on_a_draft_line(page_for, firm_a, firm_b):
    from budgeting.drafts.services import draft_create_rolling
    from budgeting.models import DraftLine
    from tests.budgeting.draft_data import draft_organisation_create

    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    draft = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft
    line = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=draft, account__code="469", tracking_option=None
    )
    page = page_for(firm_a.member(Role.VIEWER).user)
    page.goto(
        reverse(
            "draft_line_detail",
            args=[firm_a.firm.slug, firm_a.organisation.pk, draft.pk, line.pk],
        )
    )
    panel = page.locator("#why-figure")
    expect(panel.get_by_text("Policy checks")).to_be_hidden()
    panel.get_by_role("heading", name="Why this figure").click()
    expect(panel.get_by_text("Policy checks")).to_be_visible()
    expect(panel).to_contain_text("Reproduced:")
    expect(panel).not_to_contain_text(firm_b.organisation.name)
