"""Faults lose nothing: a month close for many organisations on the real stack, with faults.

    .venv/bin/python bench/faults.py [--organisations 16] [--seed 23] [--latency-ms 60]
    nice -n 10 .venv/bin/python -u bench/faults.py --organisations 4     # a small run

What runs, all on this machine and all of it the script's own:
- the Xero sandbox over HTTP (generated small organisations, a latency on every call);
- a PostgreSQL database (budgets_fa_bench, created afresh) and a Redis server started by the
  script on port 7300 (broker, result-less), which it may kill and start again;
- a Celery worker process (`celery -A config worker`, prefork, 2 processes), killed with
  SIGKILL (its whole process group) and replaced; like a supervisor (systemd, Kubernetes), the
  script also starts it again when it exits by itself (Celery 5.5 with kombu's Redis transport
  can give up with "Unrecoverable error" when Redis restarts under it);
- the recovery beat job (`budgeting.tasks.work_recover_task`: syncs and forecast runs whose
  worker was lost, pipelines whose message was lost), called by this script every 3 seconds
  rather than by celery beat every 2 minutes, with its thresholds scaled down the same way
  (20 seconds instead of 5 and 10 minutes).

First a reference: a second firm syncs every organisation in this process, one after another,
with no fault, and runs its post-close pipeline (forecast run, draft). Then the firm under test
queues one initial sync per organisation (each, on success, runs the same pipeline on the
worker: variance, forecast, draft), and while they run, at seeded random points of progress,
the script injects: kill -9 of the worker, a Redis restart (its queue and unacknowledged
messages gone), the database dropping every connection to it, and a spell of the sandbox
answering 500, 429 with Retry-After, timeouts and malformed JSON.

Every wait is bounded (--deadline seconds in all). The end state is checked against the
reference, per organisation: the latest sync succeeded with every scope, or is failed and
queued again; the stored actuals and budget balances equal the reference's; one draft where
the reference has one. Duplicates: reconciliation rows of one run repeated, drafts beyond one
per organisation. Stuck: syncs or forecast runs still queued or running at the end.

Then the close's outbound work, on the same worker and beat: each draft submitted for approval
(two approvers' emails through a debugging SMTP server the script runs, one Slack message
through the outbox to the Slack imitation it serves over HTTP) while the SMTP server is down,
refusing or closing sessions early, Slack answers 500 and 429 or is down, and the worker is
killed; then each draft approved, its import file made and imported into the sandbox, and
verified by a full sync on the worker under kill -9, dropped connections and sandbox errors.
Checked: every email and Slack message arrived exactly once (what arrived is counted, so a
duplicate shows), none left queued or sending, every publication verified.

The last line: `faults: injected N, recovered R, lost L, duplicated D, stuck S; emails E (dup
d), slack M (dup m), published V/P` (targets L, D and S all 0; L, D and S include the emails,
Slack messages and publications). R counts the runs a fault interrupted or failed that a later
run, started without a click, made good.
"""

from __future__ import annotations

import argparse
import email
import os
import random
import socketserver
import subprocess
import sys
import threading
import time
from collections import Counter
from email import policy
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.shared import Worker

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "budgets_fa_bench"
REDIS_PORT = 7300
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


def _environment(sandbox_url: str, smtp_port: int, slack_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "XERO_SANDBOX_URL": sandbox_url,
        "XERO_RATE_LIMIT_PREFIX": f"faults:{time.time_ns()}",
        "XERO_SYNC_STALE_SECONDS": "20",
        "XERO_SYNC_QUEUED_SECONDS": "20",
        "FORECAST_RUN_STALE_SECONDS": "20",
        "FORECAST_RUN_QUEUED_SECONDS": "20",
        "CELERY_VISIBILITY_TIMEOUT": "60",
        "LOG_LEVEL": "ERROR",
        # Approval emails through the script's SMTP server; Slack at its imitation. The beat's
        # thresholds scaled down like the syncs' (production: 10 minutes, backoff up to 1 hour).
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_TIMEOUT": "5",
        "APPROVAL_NOTIFY_RESEND_SECONDS": "20",
        "SLACK_IMITATION_URL": slack_url,
        "SLACK_API_URL": f"{slack_url}/api",
        "SLACK_TIMEOUT_SECONDS": "5",
        "SLACK_DELIVERY_BACKOFF_MAX": "5",
        "SLACK_DELIVERY_LOST_SECONDS": "20",
    }


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {DB_NAME}")


class RedisServer:
    """A redis-server of the script's own (port 7300), no persistence: a restart empties it."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=REDIS_PORT, socket_timeout=1)
        for _ in range(50):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server on port 7300 did not answer within 5 seconds")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


class SmtpServer:
    """A debugging SMTP server of the script's own (plain SMTP on a loopback port): it records
    every (recipient, subject) that arrives, and can be down (not listening: connections
    refused) or refusing (421 at the greeting, as a server shedding load)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.refusing = False
        self.cutting = False
        self.lock = threading.Lock()
        self.port = 0
        self.server: socketserver.ThreadingTCPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def say(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())
                self.wfile.flush()

            def handle(self) -> None:
                if outer.refusing:
                    self.say("421 4.3.2 Service not available, try again later")
                    return
                self.say("220 faults-bench ESMTP")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    verb = line.decode(errors="replace").strip()
                    upper = verb.upper()
                    if upper.startswith("RCPT TO:"):
                        recipients.append(verb[8:].strip().strip("<>").lower())
                        self.say("250 OK")
                    elif upper.startswith(("MAIL FROM:", "RSET")):
                        recipients = []
                        self.say("250 OK")
                    elif upper == "DATA":
                        self.say("354 End data with <CR><LF>.<CR><LF>")
                        body = []
                        while (part := self.rfile.readline()) not in (b"", b".\r\n", b".\n"):
                            body.append(part[1:] if part.startswith(b"..") else part)
                        parsed = email.message_from_bytes(b"".join(body), policy=policy.default)
                        with outer.lock:
                            outer.received += [(r, str(parsed["Subject"])) for r in recipients]
                        self.say("250 OK queued")
                        if outer.cutting:
                            # Restarting: the session ends after its first message.
                            self.say("421 4.3.2 Shutting down, closing the connection")
                            return
                    elif upper == "QUIT":
                        self.say("221 Bye")
                        return
                    else:  # EHLO, HELO, NOOP: no extensions
                        self.say("250 faults-bench")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class Served:
    """A WSGI app (the Slack imitation) over HTTP on a fixed loopback port, which can go down
    (its listener closed: connections refused) and come back on the same port."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = 0
        self.server = None

    def start(self) -> None:
        from integrations.xero.sandbox.server import make_sandbox_server

        self.server = make_sandbox_server("127.0.0.1", self.port, self.app, verbose=False)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _recover_round(worker: Worker) -> None:
    """What the beat does (scaled down): lost work, lost sign-off emails, lost Slack messages;
    and the supervisor starting a worker that exited by itself."""
    from django import db

    from budgeting.pipeline import work_recover_task
    from integrations.slack.tasks import slack_messages_recover_task

    if worker.process is not None and worker.process.poll() is not None:
        worker.exits += 1
        worker.start()
    try:
        work_recover_task()
        slack_messages_recover_task()
    except (db.OperationalError, db.InterfaceError):
        db.connection.close()
    except Exception as exc:  # the broker is down: the next round sends it again
        print(f"  (recover round: {type(exc).__name__}: {exc})")


def _outbound(*, firm, owner, worker, smtp, slack, imitation, rng, left) -> dict:
    """The close's outbound work under faults: every draft submitted for approval (its step's
    approval emails through SMTP, its Slack message through the outbox), while the SMTP server
    is down, then refusing, Slack answers 500 and 429 with Retry-After, then is down, and the
    worker is killed. Returns the counts to check."""
    from budgeting.approvals import services as approvals
    from budgeting.drafts.services import draft_lines_accept
    from budgeting.models import ApprovalStep, Draft
    from integrations.slack.imitation.app import BOT_TOKEN
    from integrations.slack.models import SlackMessage, SlackSettings

    current, _created = SlackSettings.objects.for_firm(firm).get_or_create(firm=firm)
    current.method = SlackSettings.Method.BOT
    current.bot_token = BOT_TOKEN
    current.default_channel = "C0APPROVALS"
    current.approvals_to_slack = True
    current.save()

    drafts = list(
        Draft.objects.for_firm(firm)
        .filter(status=Draft.Status.DRAFT)
        .select_related("organisation")
        .order_by("pk")
    )
    rng.shuffle(drafts)
    expected_emails: set[tuple[str, str]] = set()
    for number, draft in enumerate(drafts):
        organisation = draft.organisation
        externals = [
            approvals.external_approver_register(
                firm=firm,
                organisation=organisation,
                email=f"{who}.{number}@client.example",
                name=who.title(),
                user=owner,
            )
            for who in ("owner", "finance")
        ]
        approvals.approval_chain_update(
            firm=firm,
            organisation=organisation,
            user=owner,
            steps=[{"name": "Client", "external_approver_ids": [e.pk for e in externals]}],
        )
        draft_lines_accept(firm=firm, draft=draft, user=owner)
        subject = f"Approve the forecast draft of {organisation.name} (Client)"
        expected_emails |= {(e.email, subject) for e in externals}

    kinds = ["smtp_down", "smtp_refusing", "smtp_cut", "slack_errors", "slack_down", "worker"]
    rng.shuffle(kinds)
    # Submissions spread over about 30 s; each fault at a seeded time in its first 24 s.
    gap = max(0.5, 30 / max(1, len(drafts)))
    points = sorted(rng.uniform(0.0, 0.8) * gap * len(drafts) for _ in kinds)
    schedule = list(zip(points, kinds, strict=True))
    injected: list[str] = []
    spells: dict[str, float] = {}  # fault -> when it ends
    started = time.monotonic()
    submitted = 0
    last_recover = 0.0
    quiet_since = None
    while left() > 0:
        now = time.monotonic()
        if schedule and now - started >= schedule[0][0]:
            _point, kind = schedule.pop(0)
            at = f"{submitted}/{len(drafts)} submitted, t={now - started:.1f}s"
            if kind == "smtp_down":
                smtp.stop()
                injected.append(f"SMTP server down for 10 s ({at})")
            elif kind == "smtp_refusing":
                smtp.refusing = True
                injected.append(f"SMTP server refusing (421) for 10 s ({at})")
            elif kind == "smtp_cut":
                smtp.cutting = True
                injected.append(f"SMTP server closing each session after one email ({at})")
            elif kind == "slack_errors":
                for _ in range(6):
                    imitation.fault_add(kind="status", status=500, count=1)
                    imitation.fault_add(kind="rate_limit", retry_after=1, count=1)
                injected.append(f"Slack 500 and 429 Retry-After for 10 s ({at})")
            elif kind == "slack_down":
                slack.stop()
                injected.append(f"Slack down for 10 s ({at})")
            else:
                worker.kill()
                worker.start()
                injected.append(f"kill -9 of the worker ({at})")
            if kind != "worker":
                spells[kind] = now + 10
            print("  fault:", injected[-1])
        for kind, until in list(spells.items()):
            if now > until:
                del spells[kind]
                if kind == "smtp_down":
                    smtp.start()
                elif kind == "smtp_refusing":
                    smtp.refusing = False
                elif kind == "smtp_cut":
                    smtp.cutting = False
                elif kind == "slack_errors":
                    with imitation.lock:
                        imitation.faults.clear()
                else:
                    slack.start()
        if submitted < len(drafts) and now - started >= submitted * gap:
            draft = drafts[submitted]
            approvals.draft_submit(firm=firm, draft=draft, user=owner)
            submitted += 1
        if now - last_recover > 3:
            last_recover = now
            _recover_round(worker)
        steps = ApprovalStep.objects.for_firm(firm)
        unsent = steps.filter(status=ApprovalStep.Status.OPEN, notified_at__isnull=True).count()
        outbox = (
            SlackMessage.objects.for_firm(firm)
            .filter(status__in=(SlackMessage.Status.QUEUED, SlackMessage.Status.SENDING))
            .count()
        )
        if submitted == len(drafts) and not schedule and not spells and not unsent and not outbox:
            # A redelivered task may still be on its way: wait it out.
            quiet_since = quiet_since or now
            if now - quiet_since > 10:
                break
        else:
            quiet_since = None
        time.sleep(0.25)
    wall = time.monotonic() - started

    with smtp.lock:
        arrived = Counter(smtp.received)
    emails_lost = sorted(expected_emails - set(arrived))
    emails_dup = sum(n - 1 for key, n in arrived.items() if n > 1)
    posted = Counter(m.text for m in imitation.messages_in("C0APPROVALS"))
    names = [d.organisation.name for d in drafts]
    slack_lost = [n for n in names if not any(n in (text or "") for text in posted)]
    slack_dup = sum(n - 1 for n in posted.values() if n > 1)
    messages = SlackMessage.objects.for_firm(firm)
    failed = [m.purpose for m in messages.filter(status=SlackMessage.Status.FAILED)]
    stuck = [
        f"approval step {s.pk} of draft {s.request.draft_id} never emailed"
        for s in ApprovalStep.objects.for_firm(firm)
        .select_related("request")
        .filter(status=ApprovalStep.Status.OPEN, notified_at__isnull=True)
    ] + [
        f"Slack message {m.pk} {m.status} ({m.purpose})"
        for m in messages.filter(
            status__in=(SlackMessage.Status.QUEUED, SlackMessage.Status.SENDING)
        )
    ]
    return {
        "injected": injected,
        "wall": wall,
        "drafts": len(drafts),
        "emails": sum(arrived.values()),
        "emails_expected": len(expected_emails),
        "emails_dup": emails_dup,
        "slack": sum(posted.values()),
        "slack_dup": slack_dup,
        "lost": [f"email to {to}: {subject}" for to, subject in emails_lost]
        + [f"Slack message of {n}" for n in slack_lost]
        + [f"Slack message failed: {p}" for p in failed],
        "duplicated": ([f"{emails_dup} approval emails arrived twice"] if emails_dup else [])
        + ([f"{slack_dup} Slack messages posted twice"] if slack_dup else []),
        "stuck": stuck,
    }


def _publishing(
    *, firm, owner, worker, sandbox, organisations, clock, latency_ms, rng, left
) -> dict:
    """Every submitted draft approved (by its client's approvers), its forecast budget added in
    Xero's Budget Manager and found by a sync, the import file made and imported into the
    sandbox as a person would; then the verifying full sync of each organisation on the worker,
    while the worker is killed, the database drops its connections and the sandbox answers
    500/429/timeouts/malformed JSON. Every publication must end verified, its draft published."""
    from django import db

    from budgeting.approvals import services as approvals
    from budgeting.ledger.sync import organisation_sync, organisation_sync_start
    from budgeting.models import ApprovalStep, BudgetPublication, Draft, SyncRun
    from budgeting.publishing.selectors import forecast_budget_suggested_name
    from budgeting.publishing.services import draft_publish, forecast_budgets_find
    from integrations.models import XeroTenant
    from integrations.xero.sandbox.budget_import import budget_import_file
    from integrations.xero.sandbox.budget_manager import budget_add
    from integrations.xero.sandbox.faults import FaultSpec

    sandbox_of = {o.organisation_id: o for o in organisations}
    tenant_of = {t.client_organisation_id: t.tenant_id for t in XeroTenant.objects.for_firm(firm)}
    drafts = list(
        Draft.objects.for_firm(firm)
        .filter(status=Draft.Status.SUBMITTED)
        .select_related("organisation", "original_budget")
        .order_by("pk")
    )
    publications: list[int] = []
    for draft in drafts:
        # Each open step decided by one of the approvers its email went to.
        while draft.status == Draft.Status.SUBMITTED:
            step = ApprovalStep.objects.for_firm(firm).get(
                request__draft=draft, status=ApprovalStep.Status.OPEN
            )
            approvals.approval_decide(
                firm=firm,
                draft=draft,
                approver=approvals.approval_step_recipients(firm=firm, step=step)[0],
                decision="approve",
                channel="email",
            )
            draft.refresh_from_db()
        xero = sandbox_of[tenant_of[draft.organisation_id]]
        with sandbox.state.lock:
            budget_add(
                xero,
                name=forecast_budget_suggested_name(original=draft.original_budget),
                tracking=[],
                now=clock.now(),
            )
        run = organisation_sync_start(
            firm=firm, organisation=draft.organisation, trigger="manual", enqueue=False
        )
        organisation_sync(firm=firm, run_id=run.pk)
        forecast_budgets_find(firm=firm, organisation=draft.organisation)
        for publication in draft_publish(firm=firm, draft=draft, user=owner, send=False):
            publications.append(publication.pk)
            target = next(b for b in xero.budgets if b.budget_id == publication.budget.budget_id)
            with sandbox.state.lock:
                budget_import_file(xero, target, publication.file_content)

    kinds = ["worker", "database", "sandbox"]
    rng.shuffle(kinds)
    points = sorted(rng.uniform(0.5, 6) for _ in kinds)
    schedule = list(zip(points, kinds, strict=True))
    injected: list[str] = []
    started = time.monotonic()
    for draft in drafts:
        organisation_sync_start(
            firm=firm, organisation=draft.organisation, trigger="manual", kind="full"
        )
    sandbox_until = 0.0
    last_recover = 0.0
    quiet_since = None
    while left() > 0:
        now = time.monotonic()
        if schedule and now - started >= schedule[0][0]:
            _point, kind = schedule.pop(0)
            at = f"verifying syncs, t={now - started:.1f}s"
            if kind == "worker":
                worker.kill()
                worker.start()
                injected.append(f"kill -9 of the worker ({at})")
            elif kind == "database":
                dropped = _drop_database_connections()
                injected.append(f"database dropped {dropped} connections ({at})")
            else:
                for kind_, extra in [
                    ("status", {"status": 500}),
                    ("rate_limit", {"retry_after": 1}),
                    ("timeout", {"delay_ms": 50}),
                    ("malformed_json", {}),
                ]:
                    sandbox.faults.add(
                        FaultSpec(kind=kind_, probability=0.05, seed=rng.randrange(1000), **extra)
                    )
                sandbox_until = now + 15
                injected.append(f"sandbox 500/429/timeout/malformed JSON for 15 s ({at})")
            print("  fault:", injected[-1])
        if sandbox_until and now > sandbox_until:
            sandbox_until = 0.0
            sandbox.faults.clear()
            sandbox.faults.add(FaultSpec(kind="latency", delay_ms=latency_ms, probability=1.0))
        if now - last_recover > 3:
            last_recover = now
            _recover_round(worker)
        try:
            verified = (
                BudgetPublication.objects.for_firm(firm)
                .filter(pk__in=publications, status=BudgetPublication.Status.VERIFIED)
                .count()
            )
            active = (
                SyncRun.objects.for_firm(firm)
                .filter(state__in=(SyncRun.State.QUEUED, SyncRun.State.RUNNING))
                .count()
            )
        except (db.OperationalError, db.InterfaceError):
            db.connection.close()
            continue
        if not schedule and not sandbox_until and not active and verified == len(publications):
            quiet_since = quiet_since or now
            if now - quiet_since > 10:
                break
        else:
            quiet_since = None
        time.sleep(0.5)
    wall = time.monotonic() - started
    db.connection.close()
    mine = BudgetPublication.objects.for_firm(firm).filter(pk__in=publications)
    not_verified = [
        f"publication {p.pk} of draft {p.draft_id}: {p.status}"
        for p in mine.exclude(status=BudgetPublication.Status.VERIFIED)
    ]
    unpublished = [
        f"draft {d.pk}: {d.status}, not published"
        for d in Draft.objects.for_firm(firm).filter(pk__in=[d.pk for d in drafts])
        if d.status != Draft.Status.PUBLISHED
    ]
    repeated = Counter(
        BudgetPublication.objects.for_firm(firm).values_list("draft_id", "xero_budget_id")
    )
    return {
        "injected": injected,
        "wall": wall,
        "drafts": len(drafts),
        "publications": len(publications),
        "verified": len(publications) - len(not_verified),
        "lost": unpublished,
        "stuck": not_verified,
        "duplicated": [
            f"draft {draft_id}: {n} publications into one budget"
            for (draft_id, _budget), n in repeated.items()
            if n > 1
        ],
    }


def _drop_database_connections() -> int:
    """The database cuts every connection to the bench database (this script's too)."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        rows = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [DB_NAME],
        ).fetchall()
    return len(rows)


def _synced_rows(firm, organisation) -> dict:
    """What a sync stores, by Xero's ids: comparable between two firms."""
    from budgeting.models import ActualBalance, BudgetBalance

    actuals = ActualBalance.objects.for_firm(firm).filter(organisation=organisation)
    budgets = BudgetBalance.objects.for_firm(firm).filter(organisation=organisation)
    return {
        "actuals": sorted(
            actuals.values_list(
                "account__account_id", "tracking_option__option_id", "period", "amount"
            )
        ),
        "budgets": sorted(
            budgets.values_list(
                "budget_line__budget__budget_id",
                "budget_line__account__account_id",
                "period",
                "amount",
            )
        ),
    }


def _pipeline_inline(firm, organisation, run) -> None:
    from budgeting.drafts.services import forecast_run_execute
    from budgeting.models import ForecastRun
    from budgeting.pipeline import organisation_after_sync

    organisation_after_sync(
        firm=firm, organisation=organisation, closed="closed_up_to" in run.counts
    )
    for forecast in ForecastRun.objects.for_firm(firm).filter(
        organisation=organisation, state=ForecastRun.State.QUEUED
    ):
        forecast_run_execute(firm=firm, run_id=forecast.pk)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--organisations", type=int, default=16)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--latency-ms", type=int, default=60)
    parser.add_argument("--deadline", type=int, default=900, help="seconds, all waits included")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    began = time.monotonic()

    def left() -> float:
        return args.deadline - (time.monotonic() - began)

    sys.path.insert(0, str(ROOT))
    from bench.shared import Worker
    from integrations.xero.sandbox.app import create_app
    from integrations.xero.sandbox.clock import SandboxClock
    from integrations.xero.sandbox.faults import FaultSpec
    from integrations.xero.sandbox.generator import generate_small_organisations
    from integrations.xero.sandbox.server import make_sandbox_server

    clock = SandboxClock()
    today = clock.today()
    organisations = generate_small_organisations(count=args.organisations, seed=11, today=today)
    sandbox = create_app(organisations=organisations, today=today, clock=clock)
    server = make_sandbox_server("127.0.0.1", 0, sandbox, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sandbox_url = f"http://127.0.0.1:{server.server_port}"

    from integrations.slack.imitation.app import SlackImitation

    smtp = SmtpServer()
    smtp.start()
    imitation = SlackImitation()
    slack = Served(imitation)
    slack.start()
    env = _environment(sandbox_url, smtp.port, f"http://127.0.0.1:{slack.port}")
    os.environ.update(env)
    _fresh_database()
    redis_server = RedisServer()
    redis_server.start()
    worker = Worker(env, name="faults")

    import django

    django.setup()
    from django import db
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from budgeting.ledger.sync import organisation_sync, organisation_sync_start
    from budgeting.models import Draft, ForecastRun, Reconciliation, SyncRun
    from budgeting.pipeline import work_recover_task
    from integrations.models import XeroTenant
    from integrations.xero.demo import demo_xero_connect_to
    from tenants import services
    from tenants.models import User

    try:
        # The reference: the same month close with no fault, in this process.
        reference_owner = User.objects.create_user("reference@example.com", "bench-password-1")
        reference = services.firm_create(name="Reference Advisory", owner=reference_owner)
        demo_xero_connect_to(firm=reference, user=reference_owner, base_url=sandbox_url)
        expected: dict[str, dict] = {}
        reference_started = time.monotonic()
        for tenant in XeroTenant.objects.for_firm(reference).select_related("client_organisation"):
            organisation = tenant.client_organisation
            run = organisation_sync_start(
                firm=reference, organisation=organisation, trigger="manual", enqueue=False
            )
            run = organisation_sync(firm=reference, run_id=run.pk)
            assert run.state == SyncRun.State.SUCCEEDED, run.error
            _pipeline_inline(reference, organisation, run)
            expected[tenant.tenant_id] = _synced_rows(reference, organisation) | {
                "drafts": Draft.objects.for_firm(reference)
                .filter(organisation=organisation)
                .count()
            }
        reference_seconds = time.monotonic() - reference_started

        owner = User.objects.create_user("faults@example.com", "bench-password-1")
        firm = services.firm_create(name="Faults Advisory", owner=owner)
        demo_xero_connect_to(firm=firm, user=owner, base_url=sandbox_url)
        tenants = list(XeroTenant.objects.for_firm(firm).select_related("client_organisation"))

        sandbox.faults.add(FaultSpec(kind="latency", delay_ms=args.latency_ms, probability=1.0))
        worker.start()
        time.sleep(3)  # let the worker connect before the clock starts
        started = time.monotonic()
        for tenant in tenants:
            organisation_sync_start(
                firm=firm, organisation=tenant.client_organisation, trigger="manual"
            )

        kinds = ["worker", "redis", "database", "sandbox"]
        rng.shuffle(kinds)
        # Each fault at a seeded share of the syncs done (between 10% and 80%).
        points = sorted(rng.uniform(0.1, 0.8) for _ in kinds)
        schedule = list(zip(points, kinds, strict=True))
        injected: list[str] = []
        sandbox_faults: list = []
        sandbox_until = 0.0
        last_recover = 0.0

        def state() -> tuple[int, int, int]:
            """(organisations whose latest sync succeeded, syncs pending, forecasts pending)"""
            runs = SyncRun.objects.for_firm(firm)
            latest = {}
            for organisation_id, run_state in runs.order_by("created_at").values_list(
                "organisation_id", "state"
            ):
                latest[organisation_id] = run_state
            done = sum(1 for s in latest.values() if s == SyncRun.State.SUCCEEDED)
            active = (SyncRun.State.QUEUED, SyncRun.State.RUNNING)
            pending = runs.filter(state__in=active).count()
            forecasts = ForecastRun.objects.for_firm(firm).filter(state__in=active).count()
            return done, pending, forecasts

        quiet_since = None
        while left() > 0:
            if worker.process is not None and worker.process.poll() is not None:
                # The worker exited by itself (kombu can give up on a Redis restart): its
                # supervisor (systemd, Kubernetes) starts it again, as in production.
                worker.exits += 1
                worker.start()
            try:
                done, pending, forecasts = state()
                if time.monotonic() - last_recover > 3:
                    last_recover = time.monotonic()
                    work_recover_task()
            except (db.OperationalError, db.InterfaceError):
                db.connection.close()  # the database dropped us too: a new connection
                time.sleep(0.5)
                continue
            except Exception as exc:  # the broker is down: the next round sends it again
                print(f"  (recover round: {type(exc).__name__}: {exc})")
                time.sleep(0.5)
                continue
            if schedule and done >= schedule[0][0] * len(tenants):
                _point, kind = schedule.pop(0)
                at = f"{done}/{len(tenants)} synced, t={time.monotonic() - started:.1f}s"
                if kind == "worker":
                    worker.kill()
                    worker.start()
                    injected.append(f"kill -9 of the worker ({at})")
                elif kind == "redis":
                    redis_server.kill()
                    time.sleep(1)
                    redis_server.start()
                    injected.append(f"Redis restarted, empty ({at})")
                elif kind == "database":
                    dropped = _drop_database_connections()
                    injected.append(f"database dropped {dropped} connections ({at})")
                else:
                    for kind_, extra in [
                        ("status", {"status": 500}),
                        ("rate_limit", {"retry_after": 1}),
                        ("timeout", {"delay_ms": 50}),
                        ("malformed_json", {}),
                    ]:
                        spec = FaultSpec(
                            kind=kind_, probability=0.03, seed=rng.randrange(1000), **extra
                        )
                        sandbox_faults.append(sandbox.faults.add(spec))
                    sandbox_until = time.monotonic() + 20
                    injected.append(f"sandbox 500/429/timeout/malformed JSON for 20 s ({at})")
                print("  fault:", injected[-1])
            if sandbox_faults and time.monotonic() > sandbox_until:
                sandbox.faults.clear()
                sandbox_faults.clear()
                sandbox.faults.add(
                    FaultSpec(kind="latency", delay_ms=args.latency_ms, probability=1.0)
                )
            finished = not schedule and not pending and not forecasts and done == len(tenants)
            if finished:
                # A pipeline task may still be on its way after the last sync: wait it out.
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 10:
                    break
            else:
                quiet_since = None
            time.sleep(0.5)
        wall = time.monotonic() - started
        db.connection.close()
        # What the close stored, before publishing adds a forecast budget in Xero.
        after_close = {
            t.client_organisation_id: _synced_rows(firm, t.client_organisation) for t in tenants
        }
        print("  the close is done: its drafts submitted for approval, under faults")
        outbound = _outbound(
            firm=firm,
            owner=owner,
            worker=worker,
            smtp=smtp,
            slack=slack,
            imitation=imitation,
            rng=rng,
            left=left,
        )
        print("  approved: the import files made, imported in Xero, verified by a sync")
        publishing = _publishing(
            firm=firm,
            owner=owner,
            worker=worker,
            sandbox=sandbox,
            organisations=organisations,
            clock=clock,
            latency_ms=args.latency_ms,
            rng=rng,
            left=left,
        )
    finally:
        worker.stop()
        server.shutdown()
        smtp.stop()
        slack.stop()

    db.connection.close()
    # The end state against the reference.
    lost: list[str] = []
    recovered = 0
    by_tenant = {t.client_organisation_id: t.tenant_id for t in tenants}
    runs = list(SyncRun.objects.for_firm(firm).order_by("created_at"))
    for organisation_id, tenant_id in by_tenant.items():
        mine = [r for r in runs if r.organisation_id == organisation_id]
        latest = mine[-1]
        organisation = latest.organisation
        faulted = [r for r in mine[:-1] if r.state == SyncRun.State.FAILED or r.failed_scopes]
        if latest.state == SyncRun.State.SUCCEEDED and not latest.failed_scopes:
            recovered += len(faulted)
            rows = after_close[organisation_id]
            want = expected[tenant_id]
            if {k: rows[k] for k in ("actuals", "budgets")} != {
                k: want[k] for k in ("actuals", "budgets")
            }:
                lost.append(f"{organisation.name}: stored rows differ from the reference")
            drafts = Draft.objects.for_firm(firm).filter(organisation=organisation).count()
            if drafts < want["drafts"]:
                lost.append(f"{organisation.name}: no draft (the reference has one)")
        elif latest.is_active:
            pass  # counted as stuck below
        else:
            lost.append(f"{organisation.name}: last sync {latest.state}, {latest.error[:160]}")
    duplicated = []
    repeated = Counter(
        Reconciliation.objects.for_firm(firm).values_list(
            "sync_run_id", "kind", "period", "tracking_option_id", "tracking_category_id", "line"
        )
    )
    if extra := sum(n - 1 for n in repeated.values() if n > 1):
        duplicated.append(f"{extra} reconciliation rows saved twice by one run")
    for organisation_id in by_tenant:
        drafts = Draft.objects.for_firm(firm).filter(organisation_id=organisation_id).count()
        if drafts > 1:
            duplicated.append(f"organisation {organisation_id}: {drafts} drafts")
    active = (SyncRun.State.QUEUED, SyncRun.State.RUNNING)
    stuck = [f"sync {r.pk} {r.state} at {r.step!r}" for r in runs if r.state in active]
    stuck += [
        f"forecast {f.pk} {f.state} at {f.step!r}"
        for f in ForecastRun.objects.for_firm(firm).filter(state__in=active)
    ]

    for part in (outbound, publishing):
        injected += part["injected"]
        lost += part["lost"]
        duplicated += part["duplicated"]
        stuck += part["stuck"]

    interrupted = sum(1 for r in runs if r.step == "Interrupted")
    print(f"organisations      {len(tenants)}; sandbox latency {args.latency_ms} ms a call")
    print(f"reference          {reference_seconds:.1f} s in-process, no fault, no latency")
    print(f"with faults        {wall:.1f} s on the worker ({wall / reference_seconds:.2f}x)")
    print(f"sync runs          {len(runs)} ({interrupted} interrupted, then queued again)")
    print(f"worker starts      {worker.started} ({worker.exits} after exiting by itself)")
    print(
        f"approvals          {outbound['drafts']} drafts submitted in {outbound['wall']:.1f} s; "
        f"emails {outbound['emails']} arrived of {outbound['emails_expected']}, "
        f"Slack messages {outbound['slack']}"
    )
    print(
        f"publishing         {publishing['publications']} import files of "
        f"{publishing['drafts']} drafts, {publishing['verified']} verified; verifying syncs "
        f"{publishing['wall']:.1f} s"
    )
    for line in lost:
        print("  lost:", line)
    for line in duplicated:
        print("  duplicated:", line)
    for line in stuck:
        print("  stuck:", line)
    redis_server.kill()
    print(
        f"faults: injected {len(injected)}, recovered {recovered}, lost {len(lost)}, "
        f"duplicated {len(duplicated)}, stuck {len(stuck)}; "
        f"emails {outbound['emails']} (dup {outbound['emails_dup']}), "
        f"slack {outbound['slack']} (dup {outbound['slack_dup']}), "
        f"published {publishing['verified']}/{publishing['publications']}"
    )
    if lost or duplicated or stuck:
        sys.exit(1)


if __name__ == "__main__":
    main()
