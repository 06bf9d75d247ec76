"""Changed documents of an organisation whose Xero connection is lost are not retried for ever:
they wait for a reconnect (fetched then), and after DISCONNECTED_WAIT they are given up, the
alerts screen saying how many and what to do, until a sync reads them. Two firms in each."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.alerts import services
from budgeting.alerts.models import DISCONNECTED_WAIT, Alert, DocumentBatch, DocumentChange
from budgeting.ledger.models import SyncRun, TransactionLine
from integrations.models import XeroConnection, XeroWebhookDelivery
from tenants.roles import Role
from tests.budgeting.alerts.test_webhook_alerts import (  # noqa: F401 (fixtures)
    _bill,
    deliver_to_product,
    watched,
)
from tests.budgeting.screens import connected, login, sync_run, text
from tests.sandbox import connect_firm_to_xero


def _change(cast, organisation, document_id, *, endpoint="Invoices", hours_ago=1.0):
    with scopes_disabled():
        return DocumentChange.objects.create(
            firm=cast.firm,
            organisation=organisation,
            endpoint=endpoint,
            document_id=document_id,
            received_at=timezone.now() - dt.timedelta(hours=hours_ago),
        )


def _alerts_url(cast, organisation):
    return reverse("alert_list", args=[cast.firm.slug, organisation.pk])


def test_changes_of_a_disconnected_organisation_are_given_up_after_the_wait_with_the_reason(
    client, firm_a, firm_b
):
    ours, theirs = firm_a.organisation, firm_b.organisation
    connected(firm_a, ours, status=XeroConnection.Status.REVOKED)
    connected(firm_b, theirs)  # firm B's link is live: its change is fetched, never given up
    stale = DISCONNECTED_WAIT.total_seconds() / 3600 + 1
    for n in range(2):
        _change(firm_a, ours, f"inv-{n}", hours_ago=stale)
    _change(firm_a, ours, "cn-1", endpoint="CreditNotes", hours_ago=stale)
    _change(firm_a, ours, "inv-recent", hours_ago=1)
    _change(firm_b, theirs, "inv-b", hours_ago=stale)

    # The fetch finds no connection: it calls nothing, raises nothing, gives the old ones up.
    assert services.document_batches_fetch(firm=firm_a.firm, organisation=ours) == []
    given_up = DocumentBatch.objects.for_firm(firm_a.firm).filter(
        state=DocumentBatch.State.GIVEN_UP
    )
    assert sorted(given_up.values_list("endpoint", "document_count", "xero_calls")) == [
        ("CreditNotes", 1, 0),
        ("Invoices", 2, 0),
    ]
    assert given_up.get(endpoint="Invoices").error == (
        "Xero disconnected: 2 changed documents not fetched; reconnect and sync"
    )
    waiting = DocumentChange.objects.for_firm(firm_a.firm).filter(batch__isnull=True)
    assert list(waiting.values_list("document_id", flat=True)) == ["inv-recent"]
    # The beat's sweep again: nothing more given up, and firm B's connected change untouched.
    services.polls_enqueue()
    assert given_up.count() == 2
    assert not DocumentBatch.objects.for_firm(firm_b.firm).exists()
    assert DocumentChange.objects.for_firm(firm_b.firm).get().batch is None

    login(client, firm_a, Role.VIEWER)
    page = text(client.get(_alerts_url(firm_a, ours)))
    assert "Xero disconnected: 3 changed documents not fetched; reconnect and sync." in page
    assert "Xero disconnected: 1 changed document waits to be fetched." in page
    # Firm B's screen says nothing of firm A's; its member finds nothing at firm A's.
    login(client, firm_b, Role.VIEWER)
    assert "not fetched" not in text(client.get(_alerts_url(firm_b, theirs)))
    assert client.get(_alerts_url(firm_a, ours)).status_code == 404

    # Reconnected and synced: the sync read those documents, the reason goes.
    sync_run(
        firm_a,
        ours,
        state=SyncRun.State.SUCCEEDED,
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(_alerts_url(firm_a, ours)))
    assert "changed documents not fetched" not in page
    assert "1 changed document waits to be fetched" in page  # still disconnected


@pytest.mark.mutable_sandbox
def test_a_change_waiting_while_disconnected_is_fetched_on_reconnect(
    client,
    connected_firm,
    firm_b,
    watched,  # noqa: F811
    xero_sandbox,
    deliver_to_product,  # noqa: F811
    celery_eager,
    django_capture_on_commit_callbacks,
):
    firm, organisation, account, _rule, today = watched
    alerts_url = reverse("alert_list", args=[firm.slug, organisation.pk])
    bill = _bill(xero_sandbox, code=account.code, amount="500000.00", date=today)
    with django_capture_on_commit_callbacks(execute=False):
        assert deliver_to_product.deliver().status == 200
    from budgeting.ledger.webhooks import webhook_delivery_process

    with django_capture_on_commit_callbacks(execute=False):
        webhook_delivery_process(delivery_id=XeroWebhookDelivery.objects.get().pk)
    change = DocumentChange.objects.for_firm(firm).get()

    # The owner disconnects Xero (the real view): the change waits, nothing is fetched.
    owner = Client()
    owner.force_login(connected_firm.member(Role.OWNER).user)
    connection = XeroConnection.objects.for_firm(firm).get()
    disconnect = reverse("xero_connection_disconnect", args=[firm.slug, connection.pk])
    assert owner.post(disconnect).status_code == 302
    # An hour on, the beat's sweep finds it waiting: not fetched, not given up either.
    DocumentChange.objects.for_firm(firm).update(received_at=timezone.now() - dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        services.polls_enqueue()
    assert services.document_batches_fetch(firm=firm, organisation=organisation) == []
    change.refresh_from_db()
    assert change.batch is None
    assert not DocumentBatch.objects.for_firm(firm).exists()
    assert "1 changed document waits to be fetched" in text(owner.get(alerts_url))

    # Reconnected within the wait (the real Connect Xero flow): the beat's sweep fetches it.
    connect_firm_to_xero(client, connected_firm, xero_sandbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.polls_enqueue()
    batch = DocumentBatch.objects.for_firm(firm).get(source=DocumentBatch.Source.WEBHOOK)
    assert (batch.state, batch.document_count, batch.xero_calls) == ("done", 1, 1)
    assert TransactionLine.objects.for_firm(firm).filter(document_id=bill["InvoiceID"]).exists()
    assert Alert.objects.for_firm(firm).get().drivers[0]["document_id"] == bill["InvoiceID"]
    assert "not fetched" not in text(owner.get(alerts_url))
    # Firm B's member finds nothing at firm A's alerts.
    other = Client()
    other.force_login(firm_b.member(Role.OWNER).user)
    assert other.get(alerts_url).status_code == 404
