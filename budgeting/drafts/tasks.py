"""Celery tasks of forecast runs and drafts: take ids (the firm's first), call one service, safe
to run twice. A forecast run is claimed with a conditional update before any work starts, so a
task delivered twice (acks_late) does the work once.

Task names keep their first module's path (budgeting.tasks.*): messages already queued, and the
beat schedule, find them by name.
"""

from celery import shared_task

from tenants.models import Firm


@shared_task(acks_late=True, name="budgeting.tasks.draft_create_rolling_task")
def draft_create_rolling_task(
    firm_id: int, organisation_id: int, run_id: int | None = None, source: str = "close"
) -> str:
    """Forecast an organisation and draft its rolling Forecast; without a run (the post-close
    pipeline), one is started first."""
    from budgeting.drafts.models import Draft
    from budgeting.drafts.services import forecast_run_execute, forecast_run_start
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    if run_id is None:
        organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
        run = forecast_run_start(
            firm=firm,
            organisation=organisation,
            source=source or Draft.Source.CLOSE,
            enqueue=False,
        )
        run_id = run.pk
    return forecast_run_execute(firm=firm, run_id=run_id).state


@shared_task(acks_late=True, name="budgeting.tasks.forecast_records_score_task")
def forecast_records_score_task(firm_id: int, organisation_id: int) -> int:
    from budgeting.drafts.services import forecast_records_score
    from tenants.models import ClientOrganisation

    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    return forecast_records_score(firm=firm, organisation=organisation).scored
