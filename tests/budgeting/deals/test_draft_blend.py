"""A forecast draft's revenue line with a sales pipeline: the suggestion is the blend of the
statistical forecast and the weighted pipeline, its provenance records the version, the weight
and each month's figures, the line's screen shows them, and the figure is still reproduced
from what was kept. Lines of other accounts are untouched."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.audit.selectors import draft_line_why
from budgeting.deals.services import sales_pipeline_import_csv
from budgeting.drafts.services import draft_create_rolling
from budgeting.models import DraftBalance, DraftLine
from budgeting.variance.services import organisation_variance_refresh
from core.money import money
from tests.budgeting.screens import login, text

pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
DECEMBER = dt.date(2026, 12, 1)
# North's sales run at 20,000 a month against a tracking budget of 15,000 from November, so
# the draft suggests a figure for the North line (tests/budgeting/draft_data.py).
PIPELINE = (
    b"deal,amount,probability,close_month,tracking_option\nMarina fit-out,30000,100,2026-12,North\n"
)


def _draft(cast):
    organisation_variance_refresh(firm=cast.firm, organisation=cast.organisation)
    return draft_create_rolling(firm=cast.firm, organisation=cast.organisation).draft


def _north(cast, draft, organisation):
    return DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account__code="200", tracking_option=organisation.option
    )


def test_a_revenue_line_suggests_the_blend_and_records_it(
    client, firm_a, organisation_a, firm_b, organisation_b
):
    upload = sales_pipeline_import_csv(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        data=PIPELINE,
        file_name="crm.csv",
        user=None,
    )
    draft = _draft(firm_a)
    north = _north(firm_a, draft, organisation_a)
    kept = north.provenance["sales_pipeline"]
    assert (kept["upload_id"], kept["version"], kept["weight"], kept["tested"]) == (
        upload.pk,
        1,
        "0.50",
        False,
    )
    months = {m["period"]: m for m in kept["months"]}
    december = months[DECEMBER.isoformat()]
    statistical = Decimal(december["statistical"])
    assert 19000 < statistical < 21000
    assert december["pipeline"] == "30000.00"
    assert Decimal(december["suggested"]) == money((statistical + Decimal(30000)) / 2)
    balance = DraftBalance.objects.for_firm(firm_a.firm).get(line=north, period=DECEMBER)
    assert balance.suggested_amount == Decimal(december["suggested"])
    # The interval moves with the blend.
    assert balance.lo_80 < balance.suggested_amount < balance.hi_80
    # Other months have no deal: the statistical figure stands.
    november = months["2026-11-01"]
    assert november["pipeline"] is None and november["suggested"] == november["statistical"]
    assert "sales pipeline v1 at weight 0.50" in north.history.first().history_change_reason
    # Reproduced from the record alone, blend included.
    assert draft_line_why(firm=firm_a.firm, line=north).reproduced is True
    # An expense line is not blended.
    advertising = DraftLine.objects.for_firm(firm_a.firm).get(
        draft=draft, account__code="400", tracking_option=None
    )
    assert "sales_pipeline" not in advertising.provenance

    login(client, firm_a)
    address = reverse(
        "draft_line_detail", args=[firm_a.firm.slug, firm_a.organisation.pk, draft.pk, north.pk]
    )
    page = text(client.get(address))
    assert "sales pipeline v1</a> at weight <strong>0.50</strong>" in page
    assert "NZ$30,000.00" in page
    login(client, firm_b)
    assert client.get(address).status_code == 404


def test_firm_bs_pipeline_never_moves_firm_as_draft(firm_a, organisation_a, firm_b, organisation_b):
    sales_pipeline_import_csv(
        firm=firm_b.firm,
        organisation=firm_b.organisation,
        data=PIPELINE,
        file_name="crm.csv",
        user=None,
    )
    north = _north(firm_a, _draft(firm_a), organisation_a)
    assert "sales_pipeline" not in north.provenance
