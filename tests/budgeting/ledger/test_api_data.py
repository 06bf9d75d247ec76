"""The partner API's synced data and syncs: what a program reads of a client organisation after a
real sync from the Xero sandbox, and how it starts a sync. Always with two firms."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import re
from decimal import Decimal

import pytest

from budgeting.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    BudgetLine,
    SyncRun,
    TrackingCategory,
    TrackingOption,
)
from integrations.models import XeroConnection
from tenants.models import ApiKey
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.factories import api_key_create

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.
from tests.sandbox import sync

# Tracked (category Project), with budgets: small enough to sync in a test.
CONSTRUCTION = "Ashford & Vale Construction"
GROUP = "Kestrel Pacific Group"
MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@pytest.fixture
def synced(connected_firm):
    """Firm A after a real sync of the construction company; `key` reads, `write_key` syncs."""
    run = sync(connected_firm, CONSTRUCTION)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    cast = connected_firm
    cast.org = cast.linked[CONSTRUCTION]
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(firm=cast.firm, scopes=["write"], name="Sync bot")[1]
    cast.base = f"/api/v1/organisations/{cast.org.public_id}"
    return cast


def _q(cast, model):
    return model.objects.for_firm(cast.firm).filter(organisation=cast.org)


def _all(client, url: str, key: str, **params) -> list[dict]:
    """Every row of a list, following `next` links."""
    rows, pages = [], 0
    response = client.get(url, params, headers=bearer(key))
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        pages += 1
        if not body["next"]:
            return rows
        response = client.get(body["next"], headers=bearer(key))


def _lines(cast, budget):
    return BudgetLine.objects.for_firm(cast.firm).filter(budget=budget)


def _overall_budget(cast) -> Budget:
    return _q(cast, Budget).get(type=Budget.Type.OVERALL)


# --- Happy paths ------------------------------------------------------------------------------


def test_accounts_are_the_synced_chart_by_xeros_ids_with_filters(client, synced):
    rows = _all(client, f"{synced.base}/accounts/", synced.key)
    accounts = _q(synced, Account)
    assert {r["id"] for r in rows} == set(accounts.values_list("account_id", flat=True))
    sales = next(r for r in rows if r["code"] == "200")
    account = accounts.get(code="200")
    assert sales == {
        "id": account.account_id,
        "code": "200",
        "name": account.name,
        "type": account.type,
        "class": account.account_class,
        "status": account.status,
    }

    revenue = _all(client, f"{synced.base}/accounts/", synced.key, **{"class": "REVENUE"})
    assert revenue
    assert {r["class"] for r in revenue} == {"REVENUE"}
    assert len(revenue) == accounts.filter(account_class="REVENUE").count()
    # Xero's codes, in any case.
    lower = _all(client, f"{synced.base}/accounts/", synced.key, **{"class": "revenue"})
    assert lower == revenue
    fixed = _all(client, f"{synced.base}/accounts/", synced.key, type="FIXED", status="ACTIVE")
    assert fixed
    assert {(r["type"], r["status"]) for r in fixed} == {("FIXED", "ACTIVE")}


def test_tracking_categories_come_with_their_options(client, synced):
    rows = _all(client, f"{synced.base}/tracking-categories/", synced.key)
    category = _q(synced, TrackingCategory).get(name="Project")
    project = next(r for r in rows if r["name"] == "Project")
    assert project["id"] == category.category_id
    options = _q(synced, TrackingOption).filter(category=category)
    assert {o["id"]: o["name"] for o in project["options"]} == dict(
        options.values_list("option_id", "name")
    )
    assert all(set(o) == {"id", "name", "status"} for o in project["options"])


def test_budgets_come_with_their_lines(client, synced):
    rows = _all(client, f"{synced.base}/budgets/", synced.key)
    budgets = _q(synced, Budget)
    assert {r["id"] for r in rows} == set(budgets.values_list("budget_id", flat=True))
    overall = _overall_budget(synced)
    row = next(r for r in rows if r["id"] == overall.budget_id)
    assert row["type"] == "OVERALL"
    assert row["tracking_options"] == []
    assert {line["account_id"] for line in row["lines"]} == set(
        _lines(synced, overall).values_list("account__account_id", flat=True)
    )
    assert all(set(line) == {"account_id", "account_code", "account_name"} for line in row["lines"])


@pytest.mark.slow
def test_tracking_budgets_name_their_option_and_are_found_by_it(client, synced):
    # The group has a tracking budget per region, and for Trade and Online.
    assert sync(synced, GROUP).state == SyncRun.State.SUCCEEDED
    base = f"/api/v1/organisations/{synced.linked[GROUP].public_id}/budgets/"
    rows = _all(client, base, synced.key)
    tracking = {r["id"]: r for r in rows if r["type"] == "TRACKING"}
    categories = {o["category"] for r in tracking.values() for o in r["tracking_options"]}
    assert categories == {"Region", "Division"}
    nsw = next(r for r in tracking.values() if r["tracking_options"][0]["name"] == "NSW")
    option = nsw["tracking_options"][0]
    assert set(option) == {"id", "name", "category_id", "category"}

    found = _all(client, base, synced.key, tracking_option=option["id"])
    assert [b["id"] for b in found] == [nsw["id"]]
    found = _all(client, base, synced.key, tracking_option="none")
    assert [b["type"] for b in found] == ["OVERALL"]


def test_budget_balances_are_money_strings_by_month(client, synced):
    budget = _overall_budget(synced)
    url = f"{synced.base}/budgets/{budget.budget_id}/balances/"
    rows = _all(client, url, synced.key, page_size=500)
    balances = BudgetBalance.objects.for_firm(synced.firm).filter(budget_line__budget=budget)
    assert len(rows) == balances.count() > 100
    expected = {
        (b.budget_line.account.account_id, f"{b.period:%Y-%m}"): b.amount
        for b in balances.select_related("budget_line__account")
    }
    for row in rows:
        # Money is a string to the cent, never a float; periods are months.
        assert isinstance(row["amount"], str)
        assert MONEY_RE.match(row["amount"]), row["amount"]
        assert PERIOD_RE.match(row["period"]), row["period"]
        assert Decimal(row["amount"]) == expected[(row["account_id"], row["period"])]
    assert set(rows[0]) == {"account_id", "account_code", "period", "amount", "notes"}
    # Cursor pages walk every row once.
    assert len({(r["account_id"], r["period"]) for r in rows}) == len(rows)


def test_budget_balances_filter_by_period_account_and_class(client, synced):
    budget = _overall_budget(synced)
    url = f"{synced.base}/budgets/{budget.budget_id}/balances/"
    periods = sorted(
        {
            p.strftime("%Y-%m")
            for p in _lines(synced, budget).values_list("balances__period", flat=True)
        }
    )
    first, last = periods[2], periods[4]
    rows = _all(client, url, synced.key, period_from=first, period_to=last)
    assert rows
    assert {r["period"] for r in rows} == {periods[2], periods[3], periods[4]}

    account = _lines(synced, budget).select_related("account").first().account
    by_id = _all(client, url, synced.key, account=account.account_id)
    by_code = _all(client, url, synced.key, account=account.code)
    assert by_id == by_code
    assert {r["account_id"] for r in by_id} == {account.account_id}
    assert len(by_id) == len(periods)

    expenses = _all(client, url, synced.key, **{"class": "EXPENSE"})
    codes = set(
        _q(synced, Account).filter(account_class="EXPENSE").values_list("account_id", flat=True)
    )
    assert expenses
    assert {r["account_id"] for r in expenses} <= codes
    assert _all(client, url, synced.key, account="no-such-account") == []


def test_actuals_overall_and_per_tracking_option(client, synced):
    url = f"{synced.base}/actuals/"
    actuals = _q(synced, ActualBalance)
    rows = _all(client, url, synced.key, page_size=500)
    assert len(rows) == actuals.count()
    assert all(MONEY_RE.match(r["amount"]) for r in rows)
    assert set(rows[0]) == {
        "account_id",
        "account_code",
        "class",
        "tracking_option_id",
        "period",
        "amount",
    }

    overall = _all(client, url, synced.key, tracking_option="none", page_size=500)
    assert len(overall) == actuals.filter(tracking_option__isnull=True).count() > 0
    assert {r["tracking_option_id"] for r in overall} == {None}

    option = actuals.filter(tracking_option__isnull=False).first().tracking_option
    tracked = _all(client, url, synced.key, tracking_option=option.option_id, page_size=500)
    assert len(tracked) == actuals.filter(tracking_option=option).count() > 0
    assert {r["tracking_option_id"] for r in tracked} == {option.option_id}

    sample = actuals.filter(tracking_option__isnull=True).select_related("account").first()
    month = f"{sample.period:%Y-%m}"
    one = _all(
        client,
        url,
        synced.key,
        account=sample.account.code,
        period_from=month,
        period_to=month,
        tracking_option="none",
        **{"class": sample.account.account_class},
    )
    assert one == [
        {
            "account_id": sample.account.account_id,
            "account_code": sample.account.code,
            "class": sample.account.account_class,
            "tracking_option_id": None,
            "period": month,
            "amount": f"{sample.amount:.2f}",
        }
    ]


def test_large_reads_send_an_etag_and_answer_304(client, synced):
    budget = _overall_budget(synced)
    for url in (
        f"{synced.base}/budgets/{budget.budget_id}/balances/?page_size=50",
        f"{synced.base}/actuals/?tracking_option=none",
    ):
        first = client.get(url, headers=bearer(synced.key))
        etag = first["ETag"]
        again = client.get(url, headers={**bearer(synced.key), "If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
    # A change of the figures changes the ETag.
    balance = BudgetBalance.objects.for_firm(synced.firm).filter(budget_line__budget=budget)
    balance.filter(pk=balance.order_by("pk").first().pk).update(amount=Decimal("1.23"))
    url = f"{synced.base}/budgets/{budget.budget_id}/balances/?page_size=50"
    changed = client.get(url, headers={**bearer(synced.key), "If-None-Match": etag})
    assert changed.status_code == 200


def test_sync_runs_list_and_a_sync_started_with_a_write_key(client, synced):
    url = f"{synced.base}/sync-runs/"
    rows = _all(client, url, synced.key)
    run = _q(synced, SyncRun).get()
    assert rows == [
        {
            "id": run.pk,
            "kind": "initial",
            "state": "succeeded",
            "trigger": "manual",
            "progress": 100,
            "step": run.step,
            "counts": {k: v for k, v in run.counts.items() if isinstance(v, int)},
            "closed_up_to": run.counts.get("closed_up_to"),
            "calls_used": run.calls_used,
            "calls_planned": run.calls_planned,
            "error": "",
            "failed_scopes": [],
            "reconciled": True,
            "created_at": rows[0]["created_at"],
            "started_at": rows[0]["started_at"],
            "finished_at": rows[0]["finished_at"],
        }
    ]
    assert run.calls_used == run.calls_planned > 0

    response = client.post(url, {"full": True}, **_h(synced))
    assert response.status_code == 202, response.content
    started = response.json()
    assert started["state"] == "queued"
    assert started["kind"] == "full"
    # Asking again while it is queued gives the same run, not a second one.
    again = client.post(url, **_h(synced))
    assert again.status_code == 202
    assert again.json()["id"] == started["id"]
    # Newest first.
    assert [r["id"] for r in _all(client, url, synced.key)] == [started["id"], run.pk]


def _h(cast, key=None) -> dict:
    return {"headers": bearer(key or cast.write_key), "content_type": "application/json"}


def test_a_sync_needs_a_linked_organisation_with_a_working_connection(client, synced):
    # Firm A's own "Harbour Lane Café" client (from the fixture) is not linked to Xero.
    unlinked = f"/api/v1/organisations/{synced.organisation.public_id}/sync-runs/"
    error = assert_error(client.post(unlinked, **_h(synced)), 409, "not_connected")
    assert "not linked to a Xero organisation" in error["message"]

    XeroConnection.objects.for_firm(synced.firm).update(status=XeroConnection.Status.NEEDS_REAUTH)
    error = assert_error(
        client.post(f"{synced.base}/sync-runs/", **_h(synced)), 409, "needs_reauthorisation"
    )
    assert "re-authorisation" in error["message"]
    assert _q(synced, SyncRun).count() == 1


# --- Scopes and roles -------------------------------------------------------------------------


def test_starting_a_sync_needs_the_write_scope_and_a_role_that_syncs(client, synced):
    url = f"{synced.base}/sync-runs/"
    error = assert_error(client.post(url, **_h(synced, synced.key)), 403, "missing_scope")
    assert "'write'" in error["message"]
    _api_key, approve_key = api_key_create(
        firm=synced.firm, scopes=["approve"], member=synced.member(Role.APPROVER)
    )
    assert_error(client.post(url, **_h(synced, approve_key)), 403, "missing_scope")
    # A write key acting for a viewer can do only what a viewer can.
    _api_key, viewer_key = api_key_create(
        firm=synced.firm, scopes=["write"], member=synced.member(Role.VIEWER)
    )
    assert_error(client.post(url, **_h(synced, viewer_key)), 403, "role_not_allowed")
    assert _q(synced, SyncRun).count() == 1
    # Reading needs only read.
    assert client.get(url, headers=bearer(synced.key)).status_code == 200


def test_signed_in_people_use_the_same_endpoints_under_their_firm(client, synced):
    base = f"/f/{synced.firm.slug}{synced.base}"
    client.force_login(synced.member(Role.VIEWER).user)
    accept = {"Accept": "application/json"}
    assert client.get(f"{base}/accounts/", headers=accept).status_code == 200
    assert_error(client.post(f"{base}/sync-runs/", headers=accept), 403, "role_not_allowed")
    client.force_login(synced.member(Role.PREPARER).user)
    response = client.post(f"{base}/sync-runs/", content_type="application/json", headers=accept)
    assert response.status_code == 202


# --- Another firm -----------------------------------------------------------------------------


def test_another_firms_key_finds_none_of_it(client, synced, firm_b):
    _api_key, key_b = api_key_create(
        firm=firm_b.firm, scopes=ApiKey.Scope.values, member=firm_b.member(Role.OWNER)
    )
    budget = _overall_budget(synced)
    for path in (
        "accounts/",
        "tracking-categories/",
        "budgets/",
        f"budgets/{budget.budget_id}/balances/",
        "actuals/",
        "sync-runs/",
    ):
        response = client.get(f"{synced.base}/{path}", headers=bearer(key_b))
        assert_error(response, 404, "not_found")
        assert CONSTRUCTION not in response.content.decode()
    assert_error(client.post(f"{synced.base}/sync-runs/", headers=bearer(key_b)), 404, "not_found")
    assert _q(synced, SyncRun).count() == 1


def test_a_budget_is_found_only_under_its_own_organisation(client, synced):
    budget = _overall_budget(synced)
    # Firm A's other client has no such budget: not found, as for a made-up id.
    other = f"/api/v1/organisations/{synced.organisation.public_id}"
    for url in (
        f"{other}/budgets/{budget.budget_id}/balances/",
        f"{synced.base}/budgets/00000000-0000-4000-8000-000000000000/balances/",
    ):
        assert_error(client.get(url, headers=bearer(synced.key)), 404, "not_found")


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"period_from": "2026-13"},
            "period_from",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        (
            {"period_to": "March"},
            "period_to",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        (
            {"period_from": "2026-3"},
            "period_from",
            "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03.",
        ),
        (
            {"period_from": "2026-05", "period_to": "2026-04"},
            "period_to",
            "Give a month on or after period_from (2026-05).",
        ),
        ({"class": "INCOME"}, "class", '"INCOME" is not a valid choice.'),
        ({"account": "200; DROP"}, "account", "Give Xero's AccountID or the account's code."),
        ({"tracking_option": "north east"}, "tracking_option", "Give Xero's TrackingOptionID"),
        ({"period": "2026-01"}, "period", "Unknown parameter."),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(client, synced, params, field, message):
    response = client.get(f"{synced.base}/actuals/", params, headers=bearer(synced.key))
    error = assert_error(response, 400, "invalid")
    assert list(error["fields"]) == [field]
    assert error["fields"][field][0].startswith(message)
    assert field in error["message"]


def test_bad_account_filters_and_sync_input_are_400(client, synced):
    response = client.get(f"{synced.base}/accounts/", {"type": "SHOES"}, headers=bearer(synced.key))
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["type"]
    budget = _overall_budget(synced)
    response = client.get(
        f"{synced.base}/budgets/{budget.budget_id}/balances/",
        {"tracking_option": "none"},
        headers=bearer(synced.key),
    )
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["tracking_option"]
    response = client.post(
        f"{synced.base}/sync-runs/",
        {"full": "maybe"},
        **_h(synced),
    )
    assert list(assert_error(response, 400, "invalid")["fields"]) == ["full"]
    assert _q(synced, SyncRun).count() == 1
