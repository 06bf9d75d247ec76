"""Past forecasts for an organisation that has just been connected: what the engine would have
forecast from each of the last few closed months, kept and scored against the actuals that came
after, so forecast accuracy has something to show from the first day (the demo uses it).

Each forecast is fitted on that organisation's own history up to the month it is "made", never
on later months and never on another client's data (Xero's terms: no pooled models)."""

from __future__ import annotations

from django.db import transaction

from budgeting.drafts.selectors import forecast_last_closed, forecast_lines_load
from budgeting.drafts.services import (
    _threshold,
    forecast_records_score,
    forecast_records_store,
    line_analyse,
)
from budgeting.ledger.models import XeroOrganisation
from budgeting.variance.selectors import materiality_thresholds
from core.months import add_months
from tenants.models import ClientOrganisation, Firm


def forecast_records_backfill(
    *, firm: Firm, organisation: ClientOrganisation, months_back: int = 3, horizon: int = 3
) -> int:
    """Keep the forecasts made from each of the `months_back` closed months before the last
    one, `horizon` months ahead (only months that have closed since), then score them. Returns
    how many forecast months were scored. Running it again replaces nothing already scored."""
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    last_closed = forecast_last_closed(profile)
    if profile is None or last_closed is None:
        return 0
    materiality = materiality_thresholds(firm=firm, organisation=organisation)
    for back in range(months_back, 0, -1):
        made_at = add_months(last_closed, -back)
        ahead = min(horizon, back)  # only months whose actual is in
        loaded = forecast_lines_load(
            firm=firm,
            organisation=organisation,
            profile=profile,
            last_closed=made_at,
            horizon=ahead,
        )
        analysed = [
            line_analyse(
                series=series,
                first=loaded.first_month,
                last_closed=made_at,
                horizon=ahead,
                threshold=_threshold(materiality, series),
                in_scope=True,
            )
            for series in loaded.lines
            if any(v for m, v in series.actuals.items() if m <= made_at)
        ]
        with transaction.atomic():
            forecast_records_store(
                firm=firm, organisation=organisation, last_closed=made_at, lines=analysed
            )
    return forecast_records_score(firm=firm, organisation=organisation).scored
