"""Alerts listen to the ledger: a webhook's changed documents are queued for a batched fetch."""

from django.dispatch import receiver

from budgeting.alerts.services import document_changes_record
from budgeting.ledger.signals import documents_changed


@receiver(documents_changed, dispatch_uid="alerts_documents_changed")
def _documents_changed(sender, *, firm_id, organisation_id, received_at, changes, **kwargs):
    document_changes_record(
        firm_id=firm_id, organisation_id=organisation_id, received_at=received_at, changes=changes
    )
