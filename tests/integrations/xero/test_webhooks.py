"""Xero's webhooks, delivered by the sandbox to the product's endpoint."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.urls import reverse

from budgeting.ledger.webhooks import webhook_delivery_process
from budgeting.models import DocumentChange, SyncRun
from integrations.models import XeroWebhookDelivery
from tests.sandbox import SANDBOX_ADMIN, DjangoTransport, sandbox_http, sync

KEY = "sandbox-webhook-key"  # config/settings_test.py sets XERO_WEBHOOK_KEY to the same
CAFE = "Harbour Lane Café"


def _signed(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def deliver_to_product(client, xero_sandbox):
    """Point the sandbox's webhook sender at the product's endpoint, served in-process."""
    xero_sandbox.webhooks.url = "http://testserver" + reverse("xero_webhook")
    xero_sandbox.webhooks.key = KEY
    xero_sandbox.webhooks.transport = DjangoTransport(Client())
    return xero_sandbox.webhooks


def test_intent_to_receive_passes(db, deliver_to_product):
    ok, deliveries = deliver_to_product.intent_to_receive(attempts=6)
    assert ok, [d.as_json() for d in deliveries]
    assert {d.status for d in deliveries} == {200, 401}
    assert not XeroWebhookDelivery.objects.exists()


def test_bad_signature_is_401_and_records_nothing(client, db):
    body = json.dumps({"events": [{"tenantId": "x"}], "entropy": "e"}).encode()
    response = client.post(
        reverse("xero_webhook"),
        body,
        content_type="application/json",
        headers={"x-xero-signature": _signed(body, "wrong-key")},
    )
    assert response.status_code == 401
    assert not XeroWebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"42",
        b"null",
        b'"events"',
        b'{"events": "abc"}',
        b'{"events": [null]}',
        b'{"events": [42]}',
        b'{"events": [{"tenantId": 7}]}',
        b'{"events": [{"tenantId": "' + b"x" * 65 + b'"}]}',
        b'{"events": {"tenantId": "x"}}',
        b"\xff\xfe not utf-8",
        b"{not json",
    ],
    ids=lambda body: body[:24].decode("utf-8", "replace"),
)
def test_a_signed_body_of_another_shape_is_200_and_records_nothing(client, db, body):
    """Signed with the key, so it answers 200 as Xero asks (a retry would not help), but a body
    that is not Xero's shape records nothing and never reaches the database as a 500."""
    response = client.post(
        reverse("xero_webhook"),
        body,
        content_type="application/json",
        headers={"x-xero-signature": _signed(body)},
    )
    assert response.status_code == 200
    assert response.content == b""
    assert not XeroWebhookDelivery.objects.exists()


@pytest.mark.mutable_sandbox
def test_valid_delivery_is_200_with_no_body_and_queues_its_documents_once(
    client, connected_firm, xero_sandbox, deliver_to_product, django_capture_on_commit_callbacks
):
    organisation = connected_firm.linked[CAFE]
    assert sync(connected_firm, CAFE).state == SyncRun.State.SUCCEEDED
    with sandbox_http(xero_sandbox) as http:
        added = http.post(
            "/_sandbox/organisations/cafe/invoices",
            headers=SANDBOX_ADMIN,
            json={
                "type": "ACCREC",
                "contact": "Wharfside Events Ltd",
                "lines": [
                    {
                        "accountCode": "200",
                        "description": "Winter gala catering",
                        "amount": "2400.00",
                    }
                ],
            },
        )
    assert added.status_code == 200, added.text

    with django_capture_on_commit_callbacks() as enqueued:
        delivery = deliver_to_product.deliver()
    assert delivery.status == 200
    assert len(enqueued) == 1  # processing is queued, not done in the request
    recorded = XeroWebhookDelivery.objects.get()

    # Xero retries a delivery it thinks failed: the same events again are not processed twice.
    body = json.dumps(recorded.body).encode()
    with django_capture_on_commit_callbacks() as retried:
        again = client.post(
            reverse("xero_webhook"),
            body,
            content_type="application/json",
            headers={"x-xero-signature": _signed(body)},
        )
    assert again.status_code == 200 and again.content == b""
    assert retried == []

    with django_capture_on_commit_callbacks() as queued_fetches:
        assert webhook_delivery_process(delivery_id=recorded.pk) == 1
    assert webhook_delivery_process(delivery_id=recorded.pk) == 0
    assert len(queued_fetches) == 1
    for duplicate in XeroWebhookDelivery.objects.exclude(pk=recorded.pk):
        assert webhook_delivery_process(delivery_id=duplicate.pk) == 0
    # No sync is started: the invoice waits as a change for the alerts' batched fetch
    # (tests/budgeting/alerts/test_webhook_alerts.py follows it to the stored line and alert).
    assert not SyncRun.objects.for_firm(connected_firm.firm).filter(trigger=SyncRun.Trigger.WEBHOOK)
    change = DocumentChange.objects.for_firm(connected_firm.firm).get()
    assert (change.organisation, change.endpoint) == (organisation, "Invoices")
    assert change.document_id == added.json()["invoice"]["InvoiceID"]
