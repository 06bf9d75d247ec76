"""Server time of scenarios on the largest sandbox organisation, against PostgreSQL.

    .venv/bin/python bench/scenarios.py [--requests 60] [--reuse]

What runs, all in this process:
- a PostgreSQL database of its own (<DATABASE_URL's name>_bench_scenarios, created afresh);
- the Xero sandbox in-process with the largest organisation (Kestrel Pacific Group, 185
  accounts on the P&L), connected through the real OAuth views and synced for real;
- five scenarios of twelve months on its overall budget, each with adjustments read from a
  sentence (groups, accounts, amounts, months);
- timed: recomputing one scenario (`scenario_compute`: its base, actuals and adjustments
  loaded and the maths run) and the five-scenario comparison page through Django's test
  client (middleware, membership check, queries, template and chart). The queries of each are
  counted, to show they do not grow with the number of accounts or months.

Targets (issue 18): p95 at most 50 ms to recompute one scenario and 150 ms for the comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = (
    urlsplit(os.environ.get("DATABASE_URL", "postgres:///budgets")).path.strip("/") or "budgets"
) + "_bench_scenarios"
TARGETS_MS = {"recompute one scenario": 50.0, "compare five scenarios (page)": 150.0}
SENTENCES = [
    "increase sales by 15% but COGS rises 5%",
    "cut overheads by 10% from March and payroll up 3%",
    "double advertising between March and June",
    "halve travel for the next 6 months and set rent to 40,000 a month",
    "grow turnover 8% with cost of sales following, cut depreciation by 2,000 per month",
]


def _environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/8")
    os.environ["CACHE_KEY_PREFIX"] = f"bench-scenarios-{os.getpid()}"
    os.environ["XERO_RATE_LIMIT_PREFIX"] = f"bench-scenarios:{time.time_ns()}"
    os.environ["LOG_LEVEL"] = "WARNING"


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        db.execute(f"CREATE DATABASE {DB_NAME}")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _time(work, *, requests: int, warmup: int = 5) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of each run. CPU time is this process's only (not
    PostgreSQL's), but it hardly moves when other work shares the machine."""
    for _ in range(warmup):
        work()
    wall, cpu = [], []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


class _Counter:
    # Counts every query, a request's too (the test client's request_started resets
    # connection.queries, so CaptureQueriesContext would see none of a page's).
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--reuse", action="store_true", help="the last run's database, no sync")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    _environment()
    if not args.reuse:
        _fresh_database()
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone
    from django_scopes import scope
    from pages import _connect_and_sync_app, _existing, _firm, _organisations

    from budgeting.models import Budget, Scenario
    from budgeting.scenarios import services
    from budgeting.scenarios.selectors import scenario_compute, scenario_sentence_read
    from core.months import add_months
    from integrations.xero.sandbox.generator import generate_organisations

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    print(f"database {DB_NAME}, PostgreSQL {connection.pg_version}, today {today}")
    if args.reuse:
        cast = _existing("kestrel")
        (kestrel,) = _organisations(cast)
    else:
        group = [o for o in generate_organisations(seed=7, today=today) if o.key == "group"]
        cast = _firm("Kestrel Advisers", "kestrel")
        (kestrel,) = _connect_and_sync_app(cast, group, today, label="Kestrel Pacific Group")
    firm = cast.firm
    user = cast.member("owner").user
    with scope(firm=firm):
        scenarios = list(Scenario.objects.for_firm(firm).filter(organisation=kestrel))
        if not scenarios:
            budget = (
                Budget.objects.for_firm(firm)
                .filter(organisation=kestrel, type=Budget.Type.OVERALL)
                .first()
            )
            first = add_months(today.replace(day=1), 1)
            for n, sentence in enumerate(SENTENCES, 1):
                scenario = services.scenario_create(
                    firm=firm,
                    organisation=kestrel,
                    name=f"Scenario {n}",
                    first_period=first,
                    months=12,
                    base_budget=budget,
                    user=user,
                )
                read = scenario_sentence_read(firm=firm, scenario=scenario, sentence=sentence)
                if not read.ok:
                    raise SystemExit(f"{sentence!r}: {read.problems}")
                services.scenario_adjustments_add(
                    firm=firm,
                    scenario=scenario,
                    adjustments=[a.adjustment for a in read.adjustments],
                    sentence=sentence,
                    user=user,
                )
                scenarios.append(scenario)

        def recompute():
            with scope(firm=firm):
                scenario_compute(firm=firm, scenario=scenarios[0])

        client = Client()
        client.force_login(user)
        compare = (
            reverse("scenario_compare", args=["kestrel", kestrel.pk])
            + "?"
            + "&".join(f"s={s.pk}" for s in scenarios[:5])
        )

        def page():
            response = client.get(compare)
            assert response.status_code == 200, response.status_code

        rows = []
        for label, work in (
            ("recompute one scenario", recompute),
            ("compare five scenarios (page)", page),
        ):
            counter = _Counter()
            with connection.execute_wrapper(counter):
                work()
            timings, cpu = _time(work, requests=args.requests)
            rows.append(
                (
                    label,
                    statistics.median(timings),
                    _p95(timings),
                    statistics.median(cpu),
                    _p95(cpu),
                    counter.count,
                )
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.requests} runs each after 5 warm-up runs; load average {load}\n")
    print(
        f"{'what':34} {'median ms':>10} {'p95 ms':>8} {'cpu med':>8} {'cpu p95':>8} {'queries':>8}"
    )
    for label, median, p95, cpu_median, cpu_p95, queries in rows:
        print(f"{label:34} {median:10.1f} {p95:8.1f} {cpu_median:8.1f} {cpu_p95:8.1f} {queries:8d}")
    print()
    for label, _median, p95, *_rest in rows:
        target = TARGETS_MS[label]
        print(f"{'met' if p95 <= target else 'MISSED':6} p95 <= {target:.0f} ms: {label}")


if __name__ == "__main__":
    main()
