"""The sales pipeline in a real browser at a laptop's width: a preparer uploads a CRM export
with a bad row and reads why, row by row; uploads it corrected and sees the pipeline beside the
statistical forecast, with its chart and weight. axe checks every page (page_for)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.models import SalesPipelineUpload
from tests.budgeting.draft_data import draft_organisation_create

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.clock("2026-11-16T09:00:00Z"),
]
BAD = b"deal,amount,probability,close_month\nHarbour fit-out,80000,50,2026-12\nMarina,lots,50,2027-01\n"
GOOD = BAD.replace(b"lots", b"30000")


def _upload(page, content: bytes):
    page.get_by_label("CRM export (CSV)").set_input_files(
        files=[{"name": "crm.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Check and import").click()


def test_a_preparer_uploads_a_pipeline_and_sees_it_beside_the_forecast(firm_a, page_for):
    cast = firm_a
    draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    page = page_for(cast.member("preparer").user)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(reverse("organisation_detail", args=[cast.firm.slug, cast.organisation.pk]))
    page.get_by_role("link", name="Sales pipeline").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("sales pipeline")

    _upload(page, BAD)
    problems = page.locator("#upload-errors")
    expect(problems).to_contain_text("The file was not imported: 1 problem")
    expect(problems.locator("tr", has_text="amount")).to_contain_text("'lots' is not a number")
    assert not SalesPipelineUpload.objects.for_firm(cast.firm).exists()

    _upload(page, GOOD)
    expect(page.locator("main ul.messages")).to_contain_text("Sales pipeline v1 saved: 2 deals")
    expect(page.locator("svg.chart rect.pipeline")).to_have_count(2)
    expect(page.locator("svg.chart path.blended")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("Weight of the pipeline: 0.50")
    december = page.locator("tr", has_text="Dec 2026").first
    expect(december).to_contain_text("40,000.00")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
