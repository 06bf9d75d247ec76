"""A draft by department in a real browser at 1024 px, checked by axe-core on every page: the
preparer reads the departments and the gap and explains it, the kitchen's manager (outside the
firm) changes a figure from their link and says they are done, the bar's manager (a member) opens
their department in the app."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.departments import services
from budgeting.models import DepartmentAssignment, DepartmentGapNote, DraftBalance
from tests.browser.helpers import fits_width
from tests.budgeting.department_data import NOV, department_draft_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1024, "height": 768}


def test_departments_are_prepared_by_their_managers_and_the_gap_explained(
    firm_a, page_for, celery_eager
):
    cast = department_draft_create(firm_a)
    preparer, viewer = cast.member("preparer").user, cast.member("viewer").user
    kitchen = services.department_assign(
        firm=cast.firm,
        draft=cast.draft,
        option=cast.kitchen,
        user=preparer,
        email="chef@client.example",
        name="Kim Chef",
    )
    bar = services.department_assign(
        firm=cast.firm, draft=cast.draft, option=cast.bar, user=preparer, manager_user=viewer
    )
    firm, organisation, draft = cast.firm.slug, cast.organisation.pk, cast.draft.pk

    # The kitchen's manager, signed out, from their link.
    token = services.department_link_token(firm=cast.firm, assignment=kitchen)
    chef = page_for(None)
    chef.set_viewport_size(LAPTOP)
    chef.goto(reverse("department_link", args=[token]))
    expect(chef.get_by_role("heading", level=1)).to_contain_text("Kitchen")
    expect(chef.locator("#department-lines")).not_to_contain_text("1,500.00")
    assert fits_width(chef)
    chef.get_by_label("Line", exact=True).select_option(label="477 Wages")
    chef.get_by_label("Month", exact=True).select_option(label="November 2026")
    chef.get_by_label("New figure").fill("3500")
    chef.get_by_label("Reason", exact=True).fill("A second cook from November")
    chef.get_by_role("button", name="Save the figure").click()
    expect(chef.locator("main ul.messages")).to_contain_text("November 2026 changed")
    chef.get_by_role("button", name="My department is done").click()
    expect(chef.locator("#department-state")).to_contain_text("You marked this department done")
    balance = DraftBalance.objects.for_firm(cast.firm).get(
        line=cast.lines[("477", "Kitchen")], period=NOV
    )
    assert str(balance.edited_amount) == "3500.00"

    # The bar's manager, a member, in the app.
    member = page_for(viewer)
    member.set_viewport_size(LAPTOP)
    member.goto(reverse("department_detail", args=[firm, organisation, draft, bar.pk]))
    expect(member.get_by_role("heading", level=1)).to_contain_text("Bar")
    member.get_by_role("button", name="My department is done").click()
    expect(member.locator("#department-state")).to_contain_text("done")

    # The preparer: December's gap of 500 on Wages is left, and explained.
    page = page_for(preparer)
    page.set_viewport_size(LAPTOP)
    page.goto(reverse("draft_departments", args=[firm, organisation, draft]))
    assert fits_width(page), "the departments screen overflows at 1024 px"
    expect(page.locator("#assignments")).to_contain_text("Kim Chef")
    expect(page.locator("#department-problems")).to_contain_text("477 Wages")
    page.get_by_label("Why the departments do not add up for Wages").fill(
        "A December temp is budgeted overall only."
    )
    page.get_by_role("button", name="Explain the gap of Wages").click()
    expect(page.locator("#department-problems")).to_contain_text("Every department is done")
    assert DepartmentGapNote.objects.for_firm(cast.firm).get().account == cast.wages
    assert set(
        DepartmentAssignment.objects.for_firm(cast.firm).values_list("status", flat=True)
    ) == {"done"}
    page.goto(reverse("draft_detail", args=[firm, organisation, draft]))
    expect(page.locator("#departments-panel")).to_contain_text("2 of 2 departments")
    assert fits_width(page)
