"""Xero-format webhook deliveries and the Intent to Receive check (xero-api-facts §6).

Payloads carry events with no record data; `x-xero-signature` is base64(HMAC-SHA256(raw body,
webhook key)). Intent to Receive sends empty-event payloads, some correctly and some incorrectly
signed; the receiver must answer 200 to the good ones and 401 to the bad ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.msdate import iso_utc

CATEGORIES = {"INVOICE": "Invoices", "CREDITNOTE": "CreditNotes", "CONTACT": "Contacts"}
EVENT_TYPES = frozenset({"CREATE", "UPDATE"})
DEFAULT_RESOURCE_BASE = "https://api.xero.com/api.xro/2.0"
DELIVERY_TIMEOUT = 5.0  # Xero expects an answer within 5 seconds


def signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode(
        "ascii"
    )


@dataclass
class Delivery:
    status: int | None  # None when the receiver could not be reached
    signed_correctly: bool
    events: int
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "signedCorrectly": self.signed_correctly,
            "events": self.events,
            "error": self.error,
        }


@dataclass
class WebhookSender:
    clock: SandboxClock
    url: str | None = None
    key: str = "sandbox-webhook-key"
    resource_base: str = DEFAULT_RESOURCE_BASE
    # For in-process tests: e.g. httpx.WSGITransport(app=receiver) or httpx.MockTransport.
    transport: httpx.BaseTransport | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _queue: list[dict[str, Any]] = field(default_factory=list)
    _sequence: int = 0

    def queue_event(
        self,
        *,
        category: str,
        event_type: str,
        tenant_id: str,
        resource_id: str,
        data: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        if category not in CATEGORIES or event_type not in EVENT_TYPES:
            raise ValueError(f"unsupported event {category}/{event_type}")
        event: dict[str, Any] = {
            "resourceUrl": f"{self.resource_base}/{CATEGORIES[category]}/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": iso_utc(self.clock.now()),
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        if data is not None:
            # CREDITNOTE events carry {Type, Status} (xero-webhooks.yaml CreditNoteWebhookEvent).
            event["data"] = data
        with self._lock:
            self._queue.append(event)
        return event

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._queue)

    def deliver(self) -> Delivery | None:
        """Send every queued event in one payload; events stay queued if the receiver fails."""
        with self._lock:
            events = list(self._queue)
            if not events:
                return None
            first = self._sequence + 1
        payload = {
            "events": events,
            "firstEventSequence": first,
            "lastEventSequence": first + len(events) - 1,
            "entropy": _entropy(),
        }
        delivery = self._post(
            json.dumps(payload).encode("utf-8"), sign_correctly=True, events=len(events)
        )
        if delivery.status == 200:
            with self._lock:
                self._queue = self._queue[len(events) :]
                self._sequence += len(events)
        return delivery

    def intent_to_receive(self, *, attempts: int = 4, seed: int = 7) -> tuple[bool, list[Delivery]]:
        """Xero's validation series; True when every answer was the right one."""
        rng = random.Random(seed)
        # At least one of each kind, the rest random, in a random order.
        kinds = [True, False] + [rng.random() < 0.5 for _ in range(max(0, attempts - 2))]
        rng.shuffle(kinds)
        results = []
        for correct in kinds:
            body = json.dumps(
                {
                    "events": [],
                    "firstEventSequence": 0,
                    "lastEventSequence": 0,
                    "entropy": _entropy(),
                }
            ).encode("utf-8")
            results.append(self._post(body, sign_correctly=correct, events=0))
        ok = all(r.status == (200 if r.signed_correctly else 401) for r in results)
        return ok, results

    def _post(self, body: bytes, *, sign_correctly: bool, events: int) -> Delivery:
        if not self.url:
            return Delivery(None, sign_correctly, events, "no webhook URL configured")
        key = self.key if sign_correctly else secrets.token_urlsafe(24)
        headers = {"Content-Type": "application/json", "x-xero-signature": signature(body, key)}
        try:
            with httpx.Client(transport=self.transport, timeout=DELIVERY_TIMEOUT) as client:
                response = client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            return Delivery(None, sign_correctly, events, str(error))
        return Delivery(response.status_code, sign_correctly, events)


def _entropy() -> str:
    return secrets.token_urlsafe(15)
