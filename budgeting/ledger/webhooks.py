"""What a Xero webhook delivery sets off: a transactions sync of every organisation concerned.

integrations/xero/webhooks.py verifies and records deliveries (Xero's 5-second rule); the
recorded delivery is processed here, from a task, because starting a sync is the ledger's job.
"""

from __future__ import annotations

from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.ledger.models import SyncRun
from budgeting.ledger.sync import organisation_sync_start
from integrations.models import XeroTenant, XeroWebhookDelivery


def webhook_delivery_process(*, delivery_id: int) -> int:
    """Refresh the transactions and open-month actuals of every organisation concerned."""
    delivery = XeroWebhookDelivery.objects.get(pk=delivery_id)
    if delivery.processed_at is not None:
        return 0
    tenant_ids = set(delivery.events.values_list("tenant_id", flat=True))
    # Unscoped on purpose: Xero's tenant id names the organisation in every firm that linked it.
    with scopes_disabled():
        tenants = list(
            XeroTenant.objects.select_related("firm", "client_organisation").filter(
                tenant_id__in=tenant_ids,
                status=XeroTenant.Status.CONNECTED,
                client_organisation__isnull=False,
            )
        )
    started = 0
    for tenant in tenants:
        organisation_sync_start(
            firm=tenant.firm,
            organisation=tenant.client_organisation,
            trigger=SyncRun.Trigger.WEBHOOK,
            kind=SyncRun.Kind.TRANSACTIONS,
        )
        started += 1
    XeroWebhookDelivery.objects.filter(pk=delivery.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), syncs_started=started
    )
    return started
