"""A firm of 1,000 clients under its staff's month-end load: gunicorn with production settings
on PostgreSQL, driven over real sockets from this (second) process.

    .venv/bin/python bench/load.py [--orgs 1000] [--users 50] [--duration 60] [--reuse]
    .venv/bin/python bench/load.py --orgs 200 --duration 30 --ceiling-duration 15   # quicker
    .venv/bin/python bench/load.py --reuse --in-process 15   # each page in this process, no server

What runs:
- its own database (`<DATABASE_URL's name>_bench_load`, dropped and created afresh, migrated;
  `--reuse` keeps the last run's) and `REDIS_URL`'s db with its own key prefix;
- three firms: "Thousand" with `--orgs` client organisations, "Ten" with 10, and an empty one.
  In the two first, one organisation (Tidepool Software) is connected to the in-process Xero
  sandbox and synced for real, a rolling forecast drafts its Forecast and the draft is submitted
  (its approval screen is the approval queue's page). The other organisations are written in bulk
  (bulk_create, about 1,000 rows a millisecond's worth of SQL each): a Xero link, a profile, a
  year of monthly actuals on 20 accounts, one or two finished sync runs and the month's variance
  summary, with failures, reconciliation differences and material variances sprinkled in so the
  dashboard has clients needing attention;
- the queries each page makes, counted in-process (Django test client) in "Ten" and in
  "Thousand": the same at both sizes is the target;
- gunicorn (`config.wsgi`, `--workers` sync workers, `DEBUG=0`, `SECURE=1`, the production
  settings module, `DB_CONN_MAX_AGE` 60) on 127.0.0.1:`--port`;
- the driver: `--users` threads, each signed in (a session) or holding an API key, requesting the
  dashboard, the variance report, the drafts list and a draft, the approval page and the API's
  organisation, draft and account lists, pausing 1-5 s between pages as people do, for
  `--duration` seconds; then without pauses (`--ceiling-connections` threads) for
  `--ceiling-duration` seconds, over the same pages and over the empty firm's dashboard, to find
  the ceiling. Every request has a 30 s timeout.

It prints, per page, p50/p95/p99 ms, errors and requests a second, with the target (p95 at most
150 ms and no errors with pauses) met or missed, and the ceiling in requests a second per core
beside the empty page's.

    .venv/bin/python -u bench/load.py --pipeline 100 [--pipeline-concurrency 2]
        [--pipeline-latency-ms 150] [--pipeline-deadline 1800]

`--pipeline N` times the month close instead of the pages: N small sandbox organisations
(generated, seed 11) served over HTTP with Xero's limits on (60 calls a minute and 5 at once per
organisation, 10,000 a minute per app) and `--pipeline-latency-ms` on every call; its own
database (`<DATABASE_URL's name>_bench_pipeline`, made afresh) with `REDIS_URL` as the broker;
two Celery worker processes (`celery -A config worker`, prefork, `--pipeline-concurrency`
processes each, bench/shared.py's Worker). First, not timed, each organisation's first sync and
its pipeline on the workers, with the month before last locked: the firm as it stood after last
month's close. Then the close: the sandbox locks last month for every organisation, one sync
each is queued, and each sync, seeing the lock date moved, runs the post-close pipeline on the
workers (budgeting/pipeline.py: variance, a forecast run of source "close", its draft, the
report pack). Each phase waits at most `--pipeline-deadline` seconds for every organisation's
close forecast run to finish or fail. It prints organisations, wall time (syncs queued to the
last pipeline finished), the calls Xero saw and its 429s, the bound Xero's limits set for those
calls (bench/shared.py's xero_limits_bound, as bench/sync.py), wall / bound, pipelines done,
drafts made (target N of N), failures, the workers' peak memory (RSS summed over their
processes, PSS summed, the largest process's RSS, sampled from /proc every 0.5 s) and the load
average. It exits non-zero when a pipeline failed or did not finish.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 150.0
SANDBOX_ORGANISATION = "Tidepool Software"
ACCOUNTS = 20
HISTORY_MONTHS = 12

SECRET_KEY = "bench-load-secret-key-not-for-production-0123456789-abcdefghijklmn"
ENCRYPTION_KEY = "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA="


def _database_url() -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/budgets"))
    name = parts.path.strip("/") + "_bench_load"
    return urlunsplit(parts._replace(path=f"/{name}"))


def _environment(database_url: str) -> dict[str, str]:
    prefix = f"bench-load-{os.getpid()}"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "CACHE_KEY_PREFIX": prefix,
        "XERO_RATE_LIMIT_PREFIX": prefix,
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    return env


def _fresh_database(database_url: str) -> None:
    import psycopg

    name = urlsplit(database_url).path.strip("/")
    admin = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


class Cast:
    """What the tests' connect helpers expect of a firm: the firm and its owner."""

    def __init__(self, firm, owner):
        self.firm, self._owner = firm, owner

    def member(self, role: str):
        return self._owner


def _firm(name: str, slug: str) -> Cast:
    from django_scopes import scopes_disabled

    from tenants.models import Firm, Membership, User
    from tenants.roles import Role

    firm, _ = Firm.objects.get_or_create(slug=slug, defaults={"name": name})
    user, _ = User.objects.get_or_create(email=f"owner@{slug}.example.com")
    with scopes_disabled():
        membership, _ = Membership.objects.get_or_create(
            firm=firm, user=user, defaults={"role": Role.OWNER}
        )
    return Cast(firm, membership)


def _sandbox_draft(cast: Cast, today: dt.date):
    """One organisation synced for real from the sandbox, drafted and submitted."""
    import httpx
    from django.test import Client

    from budgeting.approvals.services import approval_chain_update, draft_submit
    from budgeting.drafts.models import DraftLine
    from budgeting.drafts.services import draft_create_rolling, draft_lines_accept
    from budgeting.ledger.sync import organisation_sync, organisation_sync_start
    from budgeting.variance.services import organisation_variance_refresh
    from integrations.xero.http import use_transport
    from integrations.xero.sandbox.app import create_app
    from integrations.xero.sandbox.generator import generate_organisations
    from tests.sandbox import connect_firm_to_xero, link_all

    organisations = [
        o for o in generate_organisations(seed=7, today=today) if o.name == SANDBOX_ORGANISATION
    ]
    app = create_app(organisations=organisations, today=today)
    with use_transport(httpx.WSGITransport(app=app)):
        connect_firm_to_xero(Client(), cast, app)
        organisation = link_all(cast)[SANDBOX_ORGANISATION]
        run = organisation_sync_start(
            firm=cast.firm, organisation=organisation, trigger="manual", enqueue=False
        )
        run = organisation_sync(firm=cast.firm, run_id=run.pk)
        if run.state != "succeeded":
            raise SystemExit(f"sync of {organisation} failed: {run.error}")
        organisation_variance_refresh(firm=cast.firm, organisation=organisation)
    draft = draft_create_rolling(firm=cast.firm, organisation=organisation).draft
    if draft is None:
        raise SystemExit(f"no draft for {organisation}")
    user = cast.member("owner").user
    lines = list(
        DraftLine.objects.for_firm(cast.firm).filter(draft=draft).values_list("pk", flat=True)
    )
    draft_lines_accept(firm=cast.firm, draft=draft, line_ids=lines, user=user)
    draft.refresh_from_db()
    approval_chain_update(
        firm=cast.firm,
        organisation=organisation,
        user=None,
        steps=[{"name": "Partner", "roles": ["approver"]}],
    )
    draft_submit(firm=cast.firm, draft=draft, user=user)
    return organisation, draft


def _bulk_clients(cast: Cast, count: int, today: dt.date, *, seed: int) -> None:
    """`count` client organisations with a year of history, written in bulk."""
    from django.utils import timezone
    from django_scopes import scope

    from budgeting.ledger.models import Account, ActualBalance, SyncRun, XeroOrganisation
    from budgeting.variance.models import VarianceSummary
    from core.months import add_months, month_start
    from integrations.models import XeroConnection, XeroTenant
    from tenants.models import ClientOrganisation

    rng = random.Random(seed)
    now = timezone.now()
    last_month = add_months(month_start(today), -1)
    periods = [add_months(last_month, -i) for i in range(HISTORY_MONTHS)]
    firm = cast.firm
    with scope(firm=firm):
        connection = XeroConnection.objects.create(
            firm=firm,
            access_token="bench",
            refresh_token="bench",
            access_token_expires_at=now + dt.timedelta(days=365),
        )
        reauth = XeroConnection.objects.create(
            firm=firm,
            access_token="bench",
            refresh_token="bench",
            access_token_expires_at=now,
            status=XeroConnection.Status.NEEDS_REAUTH,
        )
        organisations = ClientOrganisation.objects.bulk_create(
            ClientOrganisation(firm=firm, name=f"Client {n:04d} Ltd", base_currency="NZD")
            for n in range(count)
        )
        XeroTenant.objects.bulk_create(
            XeroTenant(
                firm=firm,
                connection=reauth if rng.random() < 0.01 else connection,
                tenant_id=f"bench-{o.pk}",
                tenant_name=o.name,
                client_organisation=o,
            )
            for o in organisations
        )
        XeroOrganisation.objects.bulk_create(
            XeroOrganisation(
                firm=firm,
                organisation=o,
                xero_organisation_id=f"bench-{o.pk}",
                name=o.name,
                base_currency="NZD",
                financial_year_end_day=31,
                financial_year_end_month=3,
                period_lock_date=add_months(last_month, 1) - dt.timedelta(days=1),
            )
            for o in organisations
        )
        accounts = Account.objects.bulk_create(
            Account(
                firm=firm,
                organisation=o,
                account_id=f"bench-{o.pk}-{a}",
                code=str(200 + a * 10),
                name=f"Account {a}",
                type="REVENUE" if a < 4 else "EXPENSE",
                account_class="REVENUE" if a < 4 else "EXPENSE",
            )
            for o in organisations
            for a in range(ACCOUNTS)
        )
        batch = []
        for account in accounts:
            base = Decimal(rng.randint(500, 50000))
            for period in periods:
                batch.append(
                    ActualBalance(
                        firm=firm,
                        organisation_id=account.organisation_id,
                        account=account,
                        period=period,
                        amount=base + Decimal(rng.randint(-50000, 50000)) / 100,
                    )
                )
            if len(batch) >= 20000:
                ActualBalance.objects.bulk_create(batch)
                batch = []
        ActualBalance.objects.bulk_create(batch)
        runs = []
        for o in organisations:
            roll = rng.random()
            finished = now - dt.timedelta(hours=rng.randint(1, 72))
            runs.append(
                SyncRun(
                    firm=firm,
                    organisation=o,
                    kind=SyncRun.Kind.INITIAL,
                    state=SyncRun.State.SUCCEEDED,
                    reconciled=roll > 0.02,
                    calls_used=rng.randint(8, 20),
                    created_at=finished - dt.timedelta(minutes=2),
                    finished_at=finished,
                )
            )
            if roll < 0.03:
                runs.append(
                    SyncRun(
                        firm=firm,
                        organisation=o,
                        kind=SyncRun.Kind.INCREMENTAL,
                        state=SyncRun.State.FAILED,
                        error="Xero answered 503 three times. The previous data is unchanged.",
                        created_at=finished + dt.timedelta(minutes=30),
                        finished_at=finished + dt.timedelta(minutes=31),
                    )
                )
        SyncRun.objects.bulk_create(runs)
        summaries = []
        for o in organisations:
            budget = Decimal(rng.randint(-20000, 80000))
            actual = budget + Decimal(rng.randint(-30000, 30000))
            summaries.append(
                VarianceSummary(
                    firm=firm,
                    organisation=o,
                    period=last_month,
                    currency_code="NZD",
                    net_profit_actual=actual,
                    net_profit_budget=budget,
                    net_profit_variance=actual - budget,
                    net_profit_percent=(
                        ((actual - budget) / abs(budget) * 100).quantize(Decimal("0.1"))
                        if budget
                        else None
                    ),
                    net_profit_favourable=actual > budget,
                    material_count=rng.choice([0, 0, 0, 1, 2, 5]),
                )
            )
        VarianceSummary.objects.bulk_create(summaries)


def _setup(args, today: dt.date) -> dict:
    """The three firms, their pages and credentials; the queries each page makes."""
    from django.contrib.auth import SESSION_KEY  # noqa: F401  (sessions need the auth app)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.factories import api_key_create

    firms = {}
    for slug, name, count in (("thousand", "Thousand", args.orgs), ("ten", "Ten", 10)):
        cast = _firm(name, slug)
        if not args.reuse:
            started = time.monotonic()
            organisation, draft = _sandbox_draft(cast, today)
            synced = time.monotonic()
            _bulk_clients(cast, count - 1, today, seed=len(slug))
            print(
                f"  {name}: {SANDBOX_ORGANISATION} synced and drafted in "
                f"{synced - started:.0f} s, {count - 1} more written in bulk in "
                f"{time.monotonic() - synced:.0f} s",
                flush=True,
            )
        else:
            from budgeting.drafts.models import Draft

            draft = Draft.objects.for_firm(cast.firm).order_by("pk").first()
            organisation = draft.organisation
        firms[slug] = (cast, organisation, draft)
    empty = _firm("Empty Practice", "empty")
    if not args.reuse:
        from django.db import connection as db

        # A database that has been in use has statistics; one just bulk-loaded has none, and
        # the planner then scans a firm's sync runs once per organisation (400 ms at 1,000).
        with db.cursor() as cursor:
            cursor.execute("ANALYZE")

    def pages_of(slug: str) -> list[tuple[str, str, str]]:
        _cast, o, d = firms[slug]
        api = f"/api/v1/organisations/{o.public_id}"
        return [
            ("dashboard", "session", reverse("firm_dashboard", args=[slug])),
            ("variance report", "session", reverse("variance_report", args=[slug, o.pk])),
            ("drafts", "session", reverse("draft_list", args=[slug, o.pk])),
            ("draft", "session", reverse("draft_detail", args=[slug, o.pk, d.pk])),
            ("approval", "session", reverse("draft_approval", args=[slug, o.pk, d.pk])),
            ("API organisations", "key", "/api/v1/organisations/"),
            ("API drafts", "key", f"{api}/drafts/"),
            ("API accounts", "key", f"{api}/accounts/"),
        ]

    from django.conf import settings

    credentials = {}
    queries: dict[str, dict[str, int]] = defaultdict(dict)
    for slug, (cast, _o, _d) in [*firms.items(), ("empty", (empty, None, None))]:
        client = Client()
        client.force_login(cast.member("owner").user)
        key = api_key_create(firm=cast.firm, scopes=["read"], name="Load bench")[1]
        credentials[slug] = (client.cookies[settings.SESSION_COOKIE_NAME].value, key)
        if slug == "empty":
            continue
        for label, auth, url in pages_of(slug):
            headers = {"Authorization": f"Bearer {key}"} if auth == "key" else {}
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
            queries[label][slug] = len(captured)
    return {
        "pages": pages_of("thousand"),
        "empty": ("empty dashboard", "session", reverse("firm_dashboard", args=["empty"])),
        "credentials": credentials,
        "queries": queries,
    }


def _serve(args, env: dict[str, str]) -> subprocess.Popen:
    server_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        **env,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECURE": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SITE_URL": f"https://127.0.0.1:{args.port}",
        "STATIC_MANIFEST": "0",
        "DB_CONN_MAX_AGE": "60",
        # One key and one session stand for 50 people: their rate limits would only measure that.
        "API_THROTTLE_RATE_KEY": "1000000/min",
        "API_THROTTLE_RATE_SESSION": "1000000/min",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=server_env,
    )
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{args.port}/", timeout=2)
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                raise SystemExit("gunicorn exited") from None
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)

    def add(self, label: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.times[label].append(ms)
            if not ok:
                self.errors[label] += 1


def _drive(args, setup, *, pages, users: int, seconds: float, pause: bool) -> Results:
    import httpx

    results = Results()
    stop = time.monotonic() + seconds
    base = f"http://127.0.0.1:{args.port}"

    def user(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, timeout=30) as http:
            if pause:
                time.sleep(rng.uniform(0, 5))  # people do not all start at once
            while time.monotonic() < stop:
                label, auth, url = rng.choice(pages)
                slug = "empty" if label == "empty dashboard" else "thousand"
                session, key = setup["credentials"][slug]
                headers = {"X-Forwarded-Proto": "https"}
                if auth == "key":
                    headers["Authorization"] = f"Bearer {key}"
                else:
                    # gunicorn runs with SECURE=1, where the session cookie is __Host- prefixed.
                    headers["Cookie"] = f"__Host-sessionid={session}"
                started = time.perf_counter()
                try:
                    ok = http.get(url, headers=headers).status_code == 200
                except httpx.HTTPError:
                    ok = False
                results.add(label, (time.perf_counter() - started) * 1000, ok)
                if pause:
                    time.sleep(rng.uniform(1, 5))

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return results


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _report(results: Results, seconds: float, *, title: str, target: bool) -> dict:
    print(f"\n{title}")
    print(
        f"{'page':22} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50':>7} {'p95':>7} {'p99':>7}"
    )
    figures = {}
    for label in sorted(results.times):
        times = results.times[label]
        row = {
            "requests": len(times),
            "errors": results.errors[label],
            "rps": len(times) / seconds,
            "p50": _pct(times, 50),
            "p95": _pct(times, 95),
            "p99": _pct(times, 99),
        }
        figures[label] = row
        verdict = ""
        if target:
            met = row["p95"] <= TARGET_P95_MS and row["errors"] == 0
            verdict = "met" if met else "MISSED"
        print(
            f"{label:22} {row['requests']:8d} {row['errors']:6d} {row['rps']:7.1f} "
            f"{row['p50']:7.1f} {row['p95']:7.1f} {row['p99']:7.1f} {verdict}"
        )
    total = sum(len(t) for t in results.times.values())
    print(f"{'all':22} {total:8d} {sum(results.errors.values()):6d} {total / seconds:7.1f}")
    return figures


def _in_process(setup, requests: int) -> None:
    """Each page `requests` times through Django's test client in this process (no socket, no
    other worker): wall and CPU time, and the ratio to the empty firm's dashboard measured the
    same way, so a change to a page can be judged on a machine other sessions share."""
    from django.test import Client

    session = {slug: cookie for slug, (cookie, _key) in setup["credentials"].items()}
    dashboard = setup["pages"][0][2]
    pages = [
        setup["empty"],
        *setup["pages"],
        ("dashboard, by name, page 3", "session", f"{dashboard}?sort=name&page=3"),
        ("dashboard, net profit", "session", f"{dashboard}?sort=net_profit"),
        ("dashboard, sync failed", "session", f"{dashboard}?state=sync_failed"),
        ("dashboard, name filter", "session", f"{dashboard}?q=client+01"),
        ("dashboard sync banner", "session", f"{dashboard}?fragment=banner"),
    ]
    from django.conf import settings

    print(f"\nin process (Django test client), {requests} requests a page after 3 to warm up")
    print(f"{'page':28} {'median':>7} {'p95':>7} {'x empty':>7} {'CPU med':>7} {'CPU p95':>7}")
    base = None
    for label, auth, url in pages:
        slug = "empty" if label == "empty dashboard" else "thousand"
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = session[slug]
        headers = {"Authorization": f"Bearer {setup['credentials'][slug][1]}"}
        headers = headers if auth == "key" else {}
        walls, cpus = [], []
        for n in range(3 + requests):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, headers=headers)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert response.status_code == 200, (url, response.status_code)
            if n >= 3:
                walls.append(wall * 1000)
                cpus.append(cpu * 1000)
        median = statistics.median(walls)
        base = base or median
        print(
            f"{label:28} {median:7.1f} {_pct(walls, 95):7.1f} {median / base:7.1f} "
            f"{statistics.median(cpus):7.1f} {_pct(cpus, 95):7.1f}",
            flush=True,
        )


# --- The post-close pipeline on two Celery workers ------------------------------------------------


def _pipeline_closes(firm, since) -> dict[str, set[int] | int]:
    """Since `since`: the organisations whose close's forecast run finished ("done"), those of
    them with a draft (a run that finds no line needing a change makes none), those whose sync
    or forecast run failed, and the syncs and forecast runs still queued or running."""
    from budgeting.drafts.models import Draft, ForecastRun
    from budgeting.ledger.models import SyncRun

    active = (SyncRun.State.QUEUED, SyncRun.State.RUNNING)
    syncs = SyncRun.objects.for_firm(firm).filter(created_at__gte=since)
    forecasts = ForecastRun.objects.for_firm(firm).filter(created_at__gte=since)
    organisations = "organisation_id"
    return {
        "done": set(
            forecasts.filter(
                source=Draft.Source.CLOSE, state=ForecastRun.State.SUCCEEDED
            ).values_list(organisations, flat=True)
        ),
        "drafted": set(
            Draft.objects.for_firm(firm)
            .filter(source=Draft.Source.CLOSE, created_at__gte=since)
            .values_list(organisations, flat=True)
        ),
        "failed": set(
            syncs.filter(state=SyncRun.State.FAILED).values_list(organisations, flat=True)
        )
        | set(
            forecasts.filter(state=ForecastRun.State.FAILED).values_list(organisations, flat=True)
        ),
        "pending": syncs.filter(state__in=active).count()
        + forecasts.filter(state__in=active).count(),
    }


def _pipeline_wait(firm, since, count: int, seconds: float) -> dict[str, set[int] | int]:
    """Until every organisation's pipeline has finished its close's forecast run or failed, or
    nothing has been queued or running for 10 s (a close that started no forecast run), or
    `seconds` have passed."""
    from bench.shared import wait_until

    quiet = {"since": None}
    found: list = [None]

    def done() -> bool:
        found[0] = closes = _pipeline_closes(firm, since)
        if len(closes["done"] | closes["failed"]) >= count:
            return True
        # The pipeline task a sync queues may be on its way still: quiet means 10 s of nothing.
        pending = closes["pending"]
        quiet["since"] = None if pending else (quiet["since"] or time.monotonic())
        return quiet["since"] is not None and time.monotonic() - quiet["since"] > 10

    wait_until(done, seconds=seconds)
    return found[0]


def _pipeline(args) -> None:
    """`--pipeline N`: N organisations closing a month on two Celery workers, timed."""
    from bench.shared import PeakMemory, Worker, xero_limits_bound
    from core.months import add_months, month_start
    from integrations.xero.sandbox.app import create_app
    from integrations.xero.sandbox.clock import SandboxClock
    from integrations.xero.sandbox.faults import FaultSpec
    from integrations.xero.sandbox.generator import generate_small_organisations
    from integrations.xero.sandbox.server import make_sandbox_server

    clock = SandboxClock()
    today = clock.today()
    organisations = generate_small_organisations(count=args.pipeline, seed=11, today=today)
    last_close = month_start(today) - dt.timedelta(days=1)
    # Before the close: the month before last is locked, last month still open.
    for organisation in organisations:
        organisation.period_lock_date = add_months(month_start(today), -1) - dt.timedelta(days=1)
    # Xero's limits on (SandboxLimits' defaults: 60 a minute and 5 at once per organisation,
    # 10,000 a minute per app), over HTTP as the workers would reach Xero.
    sandbox = create_app(organisations=organisations, today=today, clock=clock)
    sandbox.faults.add(
        FaultSpec(kind="latency", delay_ms=args.pipeline_latency_ms, probability=1.0)
    )
    server = make_sandbox_server("127.0.0.1", 0, sandbox, verbose=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/budgets"))
    database_url = urlunsplit(parts._replace(path=f"/{parts.path.strip('/')}_bench_pipeline"))
    env = _environment(database_url)
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "CELERY_BROKER_URL": env["REDIS_URL"],
        "XERO_SANDBOX_URL": f"http://127.0.0.1:{server.server_port}",
    }
    os.environ.update(env)
    _fresh_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from budgeting.ledger.models import SyncRun
    from budgeting.ledger.sync import organisation_sync_start
    from integrations.models import XeroTenant
    from integrations.xero.demo import demo_xero_connect_to
    from tenants import services
    from tenants.models import User

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("pipeline@example.com", "bench-password-1")
    firm = services.firm_create(name="Pipeline Advisory", owner=owner)
    demo_xero_connect_to(firm=firm, user=owner, base_url=env["XERO_SANDBOX_URL"])
    clients = [
        t.client_organisation
        for t in XeroTenant.objects.for_firm(firm).select_related("client_organisation")
    ]
    workers = [
        Worker(env, name=f"pipeline{n}", concurrency=args.pipeline_concurrency) for n in (1, 2)
    ]
    print(
        f"database {urlsplit(database_url).path.strip('/')}, today {today}; {len(clients)} "
        f"organisations; 2 Celery workers, prefork x {args.pipeline_concurrency} each "
        f"(logs /tmp/bench-pipeline1-worker.log, ...)",
        flush=True,
    )
    try:
        for worker in workers:
            worker.start()
        time.sleep(3)  # let the workers connect before the clock starts
        # Each organisation's first sync (a close, being the first) and its pipeline: the state
        # of a firm whose clients synced and drafted last month. Not timed.
        began, since = time.monotonic(), timezone.now()
        for organisation in clients:
            organisation_sync_start(firm=firm, organisation=organisation, trigger="manual")
        closes = _pipeline_wait(firm, since, len(clients), args.pipeline_deadline)
        print(
            f"  before the close: {len(closes['done'])} synced and forecast "
            f"({len(closes['drafted'])} drafts), {len(closes['failed'])} failed, "
            f"{closes['pending']} pending, in {time.monotonic() - began:.0f} s",
            flush=True,
        )
        if len(closes["done"]) < len(clients):
            raise SystemExit("the organisations did not reach the state before the close")

        # The close: every organisation locks last month, so its next sync sees a close.
        with sandbox.state.lock:
            for organisation in organisations:
                organisation.period_lock_date = last_close
        sandbox.reset_counters()
        load_before = os.getloadavg()
        started, since = time.monotonic(), timezone.now()
        with PeakMemory(workers) as memory:
            for organisation in clients:
                organisation_sync_start(
                    firm=firm, organisation=organisation, trigger=SyncRun.Trigger.MANUAL
                )
            closes = _pipeline_wait(firm, since, len(clients), args.pipeline_deadline)
            wall = time.monotonic() - started
        load_after = os.getloadavg()
    finally:
        for worker in workers:
            worker.stop()
        server.shutdown()

    counters = sandbox.counters()
    calls = [sum(c["calls"] for c in eps.values()) for eps in counters.values()]
    limited = sum(c["rateLimited"] for eps in counters.values() for c in eps.values())
    latency = args.pipeline_latency_ms / 1000
    bound = xero_limits_bound(calls=calls, latency=latency)
    floor = max(bound.values())
    # Not Xero's but ours: a sync makes its calls one after another, so no more calls are in
    # flight at once than the workers have processes.
    processes = sum(calls) * latency / (2 * args.pipeline_concurrency)
    mib = 1024 * 1024
    print(f"\npost-close pipeline, 2 workers x {args.pipeline_concurrency} processes")
    print(f"organisations      {len(clients)}")
    print(f"wall time          {wall:.1f} s (the close's syncs queued to every pipeline finished)")
    print(
        f"calls made         {sum(calls)} ({min(calls, default=0)}-{max(calls, default=0)} an "
        f"organisation), 429s {limited}"
    )
    print(
        f"bound              {floor:.1f} s from Xero's limits (app, 10,000 a minute: "
        f"{bound['app_minute']:.1f} s; per organisation, 60 a minute and 5 at once: "
        f"{bound['per_organisation']:.1f} s)"
    )
    print(f"wall / bound       {wall / floor:.1f}" if floor else "wall / bound       - (bound 0)")
    print(
        f"latency per call   {args.pipeline_latency_ms} ms; the calls over the workers' "
        f"{2 * args.pipeline_concurrency} processes alone take {processes:.1f} s"
    )
    done, drafted, failed = closes["done"], closes["drafted"], closes["failed"]
    print(f"pipelines done     {len(done)} of {len(clients)} (the close's forecast run finished)")
    print(f"drafts made        {len(drafted)} of {len(clients)} (target {len(clients)})")
    print(f"failures           {len(failed)}; still pending at the end {closes['pending']}")
    print(
        f"worker peak RSS    {memory.peak_sum / mib:.0f} MiB summed over the 2 workers' "
        f"{2 * (1 + args.pipeline_concurrency)} processes (PSS {memory.peak_pss / mib:.0f} MiB: "
        f"shared pages once), {memory.peak_one / mib:.0f} MiB the largest one "
        f"({memory.samples} samples, every 0.5 s)"
    )
    print(
        "load average       "
        + ", ".join(f"{x:.1f}" for x in load_before)
        + " at the start, "
        + ", ".join(f"{x:.1f}" for x in load_after)
        + " at the end"
    )
    if failed or closes["pending"] or len(done) < len(clients):
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=1000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--ceiling-connections", type=int, default=6)
    parser.add_argument("--ceiling-duration", type=float, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=7401)
    parser.add_argument("--reuse", action="store_true", help="serve the last run's database")
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        metavar="REQUESTS",
        help="time each page this many times in this process instead of serving it",
    )
    parser.add_argument(
        "--pipeline",
        type=int,
        default=0,
        metavar="N",
        help="time the post-close pipeline of N organisations on two Celery workers instead",
    )
    parser.add_argument("--pipeline-concurrency", type=int, default=2, help="processes a worker")
    parser.add_argument(
        "--pipeline-latency-ms", type=int, default=150, help="added to every sandbox call"
    )
    parser.add_argument(
        "--pipeline-deadline", type=float, default=1800, help="seconds each phase may wait"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    if args.pipeline:
        _pipeline(args)
        return
    database_url = _database_url()
    env = _environment(database_url)
    if not args.reuse:
        _fresh_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    print(f"database {urlsplit(database_url).path.strip('/')}, today {today}")
    setup = _setup(args, today)

    print("\nqueries per page (Django test client), at 10 and at", args.orgs, "organisations")
    for label, counts in setup["queries"].items():
        same = "same" if counts["ten"] == counts["thousand"] else "DIFFERENT"
        print(f"  {label:22} {counts['ten']:4d} {counts['thousand']:6d}  {same}")
    if args.in_process:
        _in_process(setup, args.in_process)
        return

    from django.db import connections

    connections.close_all()
    server = _serve(args, env)
    cores = os.cpu_count() or 1
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"\ngunicorn, {args.workers} sync workers on {cores} cores; load average {load}")
        # Each worker's first requests import templates and open its connection: not measured.
        _drive(
            args,
            setup,
            pages=[*setup["pages"], setup["empty"]],
            users=args.workers,
            seconds=5,
            pause=False,
        )
        paused = _drive(
            args, setup, pages=setup["pages"], users=args.users, seconds=args.duration, pause=True
        )
        _report(
            paused,
            args.duration,
            title=f"{args.users} users pausing 1-5 s, {args.duration:.0f} s "
            f"(target: p95 <= {TARGET_P95_MS:.0f} ms, 0 errors)",
            target=True,
        )
        ceiling = _drive(
            args,
            setup,
            pages=setup["pages"],
            users=args.ceiling_connections,
            seconds=args.ceiling_duration,
            pause=False,
        )
        _report(
            ceiling,
            args.ceiling_duration,
            title=f"ceiling: {args.ceiling_connections} connections, no pauses, "
            f"{args.ceiling_duration:.0f} s",
            target=False,
        )
        empty = _drive(
            args,
            setup,
            pages=[setup["empty"]],
            users=args.ceiling_connections,
            seconds=args.ceiling_duration,
            pause=False,
        )
        _report(empty, args.ceiling_duration, title="ceiling of the empty page", target=False)
        mixed = sum(len(t) for t in ceiling.times.values()) / args.ceiling_duration
        bare = sum(len(t) for t in empty.times.values()) / args.ceiling_duration
        print(
            f"\nceiling per core: {mixed / cores:.1f} requests a second over the pages, "
            f"{bare / cores:.1f} on the empty page (ratio {mixed / bare:.2f})"
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
