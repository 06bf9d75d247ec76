"""Celery tasks of report packs: take ids (the firm's first), call one service, safe to run
twice. Names are budgeting.tasks.* (the beat schedule and core.tasks.enqueue find them by name).
"""

import datetime as dt
import logging
import smtplib

from celery import shared_task

from tenants.models import Firm

logger = logging.getLogger(__name__)

# A close's pack waits for the close's forecast run (its forecast and draft belong in the pack):
# checked every minute, for at most half an hour, then built with what there is.
FORECAST_WAIT_SECONDS = 60
FORECAST_WAIT_TRIES = 30
# A mail server that is down or refuses us is retried 6 times, within 1, 2, 4, 8, 16 and 32
# minutes, then the delivery shows "Failed" with the server's message on the packs screen.
SEND_RETRIES = 6


@shared_task(bind=True, acks_late=True, name="budgeting.tasks.report_pack_after_close_task")
def report_pack_after_close_task(self, firm_id: int, organisation_id: int, period: str) -> str:
    from budgeting.packs.services import forecast_run_active, report_pack_after_close_run
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    if (
        forecast_run_active(firm=firm, organisation=organisation)
        and self.request.retries < FORECAST_WAIT_TRIES
    ):
        raise self.retry(countdown=FORECAST_WAIT_SECONDS, max_retries=FORECAST_WAIT_TRIES)
    pack = report_pack_after_close_run(
        firm=firm, organisation=organisation, period=dt.date.fromisoformat(period)
    )
    return pack.state


@shared_task(bind=True, acks_late=True, name="budgeting.tasks.pack_delivery_send_task")
def pack_delivery_send_task(self, firm_id: int, delivery_id: int) -> str:
    """Send one delivery; a duplicate message finds it claimed or sent and does nothing."""
    from budgeting.packs.services import (
        pack_delivery_claim,
        pack_delivery_failed,
        pack_delivery_send,
    )

    firm = Firm.objects.get(pk=firm_id)
    delivery = pack_delivery_claim(firm=firm, delivery_id=delivery_id)
    if delivery is None:
        return "not claimed"
    try:
        return pack_delivery_send(firm=firm, delivery=delivery).state
    except (smtplib.SMTPException, OSError) as exc:
        final = self.request.retries >= SEND_RETRIES
        pack_delivery_failed(firm=firm, delivery_id=delivery_id, error=str(exc), final=final)
        if final:
            logger.warning("Report pack delivery %s failed for good: %s", delivery_id, exc)
            return "failed"
        raise self.retry(
            exc=exc, countdown=min(60 * 2**self.request.retries, 3600), max_retries=SEND_RETRIES
        ) from exc
    except Exception as exc:
        # A pack that cannot be built (never synced, a rendering bug) will not build on a retry.
        pack_delivery_failed(firm=firm, delivery_id=delivery_id, error=str(exc), final=True)
        raise


@shared_task(acks_late=True, name="budgeting.tasks.report_packs_due_task")
def report_packs_due_task() -> int:
    """Beat, hourly: fan out one run per firm."""
    firm_ids = list(Firm.objects.values_list("pk", flat=True))
    for firm_id in firm_ids:
        report_packs_due_firm_task.delay(firm_id)
    return len(firm_ids)


@shared_task(acks_late=True, name="budgeting.tasks.report_packs_due_firm_task")
def report_packs_due_firm_task(firm_id: int) -> int:
    from budgeting.packs.services import packs_due_queue

    return packs_due_queue(firm=Firm.objects.get(pk=firm_id))
