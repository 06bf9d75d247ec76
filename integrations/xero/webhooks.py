"""Xero webhooks: verify, record, enqueue; the work happens in a task (budgeting/ledger/webhooks.py).

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

from core.tasks import enqueue
from integrations.models import XeroWebhookDelivery, XeroWebhookEvent


def webhook_signature_valid(*, body: bytes, signature: str) -> bool:
    key = settings.XERO_WEBHOOK_KEY
    if not key or not signature:
        return False
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


# An event's fields as Xero documents them, each a string no longer than its column.
_EVENT_FIELDS = {
    "tenantId": "tenant_id",
    "eventCategory": "event_category",
    "eventType": "event_type",
    "resourceId": "resource_id",
    "eventDateUtc": "event_date_utc",
}


def _events(payload: object) -> list[dict[str, str]]:
    """The delivery's events as model fields. A body of another shape (a list, a number, null,
    `events` that is not a list of objects of strings, a field longer than Xero's) raises
    ValueError: signed, but nothing we can act on, and it must not reach the database as a 500."""
    if not isinstance(payload, dict):
        raise ValueError(f"webhook body is {type(payload).__name__}, not an object")
    events = payload.get("events")
    if events is None:
        return []
    if not isinstance(events, list):
        raise ValueError("webhook events is not a list")
    rows = []
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            raise ValueError(f"webhook events[{index}] is not an object")
        row = {}
        for key, field_name in _EVENT_FIELDS.items():
            value = event.get(key, "")
            limit = XeroWebhookEvent._meta.get_field(field_name).max_length
            if not isinstance(value, str) or len(value) > limit:
                raise ValueError(
                    f"webhook events[{index}].{key} is not a string of {limit} or less"
                )
            row[field_name] = value
        rows.append(row)
    return rows


def webhook_delivery_record(*, body: bytes) -> XeroWebhookDelivery | None:
    """Record a verified delivery and its events; None when it was already received. Raises
    ValueError for a body that is not JSON of Xero's shape."""
    payload = json.loads(body)
    events = _events(payload)
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
                    XeroWebhookEvent.objects.create(delivery=delivery, **event)
                new_events += 1
            except IntegrityError:
                continue  # an event Xero already delivered before
        if new_events:
            # Processing starts syncs, which are budgeting's (budgeting/ledger/webhooks.py).
            enqueue("integrations.xero.tasks.xero_webhook_process", delivery.pk)
        else:
            delivery.processed_at = timezone.now()
            delivery.save(update_fields=["processed_at"])
    return delivery
