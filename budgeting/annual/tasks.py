"""Celery tasks of annual drafts: take ids (the firm's first), call one service, safe to run
twice (a year is drafted once: the second run finds it drafted and does nothing)."""

import logging

from celery import shared_task

from tenants.models import Firm

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, name="budgeting.tasks.annual_draft_create_task")
def annual_draft_create_task(
    firm_id: int,
    organisation_id: int,
    financial_year: int,
    user_id: int | None = None,
    departure_percent: str | None = None,
    supersede_id: int | None = None,
) -> int | None:
    """Draft an organisation's financial year (again, superseding the annual draft
    `supersede_id`); the draft's id, or None when it was not made (drafted already, superseded
    already, no history: the reason is logged)."""
    from decimal import Decimal

    from budgeting.annual.models import AnnualDraft
    from budgeting.annual.services import AnnualDraftError, annual_draft_create
    from tenants.models import ClientOrganisation, User

    firm = Firm.objects.get(pk=firm_id)
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    supersede = (
        AnnualDraft.objects.for_firm(firm)
        .filter(organisation=organisation, pk=supersede_id)
        .first()
        if supersede_id
        else None
    )
    try:
        annual = annual_draft_create(
            firm=firm,
            organisation=organisation,
            user=user,
            financial_year=financial_year,
            departure_percent=Decimal(departure_percent) if departure_percent else None,
            supersede=supersede,
        )
    except AnnualDraftError as exc:
        logger.info("FY%s of %s not drafted: %s", financial_year, organisation, exc)
        return None
    return annual.draft_id
