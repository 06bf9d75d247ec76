"""Celery tasks of syncing with Xero: take ids (the firm's first), call one service.

The names keep the module they were first registered in (integrations.xero.tasks.*): queued
messages and the beat schedule find them by name.

Safe to run twice: a sync run is claimed with a conditional update before any work starts.
"""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from tenants.models import Firm


# A database connection dropped before the run was claimed (or while recording its end) is
# tried again on a new connection (Celery's Django fixup closes the broken one after the task):
# within 5, 10, 20, 40 and 80 seconds. The claim makes a retry of a run already taken a no-op.
@shared_task(
    acks_late=True,
    name="integrations.xero.tasks.xero_sync_organisation",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_jitter=False,
    max_retries=5,
)
def xero_sync_organisation(firm_id: int, run_id: int) -> str:
    from budgeting.ledger.models import SyncRun
    from budgeting.ledger.signals import sync_succeeded
    from budgeting.ledger.sync import organisation_sync

    firm = Firm.objects.get(pk=firm_id)
    run = organisation_sync(firm=firm, run_id=run_id)
    if run.state == SyncRun.State.SUCCEEDED:
        sync_succeeded.send(
            sender=None,
            firm_id=firm_id,
            organisation_id=run.organisation_id,
            closed="closed_up_to" in run.counts,
        )
    return run.state


@shared_task(acks_late=True, name="integrations.xero.tasks.xero_poll_period_lock_dates")
def xero_poll_period_lock_dates() -> int:
    """Beat: Xero has no webhook for month close, so look at every organisation's lock date."""
    from budgeting.ledger.close import period_lock_checks_enqueue

    return period_lock_checks_enqueue()


@shared_task(acks_late=True, name="integrations.xero.tasks.xero_check_period_lock")
def xero_check_period_lock(firm_id: int, organisation_id: int) -> bool:
    from budgeting.ledger.close import organisation_period_lock_check

    firm = Firm.objects.get(pk=firm_id)
    return organisation_period_lock_check(firm=firm, organisation_id=organisation_id)


@shared_task(acks_late=True, name="integrations.xero.tasks.xero_webhook_process")
def xero_webhook_process(delivery_id: int) -> int:
    from budgeting.ledger.webhooks import webhook_delivery_process

    return webhook_delivery_process(delivery_id=delivery_id)
