"""The scenario screens: a preparer creates a scenario on the budget, says what changes in a
sentence, confirms what it read, types another adjustment with an account found by code,
compares scenarios side by side, exports them, and sees every change in the history. Firm B
never reaches firm A's scenarios."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from budgeting.models import Scenario, ScenarioAdjustment
from budgeting.scenarios import services
from budgeting.scenarios.selectors import scenario_sentence_read
from tenants.roles import Role
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create
from tests.budgeting.screens import csv_rows, login, text

# The draft organisation's budget from November: Sales 50,000, Interest Income 60, Advertising
# 3,000 and Rent 5,000 a month: net profit 42,060 a month.
BASE_NET = Decimal("42060.00")


def url(cast, name, *args, **query):
    address = reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


@pytest.fixture
def organisation_a(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


@pytest.fixture
def organisation_b(firm_b):
    return draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)


def _scenario(cast, data, name="Sales up", months=12, first=NOVEMBER):
    return services.scenario_create(
        firm=cast.firm,
        organisation=cast.organisation,
        name=name,
        first_period=first,
        months=months,
        base_budget=data.overall,
        user=cast.member(Role.PREPARER).user,
    )


def test_a_preparer_creates_a_scenario_says_what_changes_and_confirms_it(
    client, firm_a, organisation_a
):
    login(client, firm_a)
    page = text(client.get(url(firm_a, "scenario_list")))
    assert "New scenario" in page
    response = client.post(
        url(firm_a, "scenario_create"),
        {
            "name": "Busy year",
            "base": f"budget:{organisation_a.overall.pk}",
            "first_month": "2026-11",
            "months": "12",
        },
    )
    scenario = Scenario.objects.for_firm(firm_a.firm).get(name="Busy year")
    assert response.status_code == 302
    assert response["Location"] == url(firm_a, "scenario_detail", scenario.pk)

    sentence = "What happens to net profit if we increase sales by 15% but advertising rises 5%?"
    read = client.post(url(firm_a, "scenario_sentence", scenario.pk), {"sentence": sentence})
    page = text(read)
    assert "Revenue up 15% from Nov 2026 to Oct 2027" in page
    assert "400 Advertising up 5% from Nov 2026 to Oct 2027" in page
    assert "Confirm and apply" in page
    # Nothing is applied before the user confirms.
    assert not ScenarioAdjustment.objects.for_firm(firm_a.firm).filter(scenario=scenario).exists()

    confirmed = client.post(
        url(firm_a, "scenario_sentence", scenario.pk), {"sentence": sentence, "confirm": "1"}
    )
    assert confirmed.status_code == 302
    scenario.refresh_from_db()
    assert scenario.version == 2
    assert scenario.sentence == sentence
    page = text(client.get(url(firm_a, "scenario_detail", scenario.pk)))
    # 57,500 + 60 - 3,150 - 5,000 a month, against 42,060.
    assert "NZ$49,410.00" in page
    assert "+NZ$7,350.00" in page
    assert "Adjusted: “What happens to net profit" in page
    # The firm's audit log has the scenario's versions and its adjustments, by name.
    audit = text(client.get(url(firm_a, "audit_log"), {"model": "scenario"}))
    assert "Busy year, version 2" in audit
    adjustments = text(client.get(url(firm_a, "audit_log"), {"model": "scenarioadjustment"}))
    assert "Revenue up 15% from Nov 2026 to Oct 2027" in adjustments


def test_a_sentence_it_cannot_read_applies_nothing_and_suggests_accounts(
    client, firm_a, organisation_a
):
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    response = client.post(
        url(firm_a, "scenario_sentence", scenario.pk),
        {"sentence": "cut advertsing by 10% and sales gradually up 4%", "confirm": "1"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "“advertsing” is not an account of this organisation" in page
    assert "Accounts with a similar name: Advertising" in page
    assert "Confirm and apply" not in page
    assert not ScenarioAdjustment.objects.for_firm(firm_a.firm).filter(scenario=scenario).exists()


def test_an_adjustment_typed_with_an_account_found_by_code(client, firm_a, organisation_a):
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a)
    search = text(client.get(url(firm_a, "scenario_account_search"), {"accounts": "46"}))
    assert "469 Rent" in search and "Advertising" not in search
    response = client.post(
        url(firm_a, "scenario_adjustment_add", scenario.pk),
        {
            "accounts": "469 Rent",
            "change": "set_to",
            "value": "7000",
            "per": "month",
            "first": "2027-04",
            "last": "2027-10",
        },
    )
    assert response.status_code == 302
    (row,) = ScenarioAdjustment.objects.for_firm(firm_a.firm).filter(scenario=scenario)
    assert row.account_ids == [organisation_a.accounts["469"].pk]
    assert row.description == "469 Rent set to NZ$7,000.00 a month from Apr 2027 to Oct 2027"
    bad = client.post(
        url(firm_a, "scenario_adjustment_add", scenario.pk),
        {"accounts": "Marketing", "change": "percent", "value": "5"},
    )
    assert bad.status_code == 400
    assert "No account is called Marketing" in bad.content.decode()
    # Removing it is a new version too, and the history says both.
    client.post(url(firm_a, "scenario_adjustment_remove", scenario.pk, row.pk))
    scenario.refresh_from_db()
    assert scenario.version == 3
    page = text(client.get(url(firm_a, "scenario_detail", scenario.pk)))
    assert "Removed: 469 Rent set to" in page
    assert "Added: 469 Rent set to" in page


def test_closed_months_show_their_actuals(client, firm_a, organisation_a):
    scenario = _scenario(firm_a, organisation_a, first=NOVEMBER.replace(month=9), months=3)
    login(client, firm_a)
    page = text(client.get(url(firm_a, "scenario_detail", scenario.pk)))
    assert "months to Oct 2026 are closed" in page
    assert "actual" in page


def test_scenarios_side_by_side_with_a_chart_csv_and_xlsx(client, firm_a, organisation_a):
    user = firm_a.member(Role.PREPARER).user
    first = _scenario(firm_a, organisation_a, name="Sales up 15%")
    second = _scenario(firm_a, organisation_a, name="=Rent up")
    for scenario, sentence in ((first, "increase sales by 15%"), (second, "rent up 20%")):
        read = scenario_sentence_read(firm=firm_a.firm, scenario=scenario, sentence=sentence)
        services.scenario_adjustments_add(
            firm=firm_a.firm,
            scenario=scenario,
            adjustments=[a.adjustment for a in read.adjustments],
            sentence=sentence,
            user=user,
        )
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(url(firm_a, "scenario_compare") + f"?s={first.pk}&s={second.pk}"))
    assert "<svg" in page and "Sales up 15%" in page and "=Rent up" in page
    # Twelve months: 12 x 7,500 more sales; 12 x 1,000 more rent.
    assert "+NZ$90,000.00" in page and "\u2212NZ$12,000.00" in page

    rows = csv_rows(
        client.get(url(firm_a, "scenario_compare_csv") + f"?s={first.pk}&s={second.pk}")
    )
    assert rows[0][:4] == ["scenario", "version", "line", "month"]
    net = [r for r in rows if r[0] == "Sales up 15%" and r[2] == "Net profit"]
    assert net[0][3:7] == ["2026-11", "49560.00", "42060.00", "7500.00"]
    # The name that starts with "=" is text in the spreadsheet, never a formula.
    assert any(r[0] == "'=Rent up" for r in rows)

    response = client.get(url(firm_a, "scenario_compare_xlsx") + f"?s={first.pk}&s={second.pk}")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0][:4] == ["scenario", "version", "line", "month"]
    xlsx_net = next(r for r in cells if r[0] == "Sales up 15%" and r[2] == "Net profit")
    assert (xlsx_net[3], Decimal(str(xlsx_net[4]))) == ("2026-11", Decimal("49560"))
    assert len(cells) == len(rows)

    too_many = "&".join(f"s={n}" for n in range(1, 7))
    assert client.get(url(firm_a, "scenario_compare") + "?" + too_many).status_code == 400


def test_firm_b_never_reaches_firm_a_scenarios(
    client, firm_a, firm_b, organisation_a, organisation_b
):
    scenario = _scenario(firm_a, organisation_a)
    own = _scenario(firm_b, organisation_b, name="Birch plan")
    login(client, firm_b)
    for name, query in (
        ("scenario_compare", f"?s={scenario.pk}"),
        ("scenario_compare_csv", f"?s={scenario.pk}"),
    ):
        assert client.get(url(firm_b, name) + query).status_code == 404
    # Firm A's scenario under firm B's own organisation is not found either.
    assert client.get(url(firm_b, "scenario_detail", scenario.pk)).status_code == 404
    response = client.post(
        url(firm_b, "scenario_sentence", scenario.pk), {"sentence": "sales up 5%", "confirm": "1"}
    )
    assert response.status_code == 404
    page = text(client.get(url(firm_b, "scenario_list")))
    assert "Birch plan" in page and "Sales up" not in page
    assert (
        client.get(url(firm_b, "scenario_compare") + f"?s={own.pk}&s={scenario.pk}").status_code
        == 404
    )


def test_a_viewer_reads_but_cannot_change_a_scenario(client, firm_a, organisation_a):
    scenario = _scenario(firm_a, organisation_a)
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(url(firm_a, "scenario_detail", scenario.pk)))
    assert "Read it" not in page
    response = client.post(
        url(firm_a, "scenario_sentence", scenario.pk), {"sentence": "sales up 5%", "confirm": "1"}
    )
    assert response.status_code == 403
