"""From a Xero webhook to an alert: the sandbox posts a bill and delivers its event to the
product; the product fetches the changed documents in one call, measures the account and alerts
once, by email, with the Slack channel kept for when Slack is wired in."""

import base64
import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from budgeting.alerts import services
from budgeting.alerts.models import Alert, AlertDelivery, DocumentBatch, DocumentChange
from budgeting.ledger.models import Account, SyncRun, TransactionLine, XeroOrganisation
from core.clock import today as organisation_today
from integrations.models import XeroWebhookDelivery
from tests.sandbox import SANDBOX_ADMIN, DjangoTransport, sandbox_http, sync

KEY = "sandbox-webhook-key"  # config/settings_test.py sets XERO_WEBHOOK_KEY to the same
CAFE = "Harbour Lane Café"


def _signed(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def deliver_to_product(client, xero_sandbox):
    xero_sandbox.webhooks.url = "http://testserver" + reverse("xero_webhook")
    xero_sandbox.webhooks.key = KEY
    xero_sandbox.webhooks.transport = DjangoTransport(Client())
    return xero_sandbox.webhooks


def _bill(xero_sandbox, *, code: str, amount: str, date, contact="Quayside Fitouts Ltd"):
    with sandbox_http(xero_sandbox) as http:
        added = http.post(
            "/_sandbox/organisations/cafe/invoices",
            headers=SANDBOX_ADMIN,
            json={
                "type": "ACCPAY",
                "contact": contact,
                "date": date.isoformat(),
                "lines": [
                    {"accountCode": code, "description": "Emergency repairs", "amount": amount}
                ],
            },
        )
    assert added.status_code == 200, added.text
    return added.json()["invoice"]


def _void(xero_sandbox, invoice_id: str):
    with sandbox_http(xero_sandbox) as http:
        changed = http.post(
            f"/_sandbox/organisations/cafe/invoices/{invoice_id}",
            headers=SANDBOX_ADMIN,
            json={"status": "VOIDED"},
        )
    assert changed.status_code == 200, changed.text


@pytest.fixture
def watched(connected_firm):
    """The café synced, and a fixed-limit rule on one expense account just above its month so
    far, telling an email address and a Slack channel."""
    firm = connected_firm.firm
    organisation = connected_firm.linked[CAFE]
    assert sync(connected_firm, CAFE).state == SyncRun.State.SUCCEEDED
    account = (
        Account.objects.for_firm(firm)
        .filter(organisation=organisation, account_class="EXPENSE", type="EXPENSE")
        .exclude(code="")
        .order_by("code")
        .first()
    )
    profile = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)
    today = organisation_today(profile.timezone)
    so_far = services.month_to_date_amount(
        firm=firm, account=account, option_id=None, period=today.replace(day=1), until=today
    )
    rule = services.alert_rule_save(
        firm=firm,
        organisation=organisation,
        name="Repairs watch",
        threshold="limit",
        account_ids=[account.pk],
        limit=so_far + Decimal("1000"),
        recipients=[
            {"kind": "email", "email": "owner@harbourlane.example"},
            {"kind": "slack_channel", "channel": "#cafe-alerts"},
        ],
    )
    return firm, organisation, account, rule, today


@pytest.mark.mutable_sandbox
def test_a_bill_posted_in_xero_alerts_once_with_what_drove_it(
    watched,
    xero_sandbox,
    deliver_to_product,
    celery_eager,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    firm, organisation, account, _rule, today = watched
    # Larger than any document of the account this month, whatever the date: the largest driver.
    bill = _bill(xero_sandbox, code=account.code, amount="500000.00", date=today)
    calls_before = xero_sandbox.counters()

    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_to_product.deliver().status == 200

    batch = DocumentBatch.objects.for_firm(firm).get(organisation=organisation)
    assert (batch.endpoint, batch.document_count, batch.xero_calls) == ("Invoices", 1, 1)
    assert batch.state == DocumentBatch.State.DONE
    assert not DocumentChange.objects.for_firm(firm).exists()
    # The sandbox saw exactly one more call: the batch's.
    assert _calls(xero_sandbox.counters()) - _calls(calls_before) == 1
    line = TransactionLine.objects.for_firm(firm).get(document_id=bill["InvoiceID"])
    assert line.amount == Decimal("500000.00") and line.account == account

    alert = Alert.objects.for_firm(firm).get()
    assert alert.severity == Alert.Severity.CRITICAL
    assert alert.by == Decimal("499000.00")
    assert alert.drivers[0]["document_id"] == bill["InvoiceID"]
    assert alert.projected >= alert.actual
    assert "over its limit" in alert.summary and "Quayside Fitouts Ltd" in alert.summary
    email, slack = (AlertDelivery.objects.for_firm(firm).get(channel=c) for c in ("email", "slack"))
    assert email.state == AlertDelivery.State.SENT and email.sent_at is not None
    assert [m.to for m in mailoutbox] == [["owner@harbourlane.example"]]
    assert account.name in mailoutbox[0].subject
    # The firm has not turned Slack on: kept and shown as not set up, sent once it does.
    assert slack.state == AlertDelivery.State.UNSUPPORTED and slack.recipient == "#cafe-alerts"
    assert "Slack is not turned on for the firm" in slack.last_error

    # Xero retries the same delivery, and then the bill is edited (an UPDATE event): the
    # document is fetched again, but the step was alerted: nothing more is sent.
    recorded = XeroWebhookDelivery.objects.get()
    body = json.dumps(recorded.body).encode()
    with django_capture_on_commit_callbacks(execute=True):
        again = Client().post(
            reverse("xero_webhook"),
            body,
            content_type="application/json",
            headers={"x-xero-signature": _signed(body)},
        )
        assert again.status_code == 200
    assert DocumentBatch.objects.for_firm(firm).count() == 1
    _void(xero_sandbox, bill["InvoiceID"])
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_to_product.deliver().status == 200
    assert DocumentBatch.objects.for_firm(firm).count() == 2
    assert Alert.objects.for_firm(firm).count() == 1
    assert len(mailoutbox) == 1
    # The voided bill no longer counts in the month to date.
    assert not TransactionLine.objects.for_firm(firm).filter(document_id=bill["InvoiceID"])


def _calls(counters) -> int:
    """Accounting API calls the sandbox counted, every tenant and endpoint."""
    return sum(entry["calls"] for tenant in counters.values() for entry in tenant.values())


@pytest.mark.mutable_sandbox
def test_many_changed_invoices_are_fetched_in_one_call(
    watched, xero_sandbox, deliver_to_product, django_capture_on_commit_callbacks, celery_eager
):
    firm, organisation, account, _rule, today = watched
    ids = {
        _bill(xero_sandbox, code=account.code, amount="10.00", date=today, contact=f"C{i}")[
            "InvoiceID"
        ]
        for i in range(12)
    }
    # The events arrive while no fetch runs: they wait as changes, then one fetch takes them.
    with django_capture_on_commit_callbacks(execute=False):
        assert deliver_to_product.deliver().status == 200
    from budgeting.ledger.webhooks import webhook_delivery_process

    with django_capture_on_commit_callbacks(execute=False):
        webhook_delivery_process(delivery_id=XeroWebhookDelivery.objects.get().pk)
    assert set(DocumentChange.objects.for_firm(firm).values_list("document_id", flat=True)) == ids
    with django_capture_on_commit_callbacks(execute=True):
        batches = services.document_batches_fetch(firm=firm, organisation=organisation)
    assert [(b.document_count, b.xero_calls) for b in batches] == [(12, 1)]
    assert (
        set(
            TransactionLine.objects.for_firm(firm)
            .filter(document_id__in=ids)
            .values_list("document_id", flat=True)
        )
        == ids
    )


def test_forged_replayed_and_malformed_webhooks_fetch_nothing(client, db):
    forged = json.dumps({"events": [{"tenantId": "t", "eventCategory": "INVOICE"}]}).encode()
    answer = client.post(
        reverse("xero_webhook"),
        forged,
        content_type="application/json",
        headers={"x-xero-signature": _signed(forged, "not-the-key")},
    )
    assert answer.status_code == 401
    malformed = b'{"events": [{"tenantId": 7}]}'
    answer = client.post(
        reverse("xero_webhook"),
        malformed,
        content_type="application/json",
        headers={"x-xero-signature": _signed(malformed)},
    )
    assert answer.status_code == 200
    assert not XeroWebhookDelivery.objects.exists()
    assert not DocumentChange.objects.exists() and not DocumentBatch.objects.exists()


def test_bank_transactions_and_journals_are_polled_since_the_last_poll(watched):
    firm, organisation, _account, _rule, _today = watched
    # A poll reads again what changed within POLL_OVERLAP before the last one, and the sandbox
    # enters the day's documents at midnight UTC: a poll at 00:01 would rightly read them twice.
    # The polls run a little later than the sync, past that overlap, whatever the clock says.
    later = timezone.now() + services.POLL_OVERLAP + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=True):
        first = services.organisation_poll(firm=firm, organisation=organisation)
        assert [(b.source, b.endpoint, b.state) for b in first] == [
            ("poll", "BankTransactions", "done"),
            ("poll", "ManualJournals", "done"),
        ]
        assert all(b.xero_calls == 1 for b in first)
        poll = organisation.alert_poll
        assert set(poll.modified_since) == {"BankTransactions", "ManualJournals"}
        first_asked = dict(poll.modified_since)
        # Nothing changed in Xero since: the next poll asks from the last one, stores nothing.
        again = services.organisation_poll(firm=firm, organisation=organisation)
    assert [b.lines for b in again] == [0, 0]
    poll.refresh_from_db()
    asked = {e: dt.datetime.fromisoformat(poll.modified_since[e]) for e in first_asked}
    assert all(asked[e] > dt.datetime.fromisoformat(first_asked[e]) >= later for e in asked)
    assert not Alert.objects.for_firm(firm).exists()
