"""What a Xero webhook delivery sets off: the changed documents of every organisation concerned
are handed to whoever fetches them (budgeting.alerts, through `documents_changed`).

integrations/xero/webhooks.py verifies and records deliveries (Xero's 5-second rule); the
recorded delivery is processed here, from a task. A delivery no longer starts a sync per
organisation: a burst of deliveries would start one full transactions sync after another. The
documents are fetched by their ids in batches instead (one call per batch), and the month's
close still brings the P&L that replaces the provisional figures.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.ledger.signals import documents_changed
from integrations.models import XeroTenant, XeroWebhookDelivery

# Webhook categories with documents that post to the P&L, and the endpoint that lists them.
DOCUMENT_CATEGORIES = {"INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}


def webhook_delivery_process(*, delivery_id: int) -> int:
    """Hand each organisation concerned its changed documents; returns how many organisations.

    One transaction with the receivers' writes, the delivery's row locked: run twice (a
    redelivered task), the second run finds it processed; killed half way, nothing is marked."""
    with transaction.atomic():
        delivery = XeroWebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.processed_at is not None:
            return 0
        return _process(delivery)


def _process(delivery: XeroWebhookDelivery) -> int:
    changes: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for tenant_id, category, resource_id in delivery.events.values_list(
        "tenant_id", "event_category", "resource_id"
    ):
        endpoint = DOCUMENT_CATEGORIES.get(category)
        if endpoint and resource_id:
            changes[tenant_id].add((endpoint, resource_id))
    # Unscoped on purpose: Xero's tenant id names the organisation in every firm that linked it.
    with scopes_disabled():
        tenants = list(
            XeroTenant.objects.select_related("firm", "client_organisation").filter(
                tenant_id__in=set(changes),
                status=XeroTenant.Status.CONNECTED,
                client_organisation__isnull=False,
            )
        )
    notified = 0
    for tenant in tenants:
        documents_changed.send(
            sender=None,
            firm_id=tenant.firm_id,
            organisation_id=tenant.client_organisation_id,
            received_at=delivery.received_at,
            changes=sorted(changes[tenant.tenant_id]),
        )
        notified += 1
    XeroWebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), syncs_started=notified
    )
    return notified
