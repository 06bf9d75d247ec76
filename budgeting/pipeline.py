"""What follows a successful sync of an organisation: the post-close pipeline.

Every sync: forecast budgets a person added in Xero since are found by name, budgets published
as import files are checked against what Xero now holds (and their originals against what they
held), the last closed month's variances are measured and explained, and kept forecasts are
scored against the actuals that arrived. After a month close (the lock date moved forward in this sync): a rolling
Forecast draft is queued, then the closed month's report pack (budgeting/packs/).
"""

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from budgeting.alerts.services import cash_alerts_evaluate
from budgeting.approvals.reminders import approval_notifications_resend
from budgeting.drafts.models import ForecastRun
from budgeting.drafts.services import forecast_runs_recover, organisation_forecast_after_sync
from budgeting.ledger.models import SyncRun
from budgeting.ledger.sync import sync_runs_recover
from budgeting.packs.services import report_pack_after_close
from budgeting.publishing.services import budget_publications_verify, forecast_budgets_find
from budgeting.variance.services import organisation_variance_refresh
from tenants.models import ClientOrganisation, Firm


def organisation_after_sync(*, firm: Firm, organisation: ClientOrganisation, closed: bool) -> None:
    forecast_budgets_find(firm=firm, organisation=organisation)
    budget_publications_verify(firm=firm, organisation=organisation)
    organisation_variance_refresh(firm=firm, organisation=organisation)
    organisation_forecast_after_sync(firm=firm, organisation=organisation, closed=closed)
    # Cash projected from the balance sheet just synced and the forecast P&L.
    cash_alerts_evaluate(firm=firm, organisation=organisation)
    if closed:
        # The closed month's report pack, built once the close's forecast and draft are made.
        report_pack_after_close(firm=firm, organisation=organisation)


@shared_task(acks_late=True, name="budgeting.tasks.organisation_after_sync_task")
def organisation_after_sync_task(firm_id: int, organisation_id: int, closed: bool) -> None:
    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    organisation_after_sync(firm=firm, organisation=organisation, closed=closed)


def pipeline_runs_recover(*, firm: Firm) -> int:
    """The pipeline of a month close whose message was lost (a Redis restart between the sync's
    end and a worker taking it) is sent again: a sync that saw a close and finished more than
    FORECAST_RUN_QUEUED_SECONDS ago with no forecast run of its close since. Returns how many."""
    grace = timezone.now() - dt.timedelta(seconds=settings.FORECAST_RUN_QUEUED_SECONDS)
    closes = (
        SyncRun.objects.for_firm(firm)
        .filter(state=SyncRun.State.SUCCEEDED, counts__has_key="closed_up_to")
        .values("organisation_id")
        .annotate(finished=Max("finished_at"))
        .filter(finished__lt=grace)
    )
    sent = 0
    for close in closes:
        # Any forecast run alive at the close's end or started since covers it (the pipeline
        # hands a close to a run already under way rather than starting a second).
        covered = (
            ForecastRun.objects.for_firm(firm)
            .filter(organisation_id=close["organisation_id"])
            .filter(
                Q(created_at__gte=close["finished"])
                | Q(finished_at__isnull=True)
                | Q(finished_at__gte=close["finished"])
            )
            .exists()
        )
        if not covered:
            organisation_after_sync_task.delay(firm.pk, close["organisation_id"], True)
            sent += 1
    return sent


@shared_task(acks_late=True, name="budgeting.tasks.work_recover_task")
def work_recover_task() -> dict[str, int]:
    """Beat: work a lost worker or a lost message left undone is taken up again, firm by firm."""
    done = {"syncs": 0, "forecasts": 0, "pipelines": 0, "sign_off_emails": 0}
    for firm in Firm.objects.all():
        done["syncs"] += sync_runs_recover(firm=firm)["requeued"]
        done["forecasts"] += forecast_runs_recover(firm=firm)["requeued"]
        done["pipelines"] += pipeline_runs_recover(firm=firm)
        done["sign_off_emails"] += approval_notifications_resend(firm=firm)
    return done


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
