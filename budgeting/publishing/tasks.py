"""Celery tasks of publishing: take ids (the firm's first), call one service. Names stay
budgeting.tasks.* (queued messages find them by name)."""

from celery import shared_task

from tenants.models import Firm


@shared_task(acks_late=True, name="budgeting.tasks.budget_publication_send_task")
def budget_publication_send_task(firm_id: int, publication_id: int) -> None:
    """Email an import file to whoever made it."""
    from budgeting.publishing.models import BudgetPublication
    from budgeting.publishing.services import budget_publication_send

    firm = Firm.objects.get(pk=firm_id)
    publication = BudgetPublication.objects.for_firm(firm).filter(pk=publication_id).first()
    if publication is not None:
        budget_publication_send(publication=publication)


@shared_task(acks_late=True, name="budgeting.tasks.budget_publication_differences_task")
def budget_publication_differences_task(firm_id: int, publication_id: int) -> None:
    """Tell the preparer what the last sync found different from a file."""
    from budgeting.publishing.models import BudgetPublication
    from budgeting.publishing.services import budget_publication_differences_send

    firm = Firm.objects.get(pk=firm_id)
    publication = (
        BudgetPublication.objects.for_firm(firm)
        .filter(pk=publication_id)
        .select_related("draft__created_by", "created_by", "organisation", "firm")
        .first()
    )
    if publication is not None:
        budget_publication_differences_send(publication=publication)
