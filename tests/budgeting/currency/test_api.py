"""The partner API's currency split and budget rates, always with two firms: firm B's keys never
reach firm A's organisation, and a bad rate saves nothing."""

from decimal import Decimal

import pytest

from budgeting.models import BudgetRate
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.budgeting.currency.data import importer_create
from tests.factories import api_key_create

D = Decimal


def _cast(cast):
    cast.data = importer_create(firm=cast.firm, organisation=cast.organisation)
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.member(Role.PREPARER)
    )[1]
    cast.base = f"/api/v1/organisations/{cast.organisation.public_id}"
    return cast


@pytest.fixture
def api_a(firm_a):
    return _cast(firm_a)


@pytest.fixture
def api_b(firm_b):
    return _cast(firm_b)


def _set(client, cast, key, **body):
    return client.post(
        cast.base + "/budget-rates/", body, headers=bearer(key), content_type="application/json"
    )


def test_rates_are_set_then_the_split_adds_up_to_the_variance(client, api_a):
    assert _set(client, api_a, api_a.write_key, currency="usd", rate="1.30").status_code == 201
    created = _set(client, api_a, api_a.write_key, currency="EUR", rate="1.17")
    assert created.json()["rate"] == "1.170000"
    assert created.json()["origin"] == "entered"
    listed = client.get(api_a.base + "/budget-rates/", headers=bearer(api_a.key))
    assert [(r["currency"], r["period"], r["rate"]) for r in listed.json()["results"]] == [
        ("USD", None, "1.300000"),
        ("EUR", None, "1.170000"),
    ]

    response = client.get(
        api_a.base + "/variances/currency/?period=2026-10", headers=bearer(api_a.key)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["currency"] == "GBP"
    by_code = {a["account_code"]: a for a in body["accounts"]}
    assert set(by_code) == {"310", "499"}
    month = by_code["310"]["month"]
    assert (month["variance"], month["volume"], month["rate"], month["gains_losses"]) == (
        "6666.67",
        "5000.00",
        "1666.67",
        "0.00",
    )
    usd = next(c for c in month["by_currency"] if c["currency"] == "USD")
    assert (usd["foreign"], usd["actual_rate"], usd["budget_rate"], usd["effect"]) == (
        "26000.00",
        "1.200000",
        "1.300000",
        "1666.67",
    )
    assert by_code["499"]["month"]["gains_losses"] == "312.40"
    for account in body["accounts"]:
        for span in ("month", "year_to_date"):
            split = account[span]
            parts = D(split["volume"]) + D(split["rate"]) + D(split["gains_losses"])
            assert parts == D(split["variance"])


def test_a_bad_rate_is_refused_with_the_reason_and_saves_nothing(client, api_a):
    # Not a rate at all: invalid, field by field.
    for body, field in (
        ({"currency": "USD", "rate": "-1"}, "rate"),
        ({"currency": "USD", "rate": "1,3"}, "rate"),
        ({"currency": "US", "rate": "1.3"}, "currency"),
        ({"currency": "USD", "period": "2026-13", "rate": "1.3"}, "period"),
    ):
        error = assert_error(_set(client, api_a, api_a.write_key, **body), 400, "invalid")
        assert list(error["fields"]) == [field], body
    # Well formed, but not one the organisation can keep: refused with the reason.
    for body, reason in (
        ({"currency": "USD", "rate": "0"}, "more than zero"),
        ({"currency": "XYZ", "rate": "1.2"}, "unknown currency XYZ"),
        ({"currency": "GBP", "rate": "1"}, "base currency"),
        ({"currency": "USD", "period": "2030-01", "rate": "1.2"}, "outside the budget"),
    ):
        error = assert_error(_set(client, api_a, api_a.write_key, **body), 409, "refused")
        assert reason in error["message"], body
    assert not BudgetRate.objects.for_firm(api_a.firm).exists()
    # A read key cannot write.
    assert _set(client, api_a, api_a.key, currency="USD", rate="1.3").status_code == 403


def test_firm_b_reaches_none_of_firm_as(client, api_a, api_b):
    for url in ("/budget-rates/", "/variances/currency/?period=2026-10"):
        assert_error(client.get(api_a.base + url, headers=bearer(api_b.key)), 404, "not_found")
    response = _set(client, api_a, api_b.write_key, currency="USD", rate="1.3")
    assert_error(response, 404, "not_found")
    assert not BudgetRate.objects.for_firm(api_a.firm).exists()
