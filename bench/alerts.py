"""A burst of Xero webhook deliveries at the running app, through to the alert emails.

    .venv/bin/python bench/alerts.py [--deliveries 1000] [--organisations 3] [--bills 40]

What runs, all on this machine:
- the Xero sandbox over HTTP with Xero's limits (60 calls a minute and 5 at once per
  organisation) and a simulated latency on every call;
- the app (Django's WSGI application on a threaded server) receiving the webhooks, with a
  PostgreSQL database of its own (budgets_bench_alerts, created afresh) and Redis (db 5 unless
  --redis-url says otherwise; flushed) as broker and shared rate limiter;
- a Celery worker process (`celery -A config worker`, thread pool) doing the work: processing
  deliveries, fetching the changed documents in batches, measuring, sending the emails (to
  files, EMAIL_FILE_PATH, so this script can count them);
- this script: connects a firm to the sandbox, syncs each organisation, sets one fixed-limit
  rule per organisation on an expense account, posts `--bills` bills per organisation in the
  sandbox, then sends `--deliveries` signed deliveries at once from 8 threads: each bill's
  CREATE, then UPDATEs of the same bills, and one in ten a resend of an earlier body (Xero
  retries a delivery it thinks failed).

Printed last, one line:
    alerts: deliveries N, alerts A, duplicates D, lost L, latency p50 X s p95 Y s, xero calls C
- duplicates: emails sent beyond one per alert and recipient, plus alerts beyond one per rule,
  account, month and severity step (target 0);
- lost: deliveries not answered 200, recorded deliveries never processed, changes still waiting,
  and bills whose lines are not stored when the work is done (target 0);
- latency: from the app receiving the earliest delivery behind an alert to its email being
  sent (target p95 <= 30 s);
- xero calls: accounting calls the sandbox counted during the burst; the line before says how
  many batches they served (target: at most one call per batch).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "budgets_bench_alerts"
WEBHOOK_KEY = "bench-webhook-key"
SENDERS = 8  # deliveries posted at once


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {DB_NAME}")


def _signed(body: bytes) -> str:
    return base64.b64encode(hmac.new(WEBHOOK_KEY.encode(), body, hashlib.sha256).digest()).decode()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--organisations", type=int, default=3)
    parser.add_argument("--bills", type=int, default=40, help="bills posted per organisation")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8, help="Celery worker threads")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--deadline", type=int, default=300, help="seconds to wait for the work once all is sent"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from integrations.xero.sandbox.app import create_app
    from integrations.xero.sandbox.clock import SandboxClock
    from integrations.xero.sandbox.faults import FaultSpec
    from integrations.xero.sandbox.generator import generate_small_organisations
    from integrations.xero.sandbox.server import make_sandbox_server

    clock = SandboxClock()
    today = clock.today()
    organisations = generate_small_organisations(count=args.organisations, seed=11, today=today)
    sandbox = create_app(organisations=organisations, today=today, clock=clock)
    sandbox_server = make_sandbox_server("127.0.0.1", 0, sandbox, verbose=False)
    threading.Thread(target=sandbox_server.serve_forever, daemon=True).start()
    sandbox_url = f"http://127.0.0.1:{sandbox_server.server_port}"

    mail_dir = tempfile.mkdtemp(prefix="bench-alerts-mail-")
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": args.redis_url,
        "CELERY_BROKER_URL": args.redis_url,
        "XERO_SANDBOX_URL": sandbox_url,
        "XERO_WEBHOOK_KEY": WEBHOOK_KEY,
        "XERO_RATE_LIMIT_PREFIX": f"bench:{time.time_ns()}",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": mail_dir,
        "LOG_LEVEL": "WARNING",
        # A connection per request and task, closed after it: the threaded server starts a
        # thread per delivery, and kept connections would exhaust PostgreSQL's.
        "DB_CONN_MAX_AGE": "0",
    }
    os.environ.update(env)
    _fresh_database()
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()

    import django

    django.setup()
    import httpx
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db.models import Count

    call_command("migrate", verbosity=0)

    from budgeting.alerts import services as alerts
    from budgeting.alerts.models import Alert, AlertDelivery, DocumentBatch, DocumentChange
    from budgeting.ledger.models import Account, SyncRun, TransactionLine, XeroOrganisation
    from budgeting.ledger.sync import organisation_sync, organisation_sync_start
    from core.clock import today as organisation_today
    from integrations.models import XeroTenant, XeroWebhookDelivery
    from integrations.xero.demo import demo_xero_connect_to
    from tenants import services
    from tenants.models import User

    owner = User.objects.create_user("bench@example.com", "bench-password-1")
    firm = services.firm_create(name="Bench Advisory", owner=owner)
    demo_xero_connect_to(firm=firm, user=owner, base_url=sandbox_url)
    tenants = list(XeroTenant.objects.for_firm(firm).select_related("client_organisation"))
    keys = {o.organisation_id: o.key for o in organisations}

    bills: list[tuple[str, str]] = []  # (tenant id, InvoiceID)
    control = httpx.Client(base_url=sandbox_url, headers={"X-Sandbox-Admin": "sandbox-admin"})
    for tenant in tenants:
        organisation = tenant.client_organisation
        run = organisation_sync_start(
            firm=firm, organisation=organisation, trigger=SyncRun.Trigger.MANUAL, enqueue=False
        )
        assert organisation_sync(firm=firm, run_id=run.pk).state == SyncRun.State.SUCCEEDED
        account = (
            Account.objects.for_firm(firm)
            .filter(organisation=organisation, account_class="EXPENSE", type="EXPENSE")
            .exclude(code="")
            .order_by("code")
            .first()
        )
        profile = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)
        local_today = organisation_today(profile.timezone)
        so_far = alerts.month_to_date_amount(
            firm=firm,
            account=account,
            option_id=None,
            period=local_today.replace(day=1),
            until=local_today,
        )
        # Crossed half way through the organisation's bills (100.00 each).
        alerts.alert_rule_save(
            firm=firm,
            organisation=organisation,
            name="Bench limit",
            threshold="limit",
            account_ids=[account.pk],
            limit=so_far + Decimal(50 * args.bills),
            recipients=[
                {"kind": "email", "email": "owner@bench.example"},
                {"kind": "email", "email": "partner@bench.example"},
            ],
        )
        for i in range(args.bills):
            added = control.post(
                f"/_sandbox/organisations/{keys[tenant.tenant_id]}/invoices",
                json={
                    "type": "ACCPAY",
                    "contact": f"Supplier {i % 7}",
                    "date": local_today.isoformat(),
                    "lines": [{"accountCode": account.code, "amount": "100.00"}],
                },
            )
            added.raise_for_status()
            bills.append((tenant.tenant_id, added.json()["invoice"]["InvoiceID"]))
    control.close()

    # The deliveries: each bill's CREATE, then UPDATEs, one in ten a resend of an earlier body.
    bodies: list[bytes] = []
    base = dt.datetime.now(dt.UTC)
    events = 0
    for i in range(args.deliveries):
        if i % 10 == 9:
            bodies.append(bodies[i // 2])
            continue
        tenant_id, invoice_id = bills[events % len(bills)]
        events += 1
        event = {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice_id}",
            "resourceId": invoice_id,
            "eventDateUtc": (base + dt.timedelta(milliseconds=i)).isoformat()[:23],
            "eventType": "CREATE" if events <= len(bills) else "UPDATE",
            "eventCategory": "INVOICE",
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        payload = {
            "events": [event],
            "firstEventSequence": i + 1,
            "lastEventSequence": i + 1,
            "entropy": uuid.uuid4().hex,
        }
        bodies.append(json.dumps(payload).encode())

    app_server = make_sandbox_server("127.0.0.1", 0, get_wsgi_application(), verbose=False)
    threading.Thread(target=app_server.serve_forever, daemon=True).start()
    webhook_url = f"http://127.0.0.1:{app_server.server_port}/integrations/xero/webhooks/"

    sandbox.faults.add(FaultSpec(kind="latency", delay_ms=args.latency_ms, probability=1.0))
    worker = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "celery"),
            "-A",
            "config",
            "worker",
            "--pool",
            "threads",
            "--concurrency",
            str(args.workers),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    statuses: list[int] = []
    try:
        # The clock starts once the worker answers (it takes a while to start on a busy
        # machine): the latency is the app's, not the worker's start-up.
        from config.celery import app as celery_app

        while not celery_app.control.ping(timeout=1.0):
            time.sleep(0.5)
        sandbox.reset_counters()
        started = time.monotonic()

        def post(body: bytes) -> int:
            with httpx.Client(timeout=10) as http:
                try:
                    answer = http.post(
                        webhook_url,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "x-xero-signature": _signed(body),
                        },
                    )
                except httpx.HTTPError:
                    return 0
            return answer.status_code

        with ThreadPoolExecutor(SENDERS) as pool:
            statuses = list(pool.map(post, bodies))
        sent_in = time.monotonic() - started

        def busy() -> bool:
            return (
                XeroWebhookDelivery.objects.filter(processed_at__isnull=True).exists()
                or DocumentChange.objects.exists()
                or DocumentBatch.objects.filter(state=DocumentBatch.State.RUNNING).exists()
                or AlertDelivery.objects.filter(
                    state__in=(AlertDelivery.State.PENDING, AlertDelivery.State.SENDING)
                ).exists()
            )

        from django_scopes import scopes_disabled

        with scopes_disabled():
            # Done when nothing is left for three checks in a row: a task between two steps
            # (a delivery processed, its fetch not yet claimed) must not end the wait.
            idle = 0
            sent_at = time.monotonic()
            while idle < 3 and time.monotonic() - sent_at < args.deadline:
                idle = 0 if busy() else idle + 1
                time.sleep(1)
            wall = time.monotonic() - started - 3
            counters = sandbox.counters()
            calls = sum(c["calls"] for eps in counters.values() for c in eps.values())
            limited = sum(c["rateLimited"] for eps in counters.values() for c in eps.values())
            batches = list(DocumentBatch.objects.filter(source=DocumentBatch.Source.WEBHOOK))
            alert_count = Alert.objects.count()
            step_duplicates = sum(
                row["n"] - 1
                for row in Alert.objects.values("rule", "account", "period", "severity")
                .annotate(n=Count("pk"))
                .filter(n__gt=1)
            )
            sent = list(
                AlertDelivery.objects.filter(
                    channel=AlertDelivery.Channel.EMAIL, state=AlertDelivery.State.SENT
                ).select_related("alert")
            )
            latencies = [
                (d.sent_at - d.alert.source_received_at).total_seconds()
                for d in sent
                if d.alert.source_received_at
            ]
            unprocessed = XeroWebhookDelivery.objects.filter(processed_at__isnull=True).count()
            waiting = DocumentChange.objects.count()
            stored = set(TransactionLine.objects.values_list("document_id", flat=True))
            missing_bills = sum(1 for _t, invoice_id in bills if invoice_id not in stored)
            failed_batches = [b for b in batches if b.state == DocumentBatch.State.FAILED]
            undelivered = AlertDelivery.objects.exclude(state=AlertDelivery.State.SENT).count()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        app_server.shutdown()
        sandbox_server.shutdown()

    messages = 0
    for path in Path(mail_dir).glob("*.log"):
        messages += len(re.findall(r"^Subject: ", path.read_text(errors="replace"), re.M))
    duplicates = max(0, messages - len(sent)) + step_duplicates
    not_ok = sum(1 for s in statuses if s != 200)
    lost = not_ok + unprocessed + waiting + missing_bills
    per_batch = max((b.xero_calls for b in batches), default=0)
    print(f"organisations      {len(tenants)}, bills {len(bills)}, worker threads {args.workers}")
    print(f"sent in            {sent_in:.1f} s ({len(bodies) / sent_in:.0f} deliveries a second)")
    print(f"done in            {wall:.1f} s")
    print(f"answers not 200    {not_ok}")
    print(
        f"batches            {len(batches)} ({len(failed_batches)} failed and retried), "
        f"at most {per_batch} call(s) in one; documents per batch median "
        f"{statistics.median([b.document_count for b in batches]) if batches else 0:.0f}"
    )
    print(f"429s received      {limited}")
    print(f"emails             {messages} written, {len(sent)} deliveries sent, {undelivered} not")
    print(
        f"lost detail        unprocessed deliveries {unprocessed}, changes waiting {waiting}, "
        f"bills not stored {missing_bills}"
    )
    print(
        f"alerts: deliveries {len(bodies)}, alerts {alert_count}, duplicates {duplicates}, "
        f"lost {lost}, latency p50 {_percentile(latencies, 50):.1f} s "
        f"p95 {_percentile(latencies, 95):.1f} s, xero calls {calls}"
    )
    ok = not duplicates and not lost and per_batch <= 1 and _percentile(latencies, 95) <= 30
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
