"""A sync either gets exactly Xero's data or fails clearly and keeps the previous data."""

import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from django.db import connection as db_connection
from django.utils import timezone

from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import Reconciliation, SyncRun
from integrations.models import XeroConnection, XeroTenant
from integrations.xero.client import XeroClient
from integrations.xero.errors import XeroError
from integrations.xero.http import use_transport
from integrations.xero.ratelimit import Limits, RedisRateLimiter
from integrations.xero.sandbox.faults import FaultSpec
from integrations.xero.sandbox.replay import RecordingApp, ReplayApp
from integrations.xero.sandbox.server import make_sandbox_server
from tests.clock import subprocess_command
from tests.integrations.xero.transports import Mutating
from tests.sandbox import connect_firm_to_xero, link_all, rows, sandbox_app, sync

CAFE = "Harbour Lane Café"


def no_backoff(tenant):
    return XeroClient(tenant=tenant, backoff=lambda attempt: 0)


def test_ten_percent_faults_give_identical_rows(connected_firm, xero_sandbox):
    organisation = connected_firm.linked["Tidepool Software"]
    assert sync(connected_firm, "Tidepool Software").state == SyncRun.State.SUCCEEDED
    clean = rows(connected_firm.firm, organisation)

    for kind, extra in [
        ("status", {"status": 500}),
        ("status", {"status": 503}),
        ("timeout", {"delay_ms": 5}),
        ("malformed_json", {}),
        ("rate_limit", {"retry_after": 1}),
    ]:
        xero_sandbox.faults.add(
            FaultSpec(kind=kind, organisation="saas", probability=0.02, seed=3, **extra)
        )
    run = sync(
        connected_firm, "Tidepool Software", kind=SyncRun.Kind.FULL, client_factory=no_backoff
    )
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled
    assert rows(connected_firm.firm, organisation) == clean


def test_a_failing_report_fails_only_the_actuals_which_keep_their_data_and_are_retried_in_full(
    connected_firm, xero_sandbox
):
    organisation = connected_firm.linked[CAFE]
    sync(connected_firm, CAFE)
    before = rows(connected_firm.firm, organisation)
    xero_sandbox.faults.add(
        FaultSpec(kind="status", status=503, organisation="cafe", endpoint="Reports", count=100)
    )
    run = sync(connected_firm, CAFE, client_factory=no_backoff)
    # The budgets and transactions were saved; the actuals and the balance sheet (reports
    # both) were not, and say why.
    assert run.state == SyncRun.State.SUCCEEDED
    assert run.error.startswith(
        "Succeeded, except: Organisation actuals, because Xero Reports/ProfitAndLoss kept "
        "failing (server error 503) after 5 attempts; Balance sheet, because Xero "
        "Reports/BalanceSheet kept failing (server error 503) after 5 attempts. Their previous "
        "data is unchanged; the next sync fetches them again."
    ), run.error
    assert [f["key"] for f in run.failed_scopes] == ["actuals", "balance_sheet"]
    assert rows(connected_firm.firm, organisation) == before

    # The next run (incremental: only open months, normally) reads the failed scope in full.
    xero_sandbox.faults.clear()
    retry = sync(connected_firm, CAFE)
    assert retry.kind == SyncRun.Kind.INCREMENTAL
    assert retry.state == SyncRun.State.SUCCEEDED and retry.failed_scopes == [], retry.error
    months = set(
        Reconciliation.objects.for_firm(connected_firm.firm)
        .filter(sync_run=retry, tracking_option__isnull=True)
        .values_list("period", flat=True)
    )
    assert len(months) == 37
    assert rows(connected_firm.firm, organisation) == before


def test_a_sync_where_every_scope_fails_is_failed_and_keeps_the_previous_data(
    connected_firm, xero_sandbox
):
    organisation = connected_firm.linked[CAFE]
    sync(connected_firm, CAFE)
    before = rows(connected_firm.firm, organisation)
    for endpoint in ("Reports", "Budgets", "Invoices"):
        xero_sandbox.faults.add(
            FaultSpec(kind="status", status=503, organisation="cafe", endpoint=endpoint, count=100)
        )
    run = sync(connected_firm, CAFE, kind=SyncRun.Kind.FULL, client_factory=no_backoff)
    assert run.state == SyncRun.State.FAILED
    assert run.error.startswith("Nothing was saved: "), run.error
    assert "Organisation actuals, because Xero Reports/ProfitAndLoss kept failing" in run.error
    assert run.error.endswith("The previous data is unchanged.")
    assert rows(connected_firm.firm, organisation) == before


def _next_utc_midnight() -> str:
    day = timezone.now().astimezone(dt.UTC).date() + dt.timedelta(days=1)
    return f"00:00 UTC on {day.day} {day:%B}"


def test_a_sync_that_uses_up_the_daily_limit_says_so_and_when_to_run_it_again(
    connected_firm, settings
):
    organisation = connected_firm.linked[CAFE]
    first = sync(connected_firm, CAFE)
    assert first.state == SyncRun.State.SUCCEEDED
    before = rows(connected_firm.firm, organisation)
    # Today's count goes on from the first sync's calls: three more are left.
    settings.XERO_RATE_LIMIT_PER_DAY = first.calls_used + 3
    run = sync(connected_firm, CAFE, kind=SyncRun.Kind.FULL)
    assert run.state == SyncRun.State.FAILED
    assert run.calls_used == 3
    assert run.error.startswith(
        f"Xero's daily call limit for this organisation ({first.calls_used + 3:,} calls) is used "
        "up, so the sync could not fetch everything. "
    )
    # Nothing runs the sync again by itself: the message says when the user can.
    assert f"The limit resets at {_next_utc_midnight()} (in about " in run.error
    assert run.error.endswith("run the sync again after that. The previous data is unchanged.")
    assert rows(connected_firm.firm, organisation) == before


def test_a_sync_xero_tells_to_pause_for_an_hour_says_until_when(connected_firm, xero_sandbox):
    organisation = connected_firm.linked[CAFE]
    xero_sandbox.faults.add(
        FaultSpec(kind="rate_limit", organisation="cafe", retry_after=3600, count=1)
    )
    run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.FAILED
    assert re.fullmatch(
        r"Xero is busy for this organisation \(its rate limit\) and asked us to pause until "
        r"\d\d:\d\d UTC on \d+ \w+ \(in about 60 minutes\), so the sync stopped: run it "
        r"again after that\. The previous data is unchanged\.",
        run.error,
    ), run.error
    assert rows(connected_firm.firm, organisation)["accounts"] == []


def test_no_call_slot_in_time_says_try_again_in_a_few_minutes(settings):
    limiter = RedisRateLimiter(
        redis.Redis.from_url(settings.REDIS_URL),
        Limits(per_minute=60, concurrent=0, per_day=5000),  # every slot taken, for good
        prefix=f"test:rl:{uuid.uuid4().hex}",
    )
    # A XeroError, so a sync's error is this message, not "Unexpected error".
    with pytest.raises(XeroError) as raised:
        limiter.acquire("tenant-busy", timeout=0.2)
    assert str(raised.value) == (
        "Xero is busy for this organisation (its rate limit): no call could be made to it within "
        "1 second, so the sync stopped. Try the sync again in a few minutes."
    )


def _first_row_cell(body, value):
    """Spoil the first account row's amount. A report with no account row (an open month with no
    activity yet, as on the first day of a month where the organisation is) passes unspoilt:
    the sync must still fail on the next report that has one."""
    for section in body["Reports"][0]["Rows"]:
        for row in section.get("Rows", []):
            if row["Cells"][0].get("Attributes"):
                row["Cells"][1]["Value"] = value
                return body
    return body


def _budget_line(body, change):
    change(body["Budgets"][0]["BudgetLines"][0])
    return body


MALFORMED = [
    (
        "Organisation",
        lambda b: b["Organisations"][0].pop("BaseCurrency") and b,
        "Xero Organisation: Organisations[0].BaseCurrency: missing",
        None,
    ),
    (
        "Accounts",
        lambda b: b["Accounts"][3].update(AccountID=None) or b,
        "Xero Accounts: Accounts[3].AccountID: null",
        None,
    ),
    (
        "Reports/ProfitAndLoss",
        lambda b: _first_row_cell(b, "n/a"),
        "Xero Reports/ProfitAndLoss: Reports[0].Rows[1].Rows[0].Cells[1].Value: not a number ('n/a')",
        "Organisation actuals",
    ),
    (
        "Budgets/",
        lambda b: _budget_line(
            b, lambda line: line.update(AccountID="00000000-dead-beef-0000-000000000000")
        ),
        "unknown account '00000000-dead-beef-0000-000000000000' (not in Accounts)",
        "Budget 'Overall Budget'",
    ),
    (
        "Budgets/",
        lambda b: _budget_line(b, lambda line: line["BudgetBalances"][0].update(Amount=None)),
        "BudgetBalances[0].Amount: missing",
        "Budget 'Overall Budget'",
    ),
    (
        "TrackingCategories",
        lambda b: json.dumps(b).encode()[:40],
        "Xero TrackingCategories: (body): not valid JSON",
        None,
    ),
]


@pytest.mark.parametrize(
    ("endpoint", "spoil", "message", "scope"), MALFORMED, ids=[m[2][:40] for m in MALFORMED]
)
def test_malformed_payloads_name_the_endpoint_and_field_and_lose_nothing(
    connected_firm, xero_sandbox, endpoint, spoil, message, scope
):
    """Reference data spoilt fails the sync; a spoilt report or budget fails only its scope,
    which is named with the field, while the rest is saved."""
    organisation = connected_firm.linked[CAFE]
    sync(connected_firm, CAFE)
    before = rows(connected_firm.firm, organisation)
    with use_transport(Mutating(xero_sandbox, endpoint, spoil)):
        run = sync(connected_firm, CAFE, kind=SyncRun.Kind.FULL, client_factory=no_backoff)
    assert message in run.error
    assert rows(connected_firm.firm, organisation) == before
    failed = [f["name"] for f in run.failed_scopes]
    expected = (SyncRun.State.FAILED, []) if scope is None else (SyncRun.State.SUCCEEDED, [scope])
    assert (run.state, failed) == expected


def test_a_replayed_capture_syncs_to_the_same_rows(
    client, connected_firm, firm_b, xero_sandbox, tmp_path
):
    capture = tmp_path / "capture.jsonl"
    with use_transport(httpx.WSGITransport(app=RecordingApp(xero_sandbox, capture))):
        run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.SUCCEEDED
    assert capture.read_text().count("\n") == run.calls_used

    # Firm B's support engineer replays the client's capture: no live Xero at all.
    replay = ReplayApp(capture)
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
    run_b = organisation_sync_start(
        firm=firm_b.firm, organisation=firm_b.organisation, trigger="manual", enqueue=False
    )
    with use_transport(httpx.WSGITransport(app=replay)):
        run_b = organisation_sync(firm=firm_b.firm, run_id=run_b.pk)
    assert run_b.state == SyncRun.State.SUCCEEDED, run_b.error
    assert rows(firm_b.firm, firm_b.organisation) == rows(
        connected_firm.firm, connected_firm.linked[CAFE]
    )


@pytest.mark.django_db(transaction=True)
def test_a_sync_killed_at_random_points_then_rerun_gives_the_rows_of_an_uninterrupted_one(
    client, firm_a, firm_b, sandbox_organisations, test_today, settings
):
    app = sandbox_app(sandbox_organisations, test_today)
    server = make_sandbox_server("127.0.0.1", 0, app, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    for name, path in [
        ("XERO_AUTHORIZE_URL", "/identity/connect/authorize"),
        ("XERO_TOKEN_URL", "/identity/connect/token"),
        ("XERO_CONNECTIONS_URL", "/connections"),
        ("XERO_API_URL", "/api.xro/2.0"),
    ]:
        setattr(settings, name, base + path)
    settings.XERO_SYNC_STALE_SECONDS = 0  # the killed process's run is taken over at once
    try:
        with use_transport(httpx.HTTPTransport()):
            connect_firm_to_xero(client, firm_a, app)
            connect_firm_to_xero(client, firm_b, app)
        name = "Tidepool Software"
        organisation_a = link_all(firm_a, {name})[name]
        organisation_b = link_all(firm_b, {name})[name]

        # The reference: firm B syncs the same Xero organisation without interruption.
        run = organisation_sync_start(
            firm=firm_b.firm, organisation=organisation_b, trigger="manual", enqueue=False
        )
        assert organisation_sync(firm=firm_b.firm, run_id=run.pk).state == SyncRun.State.SUCCEEDED
        reference = rows(firm_b.firm, organisation_b)

        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": _database_url(),
            "XERO_SANDBOX_URL": base,
            "XERO_RATE_LIMIT_PREFIX": settings.XERO_RATE_LIMIT_PREFIX,
            "XERO_SYNC_STALE_SECONDS": "0",
        }
        rng = random.Random(20261121)
        manage = Path(settings.BASE_DIR) / "manage.py"
        for attempt in range(3):
            process = subprocess.Popen(
                # On this test's clock, whatever the date the suite runs on.
                subprocess_command(
                    dt.datetime.now(dt.UTC),
                    str(manage),
                    "xero_sync",
                    "--org",
                    str(organisation_a.pk),
                ),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            # Django starts in about a second; the sync then takes one to two.
            time.sleep(rng.uniform(1.0, 3.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
            partial = rows(firm_a.firm, organisation_a)
            # Never half a scope: each scope (a budget, the organisation's actuals, each
            # category's actuals, the transactions) is either not published yet or all of it is.
            assert _whole_or_absent(_by_scope(partial), _by_scope(reference)), f"attempt {attempt}"

        run = organisation_sync_start(
            firm=firm_a.firm,
            organisation=organisation_a,
            trigger="manual",
            kind=SyncRun.Kind.FULL,
            enqueue=False,
        )
        assert organisation_sync(firm=firm_a.firm, run_id=run.pk).state == SyncRun.State.SUCCEEDED
        assert rows(firm_a.firm, organisation_a) == reference
        interrupted = SyncRun.objects.for_firm(firm_a.firm).filter(step="Interrupted")
        # However many of the three kills landed mid-sync (it depends on the machine's speed),
        # each one it interrupted says so and says the saved data is whole.
        assert interrupted.count() <= 3
        assert all(
            "nothing is half saved" in r.error.lower() and "unchanged" in r.error
            for r in interrupted
        ), [r.error for r in interrupted]
    finally:
        server.shutdown()
        server.server_close()


def _by_scope(found: dict) -> dict:
    """Synced rows per scope: reference data, each budget, actuals by option (None: the
    organisation's own), transactions."""
    scopes: dict = {k: found[k] for k in ("profile", "accounts", "options", "transactions")}
    for row in found["balances"]:
        scopes.setdefault(("budget", row[0]), []).append(row)
    for row in found["actuals"]:
        scopes.setdefault(("actuals", row[1] is None), []).append(row)
    return scopes


def _whole_or_absent(partial: dict, reference: dict) -> bool:
    """Each scope of `partial` is either not saved yet or exactly as in `reference`."""
    return all(key in reference and value in ([], reference[key]) for key, value in partial.items())


def _database_url() -> str:
    params = db_connection.settings_dict
    return f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


@pytest.mark.mutable_sandbox
def test_failed_transactions_are_fetched_again_from_the_last_run_that_saved_them(
    connected_firm, xero_sandbox
):
    from budgeting.models import TransactionLine
    from tests.sandbox import SANDBOX_ADMIN, sandbox_http

    organisation = connected_firm.linked[CAFE]
    assert sync(connected_firm, CAFE).state == SyncRun.State.SUCCEEDED
    with sandbox_http(xero_sandbox) as http:
        added = http.post(
            "/_sandbox/organisations/cafe/invoices",
            headers=SANDBOX_ADMIN,
            json={
                "type": "ACCREC",
                "contact": "Wharfside Events Ltd",
                "lines": [{"accountCode": "200", "description": "Gala catering", "amount": "2400"}],
            },
        )
    assert added.status_code == 200, added.text

    # The next run cannot read the invoices: everything else is saved, the transactions not.
    xero_sandbox.faults.add(
        FaultSpec(kind="status", status=503, organisation="cafe", endpoint="Invoices", count=5)
    )
    failed = sync(connected_firm, CAFE, client_factory=no_backoff)
    assert failed.state == SyncRun.State.SUCCEEDED
    assert [f["name"] for f in failed.failed_scopes] == ["Transactions"]
    lines = TransactionLine.objects.for_firm(connected_firm.firm).filter(organisation=organisation)
    assert not lines.filter(description="Gala catering").exists()

    # The run after reads them again from before the failed run, so the invoice added in
    # between is not missed.
    retried = sync(connected_firm, CAFE)
    assert retried.state == SyncRun.State.SUCCEEDED and retried.failed_scopes == []
    assert lines.filter(description="Gala catering").count() == 1
