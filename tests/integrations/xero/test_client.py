"""The product's Xero client against the sandbox: faults, rate limits, parsing."""

import datetime as dt
import threading
import time
import uuid

import pytest
import redis
from django.conf import settings

from integrations.models import XeroTenant
from integrations.xero.client import XeroClient
from integrations.xero.errors import XeroPayloadError
from integrations.xero.parsing import parse_budgets, parse_profit_and_loss
from integrations.xero.ratelimit import Limits, RedisRateLimiter
from integrations.xero.sandbox.faults import FaultSpec
from tests.sandbox import connect_firm_to_xero


@pytest.fixture
def cafe_tenant(client, firm_a, xero_sandbox):
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    return XeroTenant.objects.for_firm(firm_a.firm).get(tenant_name="Harbour Lane Café")


@pytest.fixture
def limiter():
    connection = redis.Redis.from_url(settings.REDIS_URL)
    limiter = RedisRateLimiter(
        connection, Limits.from_settings(), prefix=f"test:rl:{uuid.uuid4().hex}"
    )
    yield limiter


def _speed_up(sandbox, limiter) -> float:
    """One real second is one sandbox minute, and the limiter's window is told the same."""
    sandbox.state.clock.set_time_scale(60)
    window = sandbox.minute_window_seconds
    limiter.limits = Limits(per_minute=60, concurrent=5, per_day=5000, window_seconds=window)
    return window


def _everything(client: XeroClient, today: dt.date) -> dict:
    month = today.replace(day=1)
    budgets = client.budgets()
    return {
        "organisation": client.organisation(),
        "accounts": client.accounts(),
        "tracking": client.tracking_categories(),
        "budgets": [
            client.budget(b.budget_id, date_from=month.replace(year=month.year - 1), date_to=month)
            for b in budgets
        ],
        "pnl": client.profit_and_loss(
            from_date=dt.date(month.year - 1, 1, 1),
            to_date=dt.date(month.year - 1, 1, 31),
            periods=11,
        ),
        "invoices": client.transaction_lines("Invoices"),
        # Month by month, so the run makes enough calls for the faults to bite.
        "months": [
            client.profit_and_loss(from_date=start, to_date=_month_end(start))
            for start in (_add_months(month, -n) for n in range(1, 31))
        ],
    }


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _month_end(month: dt.date) -> dt.date:
    return _add_months(month, 1) - dt.timedelta(days=1)


def test_a_run_with_ten_percent_faults_gets_the_same_data_as_a_clean_run(
    cafe_tenant, xero_sandbox, limiter, sandbox_today
):
    _speed_up(xero_sandbox, limiter)
    with XeroClient(tenant=cafe_tenant, limiter=limiter, backoff=lambda attempt: 0) as client:
        clean = _everything(client, sandbox_today)
        clean_calls = client.calls

    for kind, extra in [
        ("status", {"status": 503}),
        ("timeout", {"delay_ms": 5}),
        ("malformed_json", {}),
        ("truncated_json", {}),
        ("rate_limit", {"retry_after": 1}),
    ]:
        xero_sandbox.faults.add(
            FaultSpec(kind=kind, organisation="cafe", probability=0.02, seed=11, **extra)
        )
    with XeroClient(tenant=cafe_tenant, limiter=limiter, backoff=lambda attempt: 0) as client:
        faulty = _everything(client, sandbox_today)
        faulty_calls = client.calls
    assert faulty == clean
    assert faulty_calls > clean_calls  # the faults really fired and were retried


def test_burst_of_300_requests_never_gets_a_429_and_runs_near_the_limit(
    cafe_tenant, xero_sandbox, limiter
):
    window = _speed_up(xero_sandbox, limiter)
    token = cafe_tenant.connection.access_token
    xero_sandbox.reset_counters()

    def worker(count):
        with XeroClient(tenant=cafe_tenant, limiter=limiter, access_token=lambda: token) as client:
            for _ in range(count):
                client.get("Organisation")

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(30,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    counters = xero_sandbox.counters()[cafe_tenant.tenant_id]
    assert sum(c["calls"] for c in counters.values()) == 300
    assert sum(c["rateLimited"] for c in counters.values()) == 0
    # 300 calls at 60 a window need at least 4 full windows after the first 60.
    lower_bound = 4 * window
    assert lower_bound <= elapsed < lower_bound * 1.6, (elapsed, lower_bound)


def test_daily_limit_is_never_exceeded(cafe_tenant, xero_sandbox, limiter):
    from integrations.xero.ratelimit import DailyLimitReached

    limiter.limits = Limits(per_minute=60, concurrent=5, per_day=3)
    with XeroClient(tenant=cafe_tenant, limiter=limiter) as client:
        for _ in range(3):
            client.get("Organisation")
        with pytest.raises(DailyLimitReached, match="daily call limit"):
            client.get("Organisation")
        assert client.calls == 3


def test_budgets_parse_as_an_object_or_a_list():
    budget = {
        "BudgetID": "c1d195d4-92aa-4abd-867a-7ac2f9d60500",
        "Type": "TRACKING",
        "Description": "Daniels Northern Budget",
        "UpdatedDateUTC": "2017-08-14T01:18:26.74",
        "Tracking": [
            {
                "TrackingCategoryID": "e94b",
                "Name": "Region",
                "TrackingOptionID": "9c24",
                "Option": "North",
            }
        ],
        "BudgetLines": [
            {
                "AccountID": "9c24de87",
                "AccountCode": "200",
                "BudgetBalances": [
                    {"Period": "2019-08", "Amount": "1000", "Notes": "Sample note"},
                    {"Period": "2019-09", "Amount": 1050.5, "Notes": ""},
                ],
            }
        ],
    }
    as_object = parse_budgets({"Budgets": budget})
    as_list = parse_budgets({"Budgets": [budget]})
    assert as_object == as_list
    balances = as_list[0].lines[0].balances
    assert [b.period for b in balances] == [dt.date(2019, 8, 1), dt.date(2019, 9, 1)]
    assert str(balances[1].amount) == "1050.50"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["Budgets"][0].pop("BudgetID"), "Budgets[0].BudgetID"),
        (
            lambda b: b["Budgets"][0]["BudgetLines"][0]["BudgetBalances"][0].update(Amount="n/a"),
            "Budgets[0].BudgetLines[0].BudgetBalances[0].Amount",
        ),
        (
            lambda b: b["Budgets"][0]["BudgetLines"][0]["BudgetBalances"][0].update(Period=None),
            "Budgets[0].BudgetLines[0].BudgetBalances[0].Period",
        ),
    ],
)
def test_malformed_budget_names_endpoint_and_field(mutate, field):
    body = {
        "Budgets": [
            {
                "BudgetID": "b1",
                "Type": "OVERALL",
                "BudgetLines": [
                    {"AccountID": "a1", "BudgetBalances": [{"Period": "2026-01", "Amount": "10"}]}
                ],
            }
        ]
    }
    mutate(body)
    with pytest.raises(XeroPayloadError) as raised:
        parse_budgets(body, endpoint="Budgets/b1")
    assert raised.value.endpoint == "Budgets/b1"
    assert raised.value.field == field
    assert f"Xero Budgets/b1: {field}" in str(raised.value)


def test_profit_and_loss_reads_account_rows_and_totals():
    account = [{"Value": "e2ba", "Id": "account"}]
    body = {
        "Reports": [
            {
                "Rows": [
                    {
                        "RowType": "Header",
                        "Cells": [{"Value": ""}, {"Value": "31 Mar 26"}, {"Value": "28 Feb 26"}],
                    },
                    {
                        "RowType": "Section",
                        "Title": " Income",
                        "Rows": [
                            {
                                "RowType": "Row",
                                "Cells": [
                                    {"Value": "Sales", "Attributes": account},
                                    {"Value": "9220.05"},
                                    {"Value": "8,110.00"},
                                ],
                            },
                            {
                                "RowType": "SummaryRow",
                                "Cells": [
                                    {"Value": "Total Income"},
                                    {"Value": "9220.05"},
                                    {"Value": "8110.00"},
                                ],
                            },
                        ],
                    },
                    {
                        "RowType": "Section",
                        "Title": "",
                        "Rows": [
                            {
                                "RowType": "Row",
                                "Cells": [
                                    {"Value": "NET PROFIT"},
                                    {"Value": "6720.05"},
                                    {"Value": ""},
                                ],
                            }
                        ],
                    },
                ]
            }
        ]
    }
    report = parse_profit_and_loss(body)
    assert report.columns == ("31 Mar 26", "28 Feb 26")
    assert [(r.account_id, [str(v) for v in r.values]) for r in report.rows] == [
        ("e2ba", ["9220.05", "8110.00"])
    ]
    assert [str(v) for v in report.totals["NET PROFIT"]] == ["6720.05", "0.00"]
