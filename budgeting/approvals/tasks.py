"""Celery tasks of approvals: step emails, reminders and digests. They take ids (the firm's
first), call one service, and are safe to run twice. Names stay budgeting.tasks.* (queued
messages and the beat schedule find them by name)."""

import smtplib

from celery import shared_task

from tenants.models import Firm


# A mail server that is down or refuses us (SMTPException is an OSError, as are timeouts and
# refused connections) is retried 6 times, within 1, 2, 4, 8, 16 and 32 minutes (full jitter),
# then left: the step stays unmarked, so its approvers still get its first reminder
# (approval_reminders_send) after APPROVAL_REMINDER_DAYS.
@shared_task(
    acks_late=True,
    name="budgeting.tasks.approval_step_notify_task",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=60 * 60,
    max_retries=6,
)
def approval_step_notify_task(firm_id: int, step_id: int) -> int:
    """Email a newly opened step's approvers. Does nothing when the step was decided or the round
    restarted before the task ran, or when the email has already gone out."""
    from budgeting.approvals.services import approval_step_notify

    return approval_step_notify(firm=Firm.objects.get(pk=firm_id), step_id=step_id)


@shared_task(acks_late=True, name="budgeting.tasks.approval_reminders_task")
def approval_reminders_task() -> int:
    """Beat: fan out one reminder run per firm, so one firm's mail server trouble does not hold
    up the others."""
    firm_ids = list(Firm.objects.values_list("pk", flat=True))
    for firm_id in firm_ids:
        approval_reminders_firm_task.delay(firm_id)
    return len(firm_ids)


@shared_task(acks_late=True, name="budgeting.tasks.approval_reminders_firm_task")
def approval_reminders_firm_task(firm_id: int) -> int:
    from budgeting.approvals.reminders import approval_reminders_send

    return approval_reminders_send(firm=Firm.objects.get(pk=firm_id))


@shared_task(acks_late=True, name="budgeting.tasks.approval_digests_task")
def approval_digests_task() -> int:
    """Beat, daily: fan out one digest run per firm."""
    firm_ids = list(Firm.objects.values_list("pk", flat=True))
    for firm_id in firm_ids:
        approval_digests_firm_task.delay(firm_id)
    return len(firm_ids)


@shared_task(acks_late=True, name="budgeting.tasks.approval_digests_firm_task")
def approval_digests_firm_task(firm_id: int) -> int:
    from budgeting.approvals.reminders import approval_digests_send

    return approval_digests_send(firm=Firm.objects.get(pk=firm_id))
