"""The partner API's sales pipelines: import a CRM export's rows as a new version, list the
versions, read one with its deals and the pipeline beside the forecast; refused rows are named
with their reason and nothing is saved. Always with two firms."""

import pytest

from budgeting.models import SalesPipelineUpload
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.factories import api_key_create

pytestmark = pytest.mark.clock("2026-11-16T09:00:00Z")
DEALS = [
    {"deal": "Harbour fit-out", "amount": "80000", "stage": "Proposal", "close_month": "2026-12"},
    {
        "deal": "Marina catering",
        "amount": "30000.00",
        "probability": "100",
        "close_month": "2027-01",
    },
]


def _cast(cast):
    cast.key = api_key_create(firm=cast.firm)[1]
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.member(Role.PREPARER)
    )[1]
    cast.base = f"/api/v1/organisations/{cast.organisation.public_id}/sales-pipelines/"
    return cast


@pytest.fixture
def api_a(firm_a, organisation_a):
    return _cast(firm_a)


@pytest.fixture
def api_b(firm_b, organisation_b):
    return _cast(firm_b)


def _post(client, cast, body, key=None):
    return client.post(
        cast.base, body, headers=bearer(key or cast.write_key), content_type="application/json"
    )


def test_deals_are_imported_listed_and_read_beside_the_forecast(client, api_a, api_b):
    created = _post(client, api_a, {"deals": DEALS, "file_name": "hubspot.csv"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["version"] == 1 and body["as_of"] == "2026-11" and body["source"] == "api"
    assert (body["deal_count"], body["total_amount"], body["weighted_amount"]) == (
        2,
        "110000.00",
        "70000.00",
    )
    assert body["default_account_code"] == "200"
    assert body["uploaded_by"] == api_a.member(Role.PREPARER).user.email

    listed = client.get(api_a.base, headers=bearer(api_a.key))
    assert [row["version"] for row in listed.json()["results"]] == [1]
    one = client.get(f"{api_a.base}{body['id']}/", headers=bearer(api_a.key)).json()
    assert one["currency"] == "NZD" and one["last_actual"] == "2026-10"
    assert [(d["deal"], d["probability"], d["probability_from_stage"]) for d in one["deals"]] == [
        ("Harbour fit-out", "50.00", True),
        ("Marina catering", "100.00", False),
    ]
    (sales,) = one["lines"]
    assert sales["account_code"] == "200"
    assert sales["weight"]["weight"] == "0.50" and sales["weight"]["tested"] is False
    assert [(m["month"], m["pipeline"]) for m in sales["months"]] == [
        ("2026-11", None),
        ("2026-12", "40000.00"),
        ("2027-01", "30000.00"),
    ]
    assert sales["months"][0]["blended"] == sales["months"][0]["statistical"]

    # Firm B sees none of it, by its own organisation or by firm A's.
    assert client.get(api_b.base, headers=bearer(api_b.key)).json()["results"] == []
    assert_error(
        client.get(f"{api_b.base}{body['id']}/", headers=bearer(api_b.key)), 404, "not_found"
    )
    assert_error(client.get(api_a.base, headers=bearer(api_b.key)), 404, "not_found")
    assert_error(_post(client, api_a, {"deals": DEALS}, key=api_b.write_key), 404, "not_found")
    assert SalesPipelineUpload.objects.for_firm(api_a.firm).count() == 1


def test_refused_rows_are_named_with_their_reason_and_nothing_is_saved(client, api_a):
    bad = [
        *DEALS,
        {"deal": "Words", "amount": "lots", "probability": "50", "close_month": "2026-12"},
        {"deal": "Late", "amount": "5", "probability": "50", "close_month": "2031-01"},
        {"deal": "Nowhere", "amount": "5", "probability": "50", "close_month": "2026-12",
         "tracking_option": "Atlantis"},
    ]  # fmt: skip
    error = assert_error(_post(client, api_a, {"deals": bad}), 400, "invalid")
    assert error["fields"] == {
        "deals.2.amount": ["'lots' is not a number (write 12500.00)"],
        "deals.3.close_month": [
            "2031-01 is out of range: a deal of the pipeline as of Nov 2026 closes from "
            "2026-11 to 2029-10"
        ],
        "deals.4.tracking_option": ["unknown tracking option 'Atlantis'"],
    }
    error = assert_error(
        _post(client, api_a, {"deals": DEALS, "default_account": "469"}), 400, "invalid"
    )
    assert "default_account" in error["fields"]
    assert_error(_post(client, api_a, {"deals": DEALS, "as_of": "2027-01"}), 400, "invalid")
    assert_error(_post(client, api_a, {"deals": [{"deal": "No amount"}]}), 400, "invalid")
    assert not SalesPipelineUpload.objects.for_firm(api_a.firm).exists()


def test_a_read_key_cannot_import(client, api_a):
    response = _post(client, api_a, {"deals": DEALS}, key=api_a.key)
    assert response.status_code == 403
    assert not SalesPipelineUpload.objects.for_firm(api_a.firm).exists()
