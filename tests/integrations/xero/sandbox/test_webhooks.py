"""Xero-format webhook deliveries, signatures and the Intent to Receive check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from integrations.xero.sandbox.app import SandboxApp
from integrations.xero.sandbox.webhooks import signature
from tests.integrations.xero.sandbox.harness import CAFE_ID, http, make_app

KEY = "the-webhook-key"
ADMIN = {"X-Sandbox-Admin": "sandbox-admin"}


class Receiver:
    """A receiver that checks signatures as the product must: 200 if right, 401 if not."""

    def __init__(self, *, verify: bool = True) -> None:
        self.verify = verify
        self.received: list[tuple[bytes, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        header = request.headers["x-xero-signature"]
        self.received.append((body, header))
        expected = base64.b64encode(hmac.new(KEY.encode(), body, hashlib.sha256).digest()).decode()
        if self.verify and not hmac.compare_digest(expected, header):
            return httpx.Response(401)
        return httpx.Response(200)


def _app(receiver: Receiver) -> SandboxApp:
    return make_app(
        webhook_url="https://product.test/xero/webhooks",
        webhook_key=KEY,
        webhook_transport=httpx.MockTransport(receiver),
    )


def test_signature_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"events":[]}'

    expected = base64.b64encode(hmac.new(b"k", body, hashlib.sha256).digest()).decode()

    assert signature(body, "k") == expected


def test_adding_an_invoice_queues_and_delivers_a_signed_invoice_event() -> None:
    receiver = Receiver()
    app = _app(receiver)
    client = http(app)

    created = client.post(
        "/_sandbox/organisations/cafe/invoices",
        json={
            "type": "ACCREC",
            "contact": "Tui Catering",
            "date": "2026-03-14",
            "lines": [{"accountCode": "200", "description": "Catering", "amount": "250.00"}],
        },
        headers=ADMIN,
    ).json()
    delivered = client.post("/_sandbox/webhooks/deliver", headers=ADMIN).json()

    assert delivered["status"] == 200
    payload = json.loads(receiver.received[0][0])
    assert payload["firstEventSequence"] == 1 and payload["lastEventSequence"] == 1
    assert payload["entropy"]
    event = payload["events"][0]
    assert event["eventCategory"] == "INVOICE" and event["eventType"] == "CREATE"
    assert event["tenantId"] == CAFE_ID and event["tenantType"] == "ORGANISATION"
    assert event["resourceId"] == created["invoice"]["InvoiceID"]
    assert event["resourceUrl"].endswith(f"/Invoices/{event['resourceId']}")
    assert client.get("/_sandbox/webhooks/events", headers=ADMIN).json() == []


def test_new_contact_and_credit_note_events() -> None:
    receiver = Receiver()
    app = _app(receiver)
    client = http(app)
    client.post(
        "/_sandbox/organisations/cafe/invoices",
        json={
            "type": "ACCPAY",
            "contact": "Brand New Supplier",
            "lines": [{"accountCode": "310", "amount": "10"}],
        },
        headers=ADMIN,
    )
    client.post(
        "/_sandbox/webhooks/events",
        json={
            "organisation": "cafe",
            "category": "CREDITNOTE",
            "eventType": "UPDATE",
            "resourceId": "00000000-0000-4000-8000-000000000001",
            "data": {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"},
        },
        headers=ADMIN,
    )

    client.post("/_sandbox/webhooks/deliver", headers=ADMIN)

    events = json.loads(receiver.received[0][0])["events"]
    assert [e["eventCategory"] for e in events] == ["CONTACT", "INVOICE", "CREDITNOTE"]
    assert events[2]["data"] == {"Type": "ACCRECCREDIT", "Status": "AUTHORISED"}


def test_failed_delivery_keeps_events_queued() -> None:
    app = make_app(
        webhook_url="https://product.test/hooks",
        webhook_key=KEY,
        webhook_transport=httpx.MockTransport(lambda r: httpx.Response(500)),
    )
    app.webhooks.queue_event(
        category="CONTACT", event_type="UPDATE", tenant_id=CAFE_ID, resource_id="x"
    )

    assert app.webhooks.deliver().status == 500
    assert len(app.webhooks.pending()) == 1


def test_intent_to_receive_passes_a_receiver_that_checks_signatures() -> None:
    receiver = Receiver()
    app = _app(receiver)

    result = (
        http(app)
        .post("/_sandbox/webhooks/intent-to-receive", json={"attempts": 5}, headers=ADMIN)
        .json()
    )

    assert result["ok"] is True
    assert {d["signedCorrectly"] for d in result["deliveries"]} == {True, False}
    for body, _ in receiver.received:
        assert json.loads(body)["events"] == []
        assert json.loads(body)["firstEventSequence"] == 0


def test_intent_to_receive_fails_a_receiver_that_accepts_everything() -> None:
    app = _app(Receiver(verify=False))

    ok, deliveries = app.webhooks.intent_to_receive()

    assert ok is False
    assert any(not d.signed_correctly and d.status == 200 for d in deliveries)
