"""Manual journals as drivers: read with their scope, and a sync that cannot read them still
succeeds and says so."""

import json
from decimal import Decimal

import httpx

from budgeting.ledger.drivers import JOURNALS_MISSING, JOURNALS_NOT_GRANTED, JOURNALS_REFUSED
from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import DriverRemainder, SyncRun, TransactionLine
from core.months import add_months, month_end, month_start
from integrations.models import XeroConnection, XeroTenant
from integrations.xero.http import use_transport
from integrations.xero.sandbox.replay import RecordingApp, ReplayApp
from tests.alpine import ALPINE, alpine_connected
from tests.sandbox import sync

CAFE = "Harbour Lane Café"


def test_the_product_asks_xero_for_the_manual_journals_scope(settings):
    assert "accounting.manualjournals.read" in settings.XERO_SCOPES.split()


def _journal_lines(cast, name):
    return TransactionLine.objects.for_firm(cast.firm).filter(
        organisation=cast.linked[name], document_type="MANJOURNAL"
    )


def test_manual_journals_are_drivers(client, firm_a, test_today):
    with alpine_connected(client, firm_a, test_today) as (_app, sandbox):
        run = sync(firm_a, ALPINE)
        assert run.state == SyncRun.State.SUCCEEDED, run.error
        assert "Manual journals" not in run.error
        journals = _journal_lines(firm_a, ALPINE)
        stored = sorted(journals.values_list("document_id", "line_id", "amount"))
        # An incremental sync asks only for what changed since (If-Modified-Since) and keeps
        # the journals it already has.
        again = sync(firm_a, ALPINE)
    assert again.kind == SyncRun.Kind.INCREMENTAL
    assert again.state == SyncRun.State.SUCCEEDED, again.error
    assert sorted(journals.values_list("document_id", "line_id", "amount")) == stored
    last_closed = add_months(month_start(test_today), -1)

    # Depreciation on the last day of each month, split by region: 1,018.65 a month on 416, in
    # the P&L's sign, with each line's region, and the journal's narration as its description.
    depreciation = journals.filter(account__code="416", date=month_end(last_closed))
    assert sum(line.amount for line in depreciation) == Decimal("1018.65")
    assert {line.tracking_option.name for line in depreciation} == {
        "Auckland",
        "Wellington",
        "Christchurch",
    }
    assert {line.description for line in depreciation} == {"Store fit-out depreciation"}
    # The reclassification moves 860.00 from General Expenses to Advertising.
    reclass = journals.filter(date=last_closed.replace(day=20))
    assert {(line.account.code, line.amount) for line in reclass} == {
        ("400", Decimal("860.00")),
        ("429", Decimal("-860.00")),
    }
    # The draft bonus accrual and the voided duplicate depreciation are not drivers.
    unposted = {j.journal_id for j in sandbox[ALPINE].manual_journals if j.status != "POSTED"}
    assert len(unposted) == 2
    assert not journals.filter(document_id__in=unposted).exists()
    # With journals read, only the FX line is left unexplained (Xero's own currency entries,
    # which no list holds: tests/budgeting/ledger/test_drivers.py checks their amounts).
    assert set(
        DriverRemainder.objects.for_firm(firm_a.firm)
        .filter(organisation=firm_a.linked[ALPINE])
        .values_list("account__account_id", flat=True)
    ) == {"FXGROUPID"}


def test_a_connection_without_the_journal_scope_syncs_and_shows_them_as_unexplained(
    client, firm_a, test_today, settings
):
    # A firm that connected before the product asked for manual journals.
    settings.XERO_SCOPES = " ".join(
        s for s in settings.XERO_SCOPES.split() if s != "accounting.manualjournals.read"
    )
    with alpine_connected(client, firm_a, test_today) as (app, _sandbox):
        connection = XeroConnection.objects.for_firm(firm_a.firm).get()
        assert "accounting.manualjournals.read" not in connection.scopes.split()
        app.reset_counters()
        run = sync(firm_a, ALPINE)
        calls = app.counters()
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert JOURNALS_NOT_GRANTED in run.error
    assert not any("ManualJournals" in endpoint for c in calls.values() for endpoint in c)
    assert not _journal_lines(firm_a, ALPINE).exists()
    # Never dropped: each month's depreciation is what the lines leave unexplained on 416.
    last_closed = add_months(month_start(test_today), -1)
    remainder = DriverRemainder.objects.for_firm(firm_a.firm).get(
        organisation=firm_a.linked[ALPINE],
        account__code="416",
        period=last_closed,
        tracking_option=None,
    )
    assert (remainder.remainder, remainder.explained) == (Decimal("1018.65"), Decimal("0.00"))
    assert run.counts["driver_remainders"] > 0


def test_a_connection_whose_scopes_were_never_recorded_is_told_by_xero(
    client, firm_a, test_today, settings
):
    settings.XERO_SCOPES = " ".join(
        s for s in settings.XERO_SCOPES.split() if s != "accounting.manualjournals.read"
    )
    with alpine_connected(client, firm_a, test_today):
        XeroConnection.objects.for_firm(firm_a.firm).update(scopes="")
        run = sync(firm_a, ALPINE)
    # Xero answers 403 for a scope not granted: the sync goes on without journals.
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert JOURNALS_REFUSED in run.error
    assert not _journal_lines(firm_a, ALPINE).exists()


def test_a_capture_made_before_journals_were_read_still_replays(
    connected_firm, firm_b, xero_sandbox, tmp_path
):
    capture = tmp_path / "capture.jsonl"
    with use_transport(httpx.WSGITransport(app=RecordingApp(xero_sandbox, capture))):
        run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    # The capture as an older version of the product made it: no ManualJournals call.
    older = tmp_path / "older.jsonl"
    older.write_text(
        "".join(
            line + "\n"
            for line in capture.read_text().splitlines()
            if json.loads(line)["path"].rsplit("/", 1)[-1] != "ManualJournals"
        )
    )
    tenant = XeroTenant.objects.for_firm(connected_firm.firm).get(tenant_name=CAFE)
    connection = XeroConnection.objects.for_firm(firm_b.firm).create(
        firm=firm_b.firm,
        access_token="replay",
        refresh_token="replay",
        access_token_expires_at="2099-01-01T00:00:00Z",
    )
    XeroTenant.objects.for_firm(firm_b.firm).create(
        firm=firm_b.firm,
        connection=connection,
        tenant_id=tenant.tenant_id,
        tenant_name=CAFE,
        client_organisation=firm_b.organisation,
    )
    replayed = organisation_sync_start(
        firm=firm_b.firm, organisation=firm_b.organisation, trigger="manual", enqueue=False
    )
    with use_transport(httpx.WSGITransport(app=ReplayApp(older))):
        replayed = organisation_sync(firm=firm_b.firm, run_id=replayed.pk)
    assert replayed.state == SyncRun.State.SUCCEEDED, replayed.error
    assert JOURNALS_MISSING in replayed.error
    assert TransactionLine.objects.for_firm(firm_b.firm).filter(
        organisation=firm_b.organisation
    ).exclude(document_type="MANJOURNAL").count() == (
        TransactionLine.objects.for_firm(connected_firm.firm)
        .filter(organisation=connected_firm.linked[CAFE])
        .exclude(document_type="MANJOURNAL")
        .count()
    )
