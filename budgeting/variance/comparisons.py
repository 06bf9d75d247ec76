"""The second budget actuals are compared with, beside the original: the organisation's forecast
budget, once one exists in Xero.

Which budget that is, publishing knows, and publishing sits above variance. So it registers its
lookup at start-up (`budgeting.pipeline.connect`, from BudgetingConfig.ready), as a receiver
connects to a signal: variance asks through this module and never imports publishing. With no
lookup registered there is no forecast budget, and the report shows the original alone.
"""

from __future__ import annotations

from collections.abc import Callable

from budgeting.ledger.models import Budget
from tenants.models import ClientOrganisation, Firm

ForecastBudgetLookup = Callable[..., Budget | None]

_lookup: ForecastBudgetLookup | None = None


def forecast_budget_lookup_register(lookup: ForecastBudgetLookup | None) -> None:
    """`lookup(firm=, organisation=, original=)` returns the forecast budget beside `original`
    as synced, or None."""
    global _lookup
    _lookup = lookup


def forecast_budget_beside(
    *, firm: Firm, organisation: ClientOrganisation, original: Budget | None
) -> Budget | None:
    if _lookup is None or original is None:
        return None
    return _lookup(firm=firm, organisation=organisation, original=original)
