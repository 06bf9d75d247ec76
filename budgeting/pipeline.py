"""What follows a successful sync of an organisation: the post-close pipeline.

Every sync: budgets published as import files are checked against what Xero now holds, the last
closed month's variances are measured and explained, and kept forecasts are scored against the
actuals that arrived. After a month close (the lock date moved forward in this sync): a rolling
Forecast draft is queued.
"""

from budgeting.proposals import organisation_forecast_after_sync
from budgeting.publishing_services import budget_publications_verify
from budgeting.variance_services import organisation_variance_refresh
from tenants.models import ClientOrganisation, Firm


def organisation_after_sync(*, firm: Firm, organisation: ClientOrganisation, closed: bool) -> None:
    budget_publications_verify(firm=firm, organisation=organisation)
    organisation_variance_refresh(firm=firm, organisation=organisation)
    organisation_forecast_after_sync(firm=firm, organisation=organisation, closed=closed)
