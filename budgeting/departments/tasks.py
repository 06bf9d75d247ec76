"""Celery tasks of drafts by department. They take ids (the firm's first), call one service, and
are safe to run twice (a second run sends the link again: a fresh token, the same rights)."""

import smtplib

from celery import shared_task

from tenants.models import Firm


# A mail server that is down is retried, as approvals' emails are.
@shared_task(
    acks_late=True,
    name="budgeting.tasks.department_link_send_task",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=60,
    retry_backoff_max=60 * 60,
    max_retries=6,
)
def department_link_send_task(firm_id: int, assignment_id: int) -> int:
    """Email a department's manager their link."""
    from budgeting.departments.services import department_link_send

    return department_link_send(firm=Firm.objects.get(pk=firm_id), assignment_id=assignment_id)
