"""Celery tasks of budgeting: take ids (the firm's first), call one service, safe to run twice.

A forecast run is claimed with a conditional update before any work starts, so a task delivered
twice (acks_late) does the work once.
"""

import smtplib

from celery import shared_task

from tenants.models import Firm


@shared_task(acks_late=True, name="budgeting.tasks.proposal_create_rolling_task")
def proposal_create_rolling_task(
    firm_id: int, organisation_id: int, run_id: int | None = None, source: str = "close"
) -> str:
    """Forecast an organisation and draft its rolling Forecast; without a run (the post-close
    pipeline), one is started first."""
    from budgeting.models import Proposal
    from budgeting.proposals import forecast_run_execute, forecast_run_start
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    if run_id is None:
        organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
        run = forecast_run_start(
            firm=firm,
            organisation=organisation,
            source=source or Proposal.Source.CLOSE,
            enqueue=False,
        )
        run_id = run.pk
    return forecast_run_execute(firm=firm, run_id=run_id).state


@shared_task(acks_late=True, name="budgeting.tasks.forecast_records_score_task")
def forecast_records_score_task(firm_id: int, organisation_id: int) -> int:
    from budgeting.proposals import forecast_records_score
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    return forecast_records_score(firm=firm, organisation=organisation).scored


@shared_task(acks_late=True, name="budgeting.tasks.organisation_after_sync_task")
def organisation_after_sync_task(firm_id: int, organisation_id: int, closed: bool) -> None:
    from budgeting.pipeline import organisation_after_sync
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    organisation_after_sync(firm=firm, organisation=organisation, closed=closed)


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
    from budgeting.approvals import approval_step_notify

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
    from budgeting.approval_reminders import approval_reminders_send

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
    from budgeting.approval_reminders import approval_digests_send

    return approval_digests_send(firm=Firm.objects.get(pk=firm_id))


@shared_task(acks_late=True, name="budgeting.tasks.budget_publication_send_task")
def budget_publication_send_task(firm_id: int, publication_id: int) -> None:
    """Email an import file to whoever made it."""
    from budgeting.models import BudgetPublication
    from budgeting.publishing_services import budget_publication_send

    firm = Firm.objects.get(pk=firm_id)
    publication = BudgetPublication.objects.for_firm(firm).filter(pk=publication_id).first()
    if publication is not None:
        budget_publication_send(publication=publication)
