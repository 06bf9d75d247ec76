"""Benchmark the partner API: list 10,000 budget balances page by page over real HTTP.

    .venv/bin/python bench/api.py                 # fill budgets_bench if needed, then measure
    .venv/bin/python bench/api.py --reset         # drop and refill the bench database first
    .venv/bin/python bench/api.py --rounds 3 --clients 1 4

A gunicorn server (sync workers) is started on loopback against a PostgreSQL database of its own,
`budgets_bench`, filled by direct inserts: one firm, one client organisation, one overall budget
of 100 accounts x 100 months = 10,000 BudgetBalance rows. Each round walks every page of
`/budgets/{id}/balances/` by its `next` links with a read key, at page sizes 100 and 500; the
baseline is the same number of requests to `/organisations/` (one row) in the same run. Each
client keeps its HTTP connection open; with several clients they run at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "budgets_bench"
PG = "postgres://postgres@127.0.0.1:5432"
ACCOUNTS, MONTHS = 100, 100
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DATABASE_URL": f"{PG}/{DATABASE}",
    "REDIS_URL": "redis://127.0.0.1:6379/13",
    "CACHE_KEY_PREFIX": "bench",
    "DEBUG": "0",
    "SECURE": "0",
    "SECRET_KEY": "bench-secret-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz",
    "FIELD_ENCRYPTION_KEY": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleS0=",
    "ALLOWED_HOSTS": "127.0.0.1",
    "STATIC_MANIFEST": "0",
    # Persistent database connections, as production runs; one connection per worker.
    "DB_CONN_MAX_AGE": "60",
    # Throttling stays on (it is a Redis round trip per request) but must not stop the walk.
    "API_THROTTLE_RATE_KEY": "1000000/min",
    "LOG_LEVEL": "WARNING",
}


def _setup_django() -> None:
    os.environ.update(SERVER_ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_prepare(reset: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if exists and reset:
            conn.execute(f'DROP DATABASE "{DATABASE}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def data_fill() -> tuple[str, str, str]:
    """The bench firm's data and a read key: (key, organisation public id, budget id)."""
    from django.db import connection, transaction
    from django_scopes import scope, scopes_disabled

    from budgeting.models import Account, Budget, BudgetBalance, BudgetLine
    from tenants.api_keys import api_key_create
    from tenants.models import ApiKey, ClientOrganisation, Firm, Membership, User
    from tenants.roles import Role

    with scopes_disabled(), transaction.atomic():
        firm, _ = Firm.objects.get_or_create(slug="bench", defaults={"name": "Bench & Co"})
        user, _ = User.objects.get_or_create(email="owner@bench.example.com")
        owner, _ = Membership.objects.get_or_create(firm=firm, user=user, role=Role.OWNER)
        organisation, _ = ClientOrganisation.objects.get_or_create(firm=firm, name="Bench Ltd")
        owned = {"firm": firm, "organisation": organisation}
        budget, _ = Budget.objects.get_or_create(
            **owned,
            budget_id="0b0e0c0a-0000-4000-8000-000000010000",
            defaults={"type": Budget.Type.OVERALL, "description": "Overall Budget"},
        )
        if not BudgetBalance.objects.filter(budget_line__budget=budget).exists():
            accounts = Account.objects.bulk_create(
                Account(
                    **owned,
                    account_id=f"0a000000-0000-4000-8000-{n:012d}",
                    code=str(4000 + n),
                    name=f"Expense {n}",
                    type="OVERHEADS",
                    account_class="EXPENSE",
                )
                for n in range(ACCOUNTS)
            )
            lines = BudgetLine.objects.bulk_create(
                BudgetLine(**owned, budget=budget, account=a) for a in accounts
            )
            months = [dt.date(2020 + m // 12, m % 12 + 1, 1) for m in range(MONTHS)]
            BudgetBalance.objects.bulk_create(
                (
                    BudgetBalance(
                        **owned,
                        budget_line=line,
                        period=month,
                        amount=Decimal(1000 + 37 * i + 11 * j) / 4,
                    )
                    for i, line in enumerate(lines)
                    for j, month in enumerate(months)
                ),
                batch_size=2000,
            )
        count = BudgetBalance.objects.filter(budget_line__budget=budget).count()
        ApiKey.objects.filter(firm=firm).delete()
    # Fresh statistics, as autovacuum would have by the time anyone reads a synced budget:
    # without them PostgreSQL plans for an empty table.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with scope(firm=firm):
        key = api_key_create(firm=firm, actor=owner, name="Bench", scopes=["read"]).key
    print(f"budgets_bench: {count:,} budget balances (direct inserts), firm {firm.slug}")
    return key, str(organisation.public_id), budget.budget_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_start(workers: int) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--worker-class=sync",
        "--log-level=warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **SERVER_ENV})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/v1/schema/", timeout=2)
            return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start within 30 s")


def walk_balances(http: httpx.Client, url: str, timings: list[float]) -> int:
    rows = 0
    while url:
        start = time.perf_counter()
        response = http.get(url)
        timings.append(time.perf_counter() - start)
        response.raise_for_status()
        body = response.json()
        rows += len(body["results"])
        url = body["next"]
    return rows


def repeat(http: httpx.Client, url: str, times: int, timings: list[float]) -> int:
    for _ in range(times):
        start = time.perf_counter()
        response = http.get(url)
        timings.append(time.perf_counter() - start)
        response.raise_for_status()
    return times


def workers_cpu_seconds(master: int) -> float:
    """CPU time (user + system) of gunicorn's workers so far, from /proc (Linux). Unlike
    wall-clock figures it hardly moves when other jobs load the machine."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ..., utime and stime are fields 14 and 15 of stat.
        if int(fields[1]) == master:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(base: str, key: str, clients: int, job, master: int) -> dict:
    """Run `job(http, timings)` in each of `clients` threads at once; pooled figures."""
    timings: list[list[float]] = [[] for _ in range(clients)]
    rows = [0] * clients
    headers = {"Authorization": f"Bearer {key}"}

    def run(i: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            rows[i] = job(http, timings[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    cpu = workers_cpu_seconds(master)
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        # Bounded like every wait of the benchmarks: a client stuck for 10 minutes is a failure.
        t.join(timeout=600)
        if t.is_alive():
            raise SystemExit("a client thread did not finish within 10 minutes")
    elapsed = time.perf_counter() - start
    cpu = workers_cpu_seconds(master) - cpu
    all_timings = sorted(t for ts in timings for t in ts)
    return {
        "requests": len(all_timings),
        "rows": sum(rows),
        "rps": len(all_timings) / elapsed,
        "p50": statistics.median(all_timings) * 1000,
        "p95": all_timings[int(0.95 * (len(all_timings) - 1))] * 1000,
        "seconds": elapsed,
        "cpu_ms": cpu * 1000 / len(all_timings),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reset", action="store_true", help="drop and refill budgets_bench")
    parser.add_argument("--rounds", type=int, default=3, help="walks of every page per client")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    _setup_django()
    database_prepare(args.reset)
    key, organisation, budget = data_fill()
    balances = f"/api/v1/organisations/{organisation}/budgets/{budget}/balances/"
    server, base = server_start(args.workers)
    master = server.pid
    print(f"gunicorn on {base}, {args.workers} sync workers; {args.rounds} rounds per client\n")
    try:
        # Warm every worker's connections and imports before timing anything.
        measure(base, key, max(args.clients), lambda h, t: repeat(h, balances, 10, t), master)
        header = f"{'clients':>7} {'endpoint':<34} {'requests':>8} {'req/s':>8} "
        header += f"{'p50 ms':>7} {'p95 ms':>7} {'rows/s':>8} {'cpu ms/req':>10}"
        print(header)
        for clients in args.clients:
            results = {}
            for page_size in (100, 500):
                url = f"{balances}?page_size={page_size}"

                def walk(http, timings, url=url):
                    return sum(walk_balances(http, url, timings) for _ in range(args.rounds))

                results[page_size] = measure(base, key, clients, walk, master)
            # The baseline: as many requests to a trivial endpoint (one organisation).
            times = results[100]["requests"] // clients
            results["baseline"] = measure(
                base,
                key,
                clients,
                lambda h, t, n=times: repeat(h, "/api/v1/organisations/", n, t),
                master,
            )
            names = {
                100: "balances, page_size=100",
                500: "balances, page_size=500",
                "baseline": "baseline: organisations (1 row)",
            }
            for name, r in results.items():
                rows_per_s = r["rows"] / r["seconds"] if name != "baseline" else 0
                print(
                    f"{clients:>7} {names[name]:<34} {r['requests']:>8} {r['rps']:>8.1f} "
                    f"{r['p50']:>7.1f} {r['p95']:>7.1f} {rows_per_s:>8.0f} {r['cpu_ms']:>10.1f}"
                )
                assert name == "baseline" or r["rows"] == 10_000 * args.rounds * clients
            base_r = results["baseline"]
            for page_size in (100, 500):
                r = results[page_size]
                print(
                    f"{'':>7}   ratio page_size={page_size} / baseline: "
                    f"req/s {r['rps'] / base_r['rps']:.2f}, p95 {r['p95'] / base_r['p95']:.2f}, "
                    f"cpu/req {r['cpu_ms'] / base_r['cpu_ms']:.2f}; "
                    f"all 10,000 rows in {10_000 / page_size / r['rps'] * clients:.2f} s "
                    "per client"
                )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
