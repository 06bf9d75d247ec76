"""What follows a successful sync of an organisation: the post-close pipeline.

Every sync: forecast budgets a person added in Xero since are found by name, budgets published
as import files are checked against what Xero now holds (and their originals against what they
held), the last closed month's variances are measured and explained, and kept forecasts are
scored against the actuals that arrived. After a month close (the lock date moved forward in this sync): a rolling
Forecast draft is queued.
"""

from celery import shared_task

from budgeting.drafts.services import organisation_forecast_after_sync
from budgeting.publishing.services import budget_publications_verify, forecast_budgets_find
from budgeting.variance.services import organisation_variance_refresh
from tenants.models import ClientOrganisation, Firm


def organisation_after_sync(*, firm: Firm, organisation: ClientOrganisation, closed: bool) -> None:
    forecast_budgets_find(firm=firm, organisation=organisation)
    budget_publications_verify(firm=firm, organisation=organisation)
    organisation_variance_refresh(firm=firm, organisation=organisation)
    organisation_forecast_after_sync(firm=firm, organisation=organisation, closed=closed)


@shared_task(acks_late=True, name="budgeting.tasks.organisation_after_sync_task")
def organisation_after_sync_task(firm_id: int, organisation_id: int, closed: bool) -> None:
    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    organisation_after_sync(firm=firm, organisation=organisation, closed=closed)


def _after_sync(sender, *, firm_id: int, organisation_id: int, closed: bool, **kwargs) -> None:
    """budgeting.ledger.signals.sync_succeeded: run the pipeline from a worker of its own."""
    organisation_after_sync_task.delay(firm_id, organisation_id, closed)


def connect() -> None:
    from budgeting.ledger.signals import sync_succeeded
    from budgeting.publishing.selectors import forecast_budget_synced
    from budgeting.variance.comparisons import forecast_budget_lookup_register

    sync_succeeded.connect(_after_sync, dispatch_uid="budgeting.pipeline.after_sync")
    # The variance report compares actuals with the forecast budget too, once there is one;
    # variance sits below publishing, so publishing's lookup is handed down here.
    forecast_budget_lookup_register(forecast_budget_synced)
