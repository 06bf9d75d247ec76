"""Next year's budget with the client's sales pipeline: the revenue lines of the drafted year
blend the weighted deals closing in it (per tracking option where a deal names one), as a
rolling draft blends them; without a pipeline the line is the statistical forecast."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.annual.services import annual_draft_create
from budgeting.deals.services import sales_pipeline_import_csv
from budgeting.models import DraftBalance, DraftLine
from core.money import money
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create
from tests.budgeting.screens import login, text

# The pipeline is as of the client's month now: the data's, closed to October 2026.
pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
MAY_2027 = dt.date(2027, 5, 1)
JUNE_2027 = dt.date(2027, 6, 1)
# Sales overall (200) in May 2027 at 50%, North's sales in June 2027 at 100%, and a deal
# closing in January 2027: before FY2028 (April 2027 to March 2028), so not in the draft.
PIPELINE = (
    b"deal,amount,probability,close_month,tracking_option,account\n"
    b"Depot extension,40000,50,2027-05,,200\n"
    b"Marina fit-out,30000,100,2027-06,North,200\n"
    b"Winter works,90000,100,2027-01,,200\n"
)


def _suggested(cast, draft, option) -> dict[dt.date, Decimal]:
    line = DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account__code="200", tracking_option=option
    )
    return dict(
        DraftBalance.objects.for_firm(cast.firm)
        .filter(line=line)
        .values_list("period", "suggested_amount")
    )


def test_the_years_revenue_lines_blend_the_deals_closing_in_it(client, firm_a, firm_b):
    made = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    user = firm_a.member(Role.PREPARER).user
    first = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    overall_before = _suggested(firm_a, first.draft, None)
    north_before = _suggested(firm_a, first.draft, made.option)
    line = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=first.draft, account__code="200", tracking_option=None
    )
    assert "sales_pipeline" not in line.provenance

    sales_pipeline_import_csv(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        data=PIPELINE,
        file_name="crm.csv",
        user=None,
    )
    second = annual_draft_create(
        firm=firm_a.firm, organisation=firm_a.organisation, user=user, supersede=first
    )
    overall = _suggested(firm_a, second.draft, None)
    north = _suggested(firm_a, second.draft, made.option)
    # No pipeline history to backtest: the documented default weight, 0.50.
    assert overall[MAY_2027] == money((overall_before[MAY_2027] + Decimal(20000)) / 2)
    assert north[JUNE_2027] == money((north_before[JUNE_2027] + Decimal(30000)) / 2)
    # The account's overall line is the account in total, so North's deal counts there too;
    # the overall deal stays off North's line. Other months (and the January deal, before
    # the year) leave the statistical figures as they were.
    assert overall[JUNE_2027] == money((overall_before[JUNE_2027] + Decimal(30000)) / 2)
    assert {m: v for m, v in overall.items() if m not in (MAY_2027, JUNE_2027)} == {
        m: v for m, v in overall_before.items() if m not in (MAY_2027, JUNE_2027)
    }
    assert {m: v for m, v in north.items() if m != JUNE_2027} == {
        m: v for m, v in north_before.items() if m != JUNE_2027
    }
    line = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=second.draft, account__code="200", tracking_option=None
    )
    kept = {m["period"]: m for m in line.provenance["sales_pipeline"]["months"]}
    assert kept["2027-05-01"]["pipeline"] == "20000.00"
    assert Decimal(kept["2027-05-01"]["statistical"]) == overall_before[MAY_2027]
    assert "Includes the sales pipeline (v1, weight 0.50)" in line.narrative

    login(client, firm_a)
    address = reverse(
        "draft_line_detail",
        args=[firm_a.firm.slug, firm_a.organisation.pk, second.draft_id, line.pk],
    )
    page = text(client.get(address))
    assert "sales pipeline v1</a> at weight <strong>0.50</strong>" in page
    login(client, firm_b)
    assert client.get(address).status_code == 404


def test_a_pipeline_uploaded_after_the_draft_is_named_and_a_redraft_offered(client, firm_a, firm_b):
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    user = firm_a.member(Role.PREPARER).user
    annual = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    address = reverse(
        "draft_detail", args=[firm_a.firm.slug, firm_a.organisation.pk, annual.draft_id]
    )
    login(client, firm_a)
    assert "annual-pipeline-after" not in text(client.get(address))
    sales_pipeline_import_csv(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        data=PIPELINE,
        file_name="crm.csv",
        user=None,
    )
    page = text(client.get(address))
    assert "The sales pipeline v1 was uploaded on" in page
    assert "after this draft: its deals are not in the revenue lines" in page
    assert "Draft FY2028 again</a>" in page
    # Offered, not done: the draft is unchanged until the user drafts again.
    line = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=annual.draft, account__code="200", tracking_option=None
    )
    assert "sales_pipeline" not in line.provenance
    login(client, firm_b)
    assert client.get(address).status_code == 404
