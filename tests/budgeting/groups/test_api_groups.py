"""The partner API of client groups: the same figures as the screen, rates set through a write
key, and nothing of another firm's."""

import pytest
from django_scopes import scope

from budgeting.models import GroupTranslationRate
from tenants.models import ApiKey
from tenants.roles import Role
from tests.api import assert_error, bearer
from tests.factories import api_key_create

pytestmark = pytest.mark.django_db


def _key(cast, scopes=(ApiKey.Scope.READ,)):
    return api_key_create(firm=cast.firm, scopes=list(scopes), member=cast.member(Role.OWNER))[1]


def test_the_report_has_the_screens_figures_and_each_lines_parts(client, firm_a, group_data):
    response = client.get(
        f"/api/v1/groups/{group_data.group.pk}/report/",
        {"period": "2026-10"},
        headers=bearer(_key(firm_a)),
    )

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "NZD" and body["problem"] == ""
    net = next(t for t in body["totals"] if t["section"] == "net_profit")
    assert net["month"]["actual"] == "34875.00" and net["month"]["budget"] == "45225.00"
    assert net["year_to_date"]["actual"] == "333225.00"
    sales = next(line for line in body["lines"] if line["key"] == "REVENUE:200")
    assert [p["actual"] for p in sales["parts"]] == ["50000.00", "62500.00"]
    assert sales["month"]["actual"] == "112500.00"
    assert {m["name"] for m in body["group"]["members"]} == {
        "Harbour Lane Café",
        "Harbour Lane Sydney",
    }


def test_another_firms_key_finds_no_group(client, firm_a, firm_b, group_data):
    key_b = _key(firm_b, ApiKey.Scope.values)

    listed = client.get("/api/v1/groups/", headers=bearer(key_b))
    assert listed.status_code == 200 and listed.json()["results"] == []
    mine = client.get("/api/v1/groups/", headers=bearer(_key(firm_a))).json()["results"]
    assert [g["name"] for g in mine] == ["Harbour Lane Group"]
    assert mine[0]["parent_id"] == str(group_data.parent.public_id)
    for path in ("report/", "rates/"):
        assert_error(
            client.get(f"/api/v1/groups/{group_data.group.pk}/{path}", headers=bearer(key_b)),
            404,
            "not_found",
        )
    response = client.post(
        f"/api/v1/groups/{group_data.group.pk}/rates/",
        {"currency": "AUD", "month": "2026-10", "basis": "actual", "rate": "0.5"},
        headers=bearer(key_b),
        content_type="application/json",
    )
    assert_error(response, 404, "not_found")


def test_a_write_key_sets_a_rate_and_a_bad_one_is_refused(client, firm_a, group_data):
    key = _key(firm_a, (ApiKey.Scope.READ, ApiKey.Scope.WRITE))
    rates = f"/api/v1/groups/{group_data.group.pk}/rates/"

    zero = client.post(
        rates,
        {"currency": "AUD", "month": "2026-10", "basis": "actual", "rate": "0"},
        headers=bearer(key),
        content_type="application/json",
    )
    unknown = client.post(
        rates,
        {"currency": "USD", "month": "2026-10", "basis": "actual", "rate": "0.6"},
        headers=bearer(key),
        content_type="application/json",
    )
    saved = client.post(
        rates,
        {"currency": "AUD", "month": "2026-10", "basis": "actual", "rate": "0.7925"},
        headers=bearer(key),
        content_type="application/json",
    )
    read_only = client.post(
        rates,
        {"currency": "AUD", "month": "2026-09", "basis": "actual", "rate": "0.79"},
        headers=bearer(_key(firm_a)),
        content_type="application/json",
    )

    assert "above zero" in assert_error(zero, 400, "invalid")["fields"]["rate"][0]
    assert (
        "not a currency of a member" in assert_error(unknown, 400, "invalid")["fields"]["rate"][0]
    )
    assert saved.status_code == 201 and saved.json()["rate"] == "0.79250000"
    assert read_only.status_code == 403
    with scope(firm=firm_a.firm):
        assert GroupTranslationRate.objects.filter(basis="actual").count() == 1


def test_a_group_missing_a_rate_answers_with_the_problem(client, firm_a, group_data):
    response = client.get(
        f"/api/v1/groups/{group_data.group.pk}/report/",
        {"period": "2026-10", "basis": "actual"},
        headers=bearer(_key(firm_a)),
    )

    assert response.status_code == 200
    assert response.json()["problem"].startswith("No translation rate for AUD 2026-04 (actual)")
    assert response.json()["lines"] == []
