"""The partner API's scenarios: read a sentence, create a scenario from it or from adjustments,
list, compare side by side; bad input saves nothing. Always with two firms."""

import pytest

from budgeting.models import Draft, Scenario
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.draft_data import draft_organisation_create
from tests.factories import ApprovalChainFactory, BudgetPolicyFactory, api_key_create

SENTENCE = "What happens to net profit if we increase sales by 15% but advertising rises 5%?"


def _cast(cast):
    cast.data = draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.member(Role.PREPARER)
    )[1]
    cast.base = f"/api/v1/organisations/{cast.organisation.public_id}/scenarios"
    return cast


@pytest.fixture
def api_a(firm_a):
    return _cast(firm_a)


@pytest.fixture
def api_b(firm_b):
    return _cast(firm_b)


def _post(client, url, key, body):
    return client.post(url, body, headers=bearer(key), content_type="application/json")


def _create(client, cast, **body):
    body = {
        "name": "Busy year",
        "base": "budget",
        "budget_id": cast.data.overall.budget_id,
        "first_period": "2026-11",
        "months": 12,
        **body,
    }
    return _post(client, cast.base + "/", cast.write_key, body)


def test_a_sentence_is_read_then_a_scenario_is_created_listed_and_compared(client, api_a, api_b):
    read = _post(
        client,
        api_a.base + "/read/",
        api_a.key,
        {"sentence": SENTENCE, "first_period": "2026-11", "months": 12},
    )
    assert read.status_code == 200, read.content
    codes = {code: api_a.data.accounts[code] for code in api_a.data.accounts}
    assert read.json() == {
        "adjustments": [
            {
                "accounts": ["200"],
                "percent": "15",
                "amount": None,
                "per": None,
                "set_to": None,
                "from": "2026-11",
                "to": "2027-10",
            },
            {
                "accounts": ["400"],
                "percent": "5",
                "amount": None,
                "per": None,
                "set_to": None,
                "from": "2026-11",
                "to": "2027-10",
            },
        ],
        "not_understood": [],
    }
    assert not Scenario.objects.for_firm(api_a.firm).exists()

    created = _create(client, api_a, sentence=SENTENCE)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["version"] == 2 and body["budget_id"] == api_a.data.overall.budget_id
    assert [a["description"] for a in body["adjustments"]] == [
        "Revenue up 15% from Nov 2026 to Oct 2027",
        "400 Advertising up 5% from Nov 2026 to Oct 2027",
    ]
    assert body["adjustments"][1]["account_ids"] == [codes["400"].account_id]
    typed = _create(
        client,
        api_a,
        name="Rent up",
        adjustments=[{"accounts": ["469"], "change": "amount", "value": "1000", "per": "month"}],
    )
    assert typed.status_code == 201, typed.content

    listed = client.get(api_a.base + "/", headers=bearer(api_a.key)).json()
    assert [s["name"] for s in listed["results"]] == ["Rent up", "Busy year"]

    ids = f"{body['id']},{typed.json()['id']}"
    compared = client.get(api_a.base + "/compare/", {"ids": ids}, headers=bearer(api_a.key))
    assert compared.status_code == 200, compared.content
    first, second = compared.json()["scenarios"]
    assert compared.json()["currency"] == "NZD"
    # 57,500 + 60 - 3,150 - 5,000 a month, against 42,060.
    assert first["months"][0]["scenario"]["net_profit"] == "49410.00"
    assert first["months"][0]["base"]["net_profit"] == "42060.00"
    assert first["months"][0]["actual"] is None
    assert second["total"]["operating_expenses"] == str(12 * 3000 + 12 * 6000) + ".00"
    assert [y["start"] for y in first["years"]] == ["2026-04", "2027-04"]

    # Firm B sees none of it, and cannot compare firm A's scenarios under its own organisation.
    assert client.get(api_b.base + "/", headers=bearer(api_b.key)).json()["results"] == []
    assert_error(
        client.get(api_b.base + "/compare/", {"ids": ids}, headers=bearer(api_b.key)),
        404,
        "not_found",
    )
    assert_error(client.get(api_a.base + "/", headers=bearer(api_b.key)), 404, "not_found")


def test_bad_input_saves_nothing_and_says_which_part_failed(client, api_a):
    error = assert_error(
        _create(client, api_a, sentence="cut advertsing by 10%"), 409, "not_applied"
    )
    assert "advertsing" in error["message"] and "Advertising" in error["message"]
    assert_error(_create(client, api_a, sentence="cut rent by 150%"), 409, "not_applied")
    outside = _create(client, api_a, sentence="increase sales by 5% from March 2028")
    assert "outside the scenario's months" in assert_error(outside, 409, "not_applied")["message"]
    unknown = _create(
        client, api_a, adjustments=[{"accounts": ["999"], "change": "percent", "value": "5"}]
    )
    assert_error(unknown, 409, "not_applied")
    assert_error(_create(client, api_a, months=0), 400, "invalid")
    assert not Scenario.objects.for_firm(api_a.firm).exists()
    # Without a BudgetID, the overall budget; without adjustments, an empty scenario.
    empty = _create(client, api_a, budget_id=None, name="Empty")
    assert empty.status_code == 400  # a null BudgetID is not a BudgetID
    bare = {
        "name": "Empty",
        "base": "budget",
        "first_period": "2026-11",
        "months": 3,
    }
    made = _post(client, api_a.base + "/", api_a.write_key, bare)
    assert made.status_code == 201, made.content
    assert made.json()["budget_id"] == api_a.data.overall.budget_id
    assert made.json()["adjustments"] == []
    # A read key cannot create.
    denied = _post(client, api_a.base + "/", api_a.key, {"name": "x"})
    assert denied.status_code == 403


def test_a_scenario_becomes_a_draft_and_is_submitted_through_the_api(client, api_a, api_b):
    ApprovalChainFactory(organisation=api_a.organisation)
    created = _create(client, api_a, sentence="increase sales by 10%").json()
    drafts = f"/api/v1/organisations/{api_a.organisation.public_id}/drafts"
    # Firm B cannot, under its own organisation or firm A's.
    assert_error(
        _post(client, f"{api_b.base}/{created['id']}/draft/", api_b.write_key, {}), 404, "not_found"
    )
    assert_error(
        _post(client, f"{api_a.base}/{created['id']}/draft/", api_b.write_key, {}), 404, "not_found"
    )
    response = _post(client, f"{api_a.base}/{created['id']}/draft/", api_a.write_key, {})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "draft_id": body["draft_id"],
        "status": "draft",
        "first_period": "2026-11",
        "horizon": 12,
        "lines": 1,
    }
    submitted = _post(client, f"{drafts}/{body['draft_id']}/submit/", api_a.write_key, {})
    assert submitted.status_code in (200, 201), submitted.content
    assert Draft.objects.for_firm(api_a.firm).get(pk=body["draft_id"]).status == "submitted"
    # A policy of read-only analysis allows no draft: 409, and nothing is made.
    BudgetPolicyFactory(organisation=api_a.organisation, scope="read_only")
    refused = _post(client, f"{api_a.base}/{created['id']}/draft/", api_a.write_key, {})
    assert_error(refused, 409, "not_drafted")
