"""A report pack in a real browser: a preparer builds the month's pack on the organisation's
packs screen and downloads its PDF, which holds the client's figures; another firm's member
finds nothing there."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.variance.services import organisation_variance_refresh
from tenants.roles import Role
from tests.budgeting.packs.pack_data import pack_organisation_create, pdf_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_preparer_builds_and_downloads_the_months_pack(firm_a, firm_b, page_for):
    pack_organisation_create(firm_a)
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    packs = reverse("report_pack_list", args=[firm_a.firm.slug, firm_a.organisation.pk])

    page = page_for(firm_a.member(Role.PREPARER).user)
    page.goto(reverse("organisation_detail", args=[firm_a.firm.slug, firm_a.organisation.pk]))
    page.get_by_role("link", name="Report packs").click()
    expect(page).to_have_url(f"{page.url.split('/f/')[0]}{packs}")
    page.get_by_role("button", name="Build the pack now").click()
    expect(page.locator("main ul.messages")).to_contain_text("The pack for October 2026 is built.")
    row = page.locator("#report-packs tbody tr", has_text="October 2026")
    expect(row).to_contain_text("Ready")
    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download PDF").click()
    download = download_info.value

    assert download.suggested_filename == "harbour-lane-cafe-pack-2026-10.pdf"
    with open(download.path(), "rb") as handle:
        pdf = handle.read()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Harbour Lane Café: report pack, October 2026" in text
    assert "NZ$50,000.00" in text and "Net Profit" in text

    # Firm B's owner, signed in, gets a 404 on firm A's packs screen.
    other = page_for(firm_b.member(Role.OWNER).user)
    response = other.goto(packs)
    assert response.status == 404
