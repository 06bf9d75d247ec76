"""A newly connected organisation's forecast accuracy has data from the first day: the forecasts
the engine would have made from each of the last closed months, fitted on the history up to
then only, scored against the actuals that came after."""

import datetime as dt

from django.urls import reverse

from budgeting.drafts.forecast_history import forecast_records_backfill
from budgeting.models import ForecastRecord
from tenants.roles import Role
from tests.budgeting.draft_data import draft_organisation_create


def test_past_forecasts_are_kept_and_scored_against_later_actuals(client, firm_a, firm_b):
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)

    scored = forecast_records_backfill(firm=firm_a.firm, organisation=firm_a.organisation)
    again = forecast_records_backfill(firm=firm_a.firm, organisation=firm_a.organisation)

    records = ForecastRecord.objects.for_firm(firm_a.firm).filter(organisation=firm_a.organisation)
    # Made from July, August and September 2026 (October is the last closed month), up to
    # three months ahead and never past October: 3 + 3 + 2... per line, each scored.
    assert {r.made_at for r in records} == {
        dt.date(2026, 7, 1),
        dt.date(2026, 8, 1),
        dt.date(2026, 9, 1),
    }
    assert max(r.target for r in records) == dt.date(2026, 10, 1)
    assert all(r.actual is not None and r.target > r.made_at for r in records)
    assert scored == records.count() > 0 and again == 0  # a second run adds nothing
    assert not ForecastRecord.objects.for_firm(firm_b.firm).exists()

    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(
        reverse("forecast_accuracy", args=[firm_a.firm.slug, firm_a.organisation.pk])
    ).content.decode()
    assert f"<strong>{scored}</strong> forecast months scored" in page
    assert "No forecast month has closed yet" not in page
