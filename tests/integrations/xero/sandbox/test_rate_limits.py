"""Xero's limits: 60 a minute, 5 concurrent and a daily cap per organisation, an app-wide minute."""

from __future__ import annotations

import threading
import time

import httpx

from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.faults import FaultSpec
from integrations.xero.sandbox.ratelimit import SandboxLimits
from integrations.xero.sandbox.server import make_sandbox_server
from tests.integrations.xero.sandbox.harness import CAFE_ID, SAAS_ID, TODAY, connect, make_app

ORG = "/api.xro/2.0/Organisation"


def test_every_response_carries_the_remaining_quota_headers() -> None:
    api = connect(make_app())

    first = api.get(ORG)
    second = api.get(ORG)

    assert first.headers["X-DayLimit-Remaining"] == "4999"
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert first.headers["X-AppMinLimit-Remaining"] == "9999"
    assert second.headers["X-MinLimit-Remaining"] == "58"


def test_the_61st_call_in_a_minute_gets_429_until_the_window_rolls() -> None:
    app = make_app()
    api = connect(app)
    for _ in range(60):
        assert api.get(ORG).status_code == 200

    refused = api.get(ORG)

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    app.clock.advance(int(refused.headers["Retry-After"]))
    assert api.get(ORG).status_code == 200


def test_sped_up_clock_reports_retry_after_in_real_seconds() -> None:
    app = make_app(clock=SandboxClock(today=TODAY, time_scale=60.0))
    api = connect(app)
    assert app.minute_window_seconds == 1.0
    for _ in range(60):
        api.get(ORG)

    refused = api.get(ORG)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    time.sleep(1.05)
    assert api.get(ORG).status_code == 200


def test_organisations_are_limited_separately() -> None:
    app = make_app(limits=SandboxLimits(minute=3))
    api = connect(app)
    for _ in range(3):
        api.get(ORG, tenant=CAFE_ID)

    assert api.get(ORG, tenant=CAFE_ID).status_code == 429
    assert api.get(ORG, tenant=SAAS_ID).status_code == 200


def test_daily_limit() -> None:
    app = make_app(limits=SandboxLimits(day=2))
    api = connect(app)
    api.get(ORG)
    api.get(ORG)
    app.clock.advance(120)  # well past the minute window

    refused = api.get(ORG)

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "day"
    assert refused.headers["X-DayLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) > 80000


def test_app_minute_limit_spans_organisations() -> None:
    app = make_app(limits=SandboxLimits(app_minute=3))
    api = connect(app)
    api.get(ORG, tenant=CAFE_ID)
    api.get(ORG, tenant=SAAS_ID)
    api.get(ORG, tenant=CAFE_ID)

    refused = api.get(ORG, tenant=SAAS_ID)

    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "appminute"


def _burst(call: callable, count: int) -> list[httpx.Response]:  # type: ignore[valid-type]
    barrier = threading.Barrier(count)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        response = call()
        with lock:
            results.append(response)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_more_than_five_concurrent_calls_are_refused_in_process() -> None:
    app = make_app()
    api = connect(app)
    app.faults.add(FaultSpec("latency", count=100, delay_ms=400))

    results = _burst(lambda: api.get(ORG), 7)

    refused = [r for r in results if r.status_code == 429]
    assert len(refused) == 2
    assert {r.headers["X-Rate-Limit-Problem"] for r in refused} == {"concurrent"}
    assert sum(r.status_code == 200 for r in results) == 5


def test_concurrency_over_real_http_with_the_threading_server() -> None:
    app = make_app()
    api = connect(app)
    app.faults.add(FaultSpec("latency", count=100, delay_ms=400))
    server = make_sandbox_server("127.0.0.1", 0, app, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    headers = {"Authorization": f"Bearer {api.tokens['access_token']}", "xero-tenant-id": CAFE_ID}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=5) as client:
            results = _burst(lambda: client.get(ORG, headers=headers), 7)
    finally:
        server.shutdown()
        server.server_close()

    assert sorted(r.status_code for r in results) == [200] * 5 + [429] * 2
