"""Once an organisation's forecast budget is in Xero, the variance report, its CSV and the API
show actual against the original budget and against the forecast side by side; the original's
figures stay what they were."""

import csv
import io
from decimal import Decimal

from django.urls import reverse

from budgeting.models import Budget, BudgetBalance, BudgetLine, ForecastBudget
from tenants.roles import Role
from tests.budgeting.variance_data import OCTOBER, RENT_JOURNAL, variance_organisation_create

FORECAST_RENT = Decimal("7000.00")


def _forecast_budget(cast, data) -> Budget:
    """The forecast budget beside the overall one, as a sync brings it and publishing finds it:
    Rent re-forecast for October."""
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    overall = Budget.objects.for_firm(cast.firm).get(organisation=cast.organisation, type="OVERALL")
    forecast = Budget.objects.for_firm(cast.firm).create(
        **owned, budget_id="budget-forecast", type="TRACKING", description="Rolling Forecast"
    )
    line = BudgetLine.objects.for_firm(cast.firm).create(
        **owned, budget=forecast, account=data.accounts["469"]
    )
    BudgetBalance.objects.for_firm(cast.firm).create(
        **owned, budget_line=line, period=OCTOBER, amount=FORECAST_RENT
    )
    ForecastBudget.objects.for_firm(cast.firm).create(
        **owned,
        original=overall,
        original_xero_budget_id=overall.budget_id,
        original_name=str(overall),
        name="Rolling Forecast",
        budget=forecast,
        xero_budget_id=forecast.budget_id,
    )
    return forecast


def _csv(content: bytes) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(content.decode())))
    header = rows[1]
    return [dict(zip(header, row, strict=True)) for row in rows[2:]]


def test_the_report_csv_and_api_show_the_forecast_beside_the_original(client, firm_a, firm_b):
    ours = variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    forecast = _forecast_budget(firm_a, ours)
    query = {"period": "2026-10"}
    rent_actual = Decimal("5000.00") + RENT_JOURNAL

    client.force_login(firm_a.member(Role.VIEWER).user)
    args = [firm_a.firm.slug, firm_a.organisation.pk]
    page = client.get(reverse("variance_report", args=args), query).content.decode()
    assert "Against the forecast budget &ldquo;Rolling Forecast&rdquo;" in page
    assert 'id="against-forecast"' in page

    rows = {
        r["Account"]: r
        for r in _csv(client.get(reverse("variance_report_csv", args=args), query).content)
    }
    rent = rows["Rent"]
    # The original's columns are unchanged; the forecast's sit beside them.
    assert Decimal(rent["Month budget"]) == Decimal("5000.00")
    assert Decimal(rent["Month actual"]) == rent_actual
    assert Decimal(rent["Month forecast"]) == FORECAST_RENT
    assert Decimal(rent["Month variance vs forecast"]) == rent_actual - FORECAST_RENT
    # An account the forecast budget has no figure for: a forecast of zero.
    assert Decimal(rows["Sales"]["Month forecast"]) == 0

    api = client.get(
        f"/f/{firm_a.firm.slug}/api/v1/organisations/{firm_a.organisation.public_id}/variances/",
        query,
    ).json()
    assert api["forecast_budget_id"] == forecast.budget_id
    assert api["budget_id"] == "budget-overall"
    (rent_line,) = [
        line
        for section in api["sections"]
        for line in section["lines"]
        if line["account_code"] == "469"
    ]
    assert Decimal(rent_line["month"]["budget"]) == Decimal("5000.00")
    assert Decimal(rent_line["against_forecast"]["month"]["budget"]) == FORECAST_RENT
    assert (
        Decimal(rent_line["against_forecast"]["month"]["variance"]) == rent_actual - FORECAST_RENT
    )

    # Firm B has no forecast budget: the original alone, and nothing of firm A's.
    client.force_login(firm_b.member(Role.VIEWER).user)
    args_b = [firm_b.firm.slug, firm_b.organisation.pk]
    page = client.get(reverse("variance_report", args=args_b), query).content.decode()
    assert "Against the forecast budget" not in page
    rows = _csv(client.get(reverse("variance_report_csv", args=args_b), query).content)
    assert {r["Month forecast"] for r in rows} == {""}
    api = client.get(
        f"/f/{firm_b.firm.slug}/api/v1/organisations/{firm_b.organisation.public_id}/variances/",
        query,
    ).json()
    assert api["forecast_budget_id"] is None
    assert all(line["against_forecast"] is None for s in api["sections"] for line in s["lines"])
    # And firm A's report is not firm B's to read.
    assert client.get(reverse("variance_report", args=args), query).status_code == 404


def test_the_charts_draw_the_forecast_budget_as_a_third_line_once_it_exists(client, firm_a, firm_b):
    ours = variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    _forecast_budget(firm_a, ours)
    query = {"period": "2026-10"}
    rent_actual = Decimal("5000.00") + RENT_JOURNAL
    rent = ours.accounts["469"]

    client.force_login(firm_a.member(Role.VIEWER).user)
    args = [firm_a.firm.slug, firm_a.organisation.pk]
    report = client.get(reverse("variance_report", args=args), query).content.decode()
    account = client.get(
        reverse("variance_account_detail", args=[*args, rent.pk]), query
    ).content.decode()
    for page in (report, account):
        assert page.count('<path class="forecast"') == 1
        assert "Forecast budget (dotted)" in page and "Original budget (dashed)" in page
    # The figures behind the account's chart: October's forecast and the variance against it,
    # beside the original budget's, which is unchanged.
    october = account[account.index('<th scope="row">Oct 2026</th>') :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in october.split('<td class="num">')[1:]]
    assert len(cells) == 5
    assert "5,000.00" in cells[1] and "7,000.00" in cells[3]
    assert f"{rent_actual - FORECAST_RENT:,.2f}".lstrip("-") in cells[4]
    assert "The forecast budget was" in account

    # Firm B has no forecast budget: two lines, the one budget called just "Budget".
    client.force_login(firm_b.member(Role.VIEWER).user)
    args_b = [firm_b.firm.slug, firm_b.organisation.pk]
    page = client.get(reverse("variance_report", args=args_b), query).content.decode()
    assert '<path class="forecast"' not in page and '<path class="budget"' in page
    assert "Forecast budget (dotted)" not in page and "Budget (dashed)" in page
    assert (
        client.get(reverse("variance_account_detail", args=[*args, rent.pk]), query).status_code
        == 404
    )
