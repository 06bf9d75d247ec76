"""Xero webhooks: verify, record, enqueue; the work happens in a task.

Xero's rules (developer.xero.com/documentation/webhooks/configuring-your-server): the signature
is base64(HMAC-SHA256(raw body, webhook key)) in x-xero-signature; answer 401 to a bad
signature and 200 with no body to a good one, within 5 seconds. The Intent to Receive check is
a series of deliveries with no events, some signed badly, and is answered by the same rules.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.ledger.models import SyncRun
from integrations.models import XeroTenant, XeroWebhookDelivery, XeroWebhookEvent


def webhook_signature_valid(*, body: bytes, signature: str) -> bool:
    key = settings.XERO_WEBHOOK_KEY
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def webhook_delivery_record(*, body: bytes) -> XeroWebhookDelivery | None:
    """Record a verified delivery and its events; None when it was already received."""
    from integrations.xero.tasks import xero_webhook_process

    payload = json.loads(body)
    events = payload.get("events") or []
    if not events:
        return None  # Intent to Receive, or an empty delivery: nothing to do.
    body_hash = hashlib.sha256(body).hexdigest()
    with transaction.atomic():
        delivery, created = XeroWebhookDelivery.objects.get_or_create(
            body_hash=body_hash, defaults={"body": payload}
        )
        if not created:
            return None  # the same delivery again
        new_events = 0
        for event in events:
            try:
                with transaction.atomic():
                    XeroWebhookEvent.objects.create(
                        delivery=delivery,
                        tenant_id=event.get("tenantId", ""),
                        event_category=event.get("eventCategory", ""),
                        event_type=event.get("eventType", ""),
                        resource_id=event.get("resourceId", ""),
                        event_date_utc=event.get("eventDateUtc", ""),
                    )
                new_events += 1
            except IntegrityError:
                continue  # an event Xero already delivered before
        if new_events:
            xero_webhook_process.delay_on_commit(delivery.pk)
        else:
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["processed_at"])
    return delivery


def webhook_delivery_process(*, delivery_id: int) -> int:
    """Refresh the transactions and open-month actuals of every organisation concerned."""
    from integrations.xero.sync import organisation_sync_start

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
