"""Celery tasks of alerts: take ids (the firm's first), call one service, safe to run twice
(changes and deliveries are claimed with conditional updates; an alert step is unique)."""

from celery import shared_task
from django.db import IntegrityError, InterfaceError, OperationalError

from integrations.xero.errors import XeroUnavailable
from tenants.models import ClientOrganisation, Firm

# A batch that failed gave its changes back: retried within 5, 10, 20, 40 and 80 seconds.
_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError, IntegrityError, XeroUnavailable),
    "retry_backoff": 5,
    "retry_jitter": False,
    "max_retries": 5,
}


def _organisation(firm_id: int, organisation_id: int):
    firm = Firm.objects.get(pk=firm_id)
    return firm, ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)


@shared_task(acks_late=True, name="budgeting.tasks.alerts_documents_fetch_task", **_RETRY)
def alerts_documents_fetch_task(firm_id: int, organisation_id: int) -> int:
    from budgeting.alerts.services import document_batches_fetch, document_fetch_flag_clear

    # Cleared before the claim: a change recorded from now on queues the next fetch.
    document_fetch_flag_clear(organisation_id=organisation_id)
    firm, organisation = _organisation(firm_id, organisation_id)
    return len(document_batches_fetch(firm=firm, organisation=organisation))


@shared_task(acks_late=True, name="budgeting.tasks.alerts_poll_task")
def alerts_poll_task() -> int:
    """Beat: bank transactions and manual journals have no webhook; poll them."""
    from budgeting.alerts.services import polls_enqueue

    return polls_enqueue()


@shared_task(acks_late=True, name="budgeting.tasks.alerts_poll_organisation_task", **_RETRY)
def alerts_poll_organisation_task(firm_id: int, organisation_id: int) -> int:
    from budgeting.alerts.services import organisation_poll

    firm, organisation = _organisation(firm_id, organisation_id)
    return len(organisation_poll(firm=firm, organisation=organisation))


@shared_task(
    acks_late=True,
    name="budgeting.tasks.alert_deliveries_send_task",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def alert_deliveries_send_task(firm_id: int, alert_id: int) -> int:
    from budgeting.alerts.services import alert_deliveries_send

    return alert_deliveries_send(firm=Firm.objects.get(pk=firm_id), alert_id=alert_id)


@shared_task(acks_late=True, name="budgeting.tasks.alert_deliveries_due_task")
def alert_deliveries_due_task() -> int:
    """Beat: send what quiet hours, a snooze or a retry's wait held back."""
    from budgeting.alerts.services import alert_deliveries_due

    return alert_deliveries_due()


@shared_task(acks_late=True, name="budgeting.tasks.cash_alerts_evaluate_task")
def cash_alerts_evaluate_task(firm_id: int, organisation_id: int) -> int:
    """After a sync or a new cash threshold: the cash rules against the projection. Safe
    twice: each step is raised once per rule and month."""
    from budgeting.alerts.services import cash_alerts_evaluate

    firm, organisation = _organisation(firm_id, organisation_id)
    return len(cash_alerts_evaluate(firm=firm, organisation=organisation))
