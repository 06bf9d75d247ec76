"""The variance report as firm members see it: figures in the client's currency, the same in the
CSV and the command, narratives and charts on expand, and nothing of another firm's."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from budgeting.models import (
    Account,
    NarrativeProviderSettings,
    TrackingOption,
    VarianceNarrative,
)
from budgeting.variance.services import organisation_variance_refresh
from core.money import amount_in, compact, signed_amount_in
from tenants.roles import Role
from tests.budgeting.variance_data import OCTOBER, variance_organisation_create
from tests.sandbox import sync


@pytest.fixture
def variance_org(firm_a):
    return variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


def report_url(cast, name="variance_report", *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_a_viewer_reads_the_report_in_the_clients_currency(client, firm_a, firm_b, variance_org):
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(report_url(firm_a))

    assert response.status_code == 200
    page = response.content.decode()
    assert "October 2026 (last closed)" in page  # the default month
    assert "NZ$50,000.00" in page and "+NZ$4,100.00" in page
    # Favourable or not is said in words and an icon, not by colour alone.
    assert "▼</span> Unfavourable" in page and "▲</span> Favourable" in page
    for label in ("Income", "Cost of Sales", "Gross Profit", "Operating Expenses", "Net Profit"):
        assert label in page
    assert "Brightwave Media" in page  # the stored narrative, shown on expand
    assert '<svg class="chart"' in page and "<title id=" in page and "<desc id=" in page
    assert "The figures behind the chart" in page and "Net profit by month" in page
    assert "cdn" not in page.lower()


def test_filters_keep_the_totals_and_show_only_matching_lines(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(report_url(firm_a), {"material": "1", "class": "EXPENSE"})

    page = response.content.decode()
    assert "Advertising" in page and "Rent" in page
    assert "Cost of Goods Sold" not in page and ">Sales<" not in page
    assert "Net Profit" in page


def test_htmx_gets_only_the_report_body(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(report_url(firm_a), {"period": "2026-09"}, headers={"HX-Request": "true"})

    page = response.content.decode()
    assert page.lstrip().startswith('<div id="report-body">')
    assert "<html" not in page
    assert "September 2026" in page


def test_the_csv_has_the_figures_the_page_shows(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(report_url(firm_a), {"period": "2026-10"}).content.decode()

    response = client.get(report_url(firm_a, "variance_report_csv"), {"period": "2026-10"})

    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response.content)
    assert rows[0] == ["Currency", "NZD", "Period", "2026-10"]
    header, body = rows[1], rows[2:]
    assert len(body) == 5 + 6  # five accounts and the six section lines
    for row in body:
        record = dict(zip(header, row, strict=True))
        for column in ("Month actual", "Month budget", "YTD actual", "YTD budget"):
            assert amount_in(Decimal(record[column]), "NZD") in page, (record, column)
        assert signed_amount_in(Decimal(record["Month variance"]), "NZD") in page
    ads = next(r for r in body if r[1] == "400")
    assert ads[4:10] == ["7100.00", "3000.00", "4100.00", "136.7", "unfavourable", "yes"]
    net = body[-1]
    assert net[0] == net[2] == "Net Profit"


def test_the_command_prints_the_same_figures(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)
    from_screen = client.get(report_url(firm_a, "variance_report_csv"), {"period": "2026-10"})

    out = io.StringIO()
    call_command(
        "variance_report",
        "--org",
        str(firm_a.organisation.pk),
        "--period",
        "2026-10",
        "--format",
        "csv",
        stdout=out,
    )
    assert csv_rows(out.getvalue().encode()) == csv_rows(from_screen.content)

    out = io.StringIO()
    call_command(
        "variance_report",
        "--org",
        str(firm_a.organisation.pk),
        "--period",
        "2026-10",
        "--format",
        "json",
        stdout=out,
    )
    document = json.loads(out.getvalue())
    assert document["currency"] == "NZD"
    assert [list(r.values())[:-1] for r in document["rows"]] == csv_rows(from_screen.content)[2:]


def test_the_command_reports_a_tracking_option(firm_a, variance_org):
    out = io.StringIO()
    call_command(
        "variance_report",
        "--org",
        str(firm_a.organisation.pk),
        "--period",
        "2026-10",
        "--tracking",
        variance_org.option.option_id,
        stdout=out,
    )
    rows = csv_rows(out.getvalue().encode())
    assert rows[0] == ["Currency", "NZD", "Period", "2026-10"]
    assert [r[0] for r in rows[2:]] == [
        "Income",
        "Cost of Sales",
        "Gross Profit",
        "Other Income",
        "Operating Expenses",
        "Net Profit",
    ]


def test_an_account_expands_to_its_chart_and_a_narrative_written_on_demand(
    client, firm_a, variance_org
):
    client.force_login(firm_a.member(Role.VIEWER).user)
    ads = variance_org.accounts["400"]
    assert not VarianceNarrative.objects.for_firm(firm_a.firm).exists()

    response = client.get(
        report_url(firm_a, "variance_account_detail", ads.pk),
        {"period": "2026-10"},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'role="img"' in page and "Advertising (400), actual against budget, 24 months" in page
    assert "Brightwave Media" in page and "4,100" in page
    assert VarianceNarrative.objects.for_firm(firm_a.firm).get().account == ads


def test_drill_down_lists_the_transactions_of_the_month(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)
    ads = variance_org.accounts["400"]

    response = client.get(
        report_url(firm_a, "variance_account_transactions", ads.pk), {"period": "2026-10"}
    )

    page = response.content.decode()
    assert "Brightwave Media" in page and "Spring campaign" in page and "BW-0042" in page
    assert "NZ$7,100.00" in page  # the total, equal to the month's actual
    response = client.get(
        report_url(firm_a, "variance_account_transactions", ads.pk),
        {"period": "2026-10", "tracking": variance_org.option.pk},
    )
    page = response.content.decode()
    assert "Brightwave Media" in page and "Google Ads" not in page


def test_another_firms_organisation_and_accounts_are_not_found(
    client, firm_a, firm_b, variance_org
):
    theirs = variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    client.force_login(firm_a.member(Role.OWNER).user)
    their_account = theirs.accounts["400"]
    for url in (
        reverse("variance_report", args=[firm_a.firm.slug, firm_b.organisation.pk]),
        reverse("variance_report_csv", args=[firm_a.firm.slug, firm_b.organisation.pk]),
        reverse("variance_materiality", args=[firm_a.firm.slug, firm_b.organisation.pk]),
        # Their account under our organisation, and their tracking option in our report.
        report_url(firm_a, "variance_account_detail", their_account.pk),
        report_url(firm_a, "variance_account_transactions", their_account.pk),
        report_url(firm_a) + f"?tracking={theirs.option.pk}",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Kestrel Construction" not in response.content


def test_the_report_runs_the_same_queries_whatever_the_number_of_accounts(client, firm_a, firm_b):
    variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    variance_organisation_create(
        firm=firm_b.firm, organisation=firm_b.organisation, extra_accounts=60
    )
    counts = []
    for cast in (firm_a, firm_b):
        organisation_variance_refresh(firm=cast.firm, organisation=cast.organisation)
        client.force_login(cast.member(Role.VIEWER).user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(report_url(cast))
        assert response.status_code == 200
        assert Account.objects.for_firm(cast.firm).count() in (5, 65)
        counts.append(len(queries))
    assert counts == [REPORT_QUERIES, REPORT_QUERIES], [q["sql"][:90] for q in queries]


def test_owners_turn_the_narrative_provider_on(client, firm_a):
    url = reverse("narrative_provider_settings", args=[firm_a.firm.slug])
    for role in (Role.ADMIN, Role.VIEWER):
        client.force_login(firm_a.member(role).user)
        assert client.get(url).status_code == 403
    client.force_login(firm_a.member(Role.OWNER).user)
    assert client.get(url).status_code == 200

    incomplete = client.post(url, {"enabled": "on", "base_url": "", "model": ""})
    assert incomplete.status_code == 200
    assert b"Give an endpoint base URL" in incomplete.content

    saved = client.post(
        url,
        {
            "enabled": "on",
            # A public address, literal: the test machine may have no DNS.
            "base_url": "https://1.1.1.1/v1",
            "model": "m-1",
            "api_key": "sk-secret",
        },
    )
    assert saved.status_code == 302
    settings = NarrativeProviderSettings.objects.for_firm(firm_a.firm).get()
    assert (settings.enabled, settings.model, settings.api_key) == (True, "m-1", "sk-secret")
    assert b"sk-secret" not in client.get(url).content


@pytest.mark.parametrize(
    ("base_url", "why"),
    [
        ("http://127.0.0.1:6379/v1", "127.0.0.1, a loopback address"),
        ("http://localhost/v1", "127.0.0.1, a loopback address"),
        ("http://[::1]/v1", "::1, a loopback address"),
        ("http://169.254.169.254/latest", "a cloud metadata service"),
        ("http://10.1.2.3/v1", "a private address"),
        ("http://[fe80::1]/v1", "a link-local address"),
    ],
)
def test_an_endpoint_inside_a_private_network_is_refused_on_save(
    client, firm_a, firm_b, base_url, why
):
    url = reverse("narrative_provider_settings", args=[firm_a.firm.slug])
    client.force_login(firm_a.member(Role.OWNER).user)
    fields = {"enabled": "on", "base_url": base_url, "model": "m-1", "api_key": "sk-1"}
    refused = client.post(url, fields)
    assert refused.status_code == 200
    assert why in refused.content.decode()
    assert b"does not call addresses inside a private network" in refused.content
    assert not NarrativeProviderSettings.objects.for_firm(firm_a.firm).filter(enabled=True)

    # Firm B's owner cannot reach firm A's settings at all.
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.post(url, fields).status_code == 404
    assert not NarrativeProviderSettings.objects.for_firm(firm_a.firm).filter(enabled=True)


def test_production_settings_take_https_endpoints_only(client, firm_a, settings):
    settings.OUTBOUND_HTTPS_ONLY = True
    url = reverse("narrative_provider_settings", args=[firm_a.firm.slug])
    client.force_login(firm_a.member(Role.OWNER).user)
    fields = {"enabled": "on", "base_url": "http://1.1.1.1/v1", "model": "m", "api_key": "k"}
    assert b"must start with https://" in client.post(url, fields).content
    fields["base_url"] = "https://1.1.1.1/v1"
    assert client.post(url, fields).status_code == 302


def test_materiality_is_set_by_members_who_manage_policies(client, firm_a, variance_org):
    url = report_url(firm_a, "variance_materiality")
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.get(url).status_code == 403
    client.force_login(firm_a.member(Role.ADMIN).user)
    response = client.post(
        url,
        {
            "default_percent": "10",
            "default_floor": "500",
            "revenue_percent": "2",
            "revenue_floor": "1000",
        },
    )
    assert response.status_code == 302
    page = client.get(report_url(firm_a), {"material": "1"}).content.decode()
    assert ">Sales<" in page or "Sales</summary>" in page or "200</span> Sales" in page


# The report page's queries: user, membership (and firm), the organisation with its Xero
# profile, tracking options, the budget, the forecast budget beside it (none here), accounts,
# actuals, budget balances, materiality settings, stored narratives; the session comes from the
# cache (cached_db sessions with Redis). Whatever the number of accounts; a forecast budget adds
# one more (its balances). Three more for the currency split (budgeting.currency): the budget
# rates and the month's and the year's transaction lines.
REPORT_QUERIES = 15


@pytest.mark.slow
def test_the_report_for_the_largest_sandbox_organisation_runs_a_fixed_number_of_queries(
    client, connected_firm, django_assert_num_queries
):
    name = "Kestrel Pacific Group"
    firm, organisation = connected_firm.firm, connected_firm.linked[name]
    assert sync(connected_firm, name).state == "succeeded"
    organisation_variance_refresh(firm=firm, organisation=organisation)
    client.force_login(connected_firm.member(Role.VIEWER).user)
    url = reverse("variance_report", args=[firm.slug, organisation.pk])
    option = TrackingOption.objects.for_firm(firm).get(organisation=organisation, name="VIC")
    assert Account.objects.for_firm(firm).filter(organisation=organisation).count() > 250

    for params in ({}, {"tracking": option.pk}, {"material": "1", "class": "EXPENSE"}):
        with django_assert_num_queries(REPORT_QUERIES):
            response = client.get(url, params)
        assert response.status_code == 200
    page = response.content.decode()
    assert "A$" in page and "Repairs - Buildings" in page and "Coastline Shopfitters" in page

    csv_response = client.get(reverse("variance_report_csv", args=[firm.slug, organisation.pk]))
    rows = csv_rows(csv_response.content)[2:]
    assert len(rows) > 150
    page = client.get(url).content.decode()
    for row in rows:
        assert amount_in(Decimal(row[4]), "AUD") in page
        assert signed_amount_in(Decimal(row[6]), "AUD") in page


def test_row_links_reach_the_account_and_its_transactions(client, firm_a, variance_org):
    client.force_login(firm_a.member(Role.VIEWER).user)
    ads = variance_org.accounts["400"]

    page = client.get(report_url(firm_a), {"period": "2026-10"}).content.decode()

    detail = report_url(firm_a, "variance_account_detail", ads.pk)
    transactions = report_url(firm_a, "variance_account_transactions", ads.pk)
    assert f'hx-get="{detail}?period=2026-10"' in page
    assert f'href="{transactions}?period=2026-10"' in page


def _dashboard(client, cast):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("firm_dashboard", args=[cast.firm.slug]))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_the_dashboard_shows_each_clients_net_profit_variance_and_material_count(
    client, firm_a, firm_b, variance_org
):
    from tests.factories import client_organisation_create

    theirs = variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    organisation_variance_refresh(firm=firm_b.firm, organisation=firm_b.organisation)
    client.force_login(firm_a.member(Role.VIEWER).user)
    page, _queries = _dashboard(client, firm_a)
    assert "Not yet" in page  # synced, but the variance refresh has not run

    # An earlier month refreshed too: the dashboard shows the latest.
    organisation_variance_refresh(
        firm=firm_a.firm, organisation=firm_a.organisation, period=OCTOBER.replace(month=9)
    )
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    page, one = _dashboard(client, firm_a)

    assert "\u2212NZ$4,600.00" in page and "unfavourable" in page and "Oct 2026" in page
    report = reverse("variance_report", args=[firm_a.firm.slug, firm_a.organisation.pk])
    assert f'href="{report}?period=2026-10&amp;material=1"' in page
    assert theirs.profile.name not in page

    # More clients with summaries: the same number of queries.
    for i in range(4):
        organisation = client_organisation_create(firm=firm_a.firm, name=f"Client {i}")
        variance_organisation_create(firm=firm_a.firm, organisation=organisation)
        organisation_variance_refresh(firm=firm_a.firm, organisation=organisation)
    page, five = _dashboard(client, firm_a)
    assert page.count("\u2212NZ$4,600.00") == 5
    assert five == one


def test_charts_escape_names_and_describe_the_figures():
    import datetime as dt

    from budgeting.variance.charts import actual_vs_budget_svg, actual_vs_budget_table
    from budgeting.variance.maths import SeriesPoint

    points = [
        SeriesPoint(period=dt.date(2026, m, 1), actual=Decimal(m * 100), budget=Decimal(500))
        for m in range(1, 13)
    ]
    svg = actual_vs_budget_svg(points=points, title="R&D <lab>", chart_id="c1", currency="GBP")
    assert '<title id="c1-title">R&amp;D &lt;lab&gt;</title>' in svg
    assert "In December 2026 the actual was £1,200.00 against a budget of £500.00" in svg
    table = actual_vs_budget_table(points=points, caption="R&D", currency="GBP")
    assert "<caption>R&amp;D</caption>" in table and "+£700.00" in table
    assert actual_vs_budget_svg(points=[], title="X", chart_id="c2", currency="GBP").startswith(
        "<p"
    )


def test_charts_draw_the_budget_from_the_month_it_exists_and_labels_never_overlap():
    import datetime as dt
    import re

    from budgeting.variance.charts import actual_vs_budget_svg, actual_vs_budget_table
    from budgeting.variance.maths import SeriesPoint

    # A budget from April only, a forecast budget from October, actuals that dip just below
    # zero (so zero sits next to the bottom gridline).
    points = [
        SeriesPoint(
            period=dt.date(2026, m, 1),
            actual=Decimal(m * 1000 - 1010),
            budget=Decimal(500) if m >= 4 else Decimal(0),
            budgeted=m >= 4,
            forecast=Decimal(900) if m >= 10 else None,
        )
        for m in range(1, 13)
    ]
    svg = actual_vs_budget_svg(points=points, title="Sales", chart_id="c3", currency="GBP")

    budget = re.search(r'<path class="budget" d="([^"]+)"', svg).group(1)
    forecast = re.search(r'<path class="forecast" d="([^"]+)"', svg).group(1)
    # One unbroken line each, starting at its first month: April is the 4th of 12 points.
    assert budget.count("M") == 1 and len(budget.split()) == 9
    assert forecast.count("M") == 1 and len(forecast.split()) == 3
    april_x = 64 + 3 * (640 - 64 - 12) / 11
    assert budget.startswith(f"M{april_x:.1f},")
    assert "the budget, from April 2026, totalled £4,500.00" in svg
    # Zero is 10 units above the bottom of an 11,000 range: its label alone, not the bottom's.
    labels = [float(y) for y in re.findall(r'<text class="axis" x="58" y="([\d.]+)"', svg)]
    assert all(abs(a - b) >= 14 for a in labels for b in labels if a != b)
    assert len(re.findall(r'<line class="grid', svg)) == 3

    table = actual_vs_budget_table(points=points, caption="Sales", currency="GBP")
    rows = re.findall(r"<tr><th scope=\"row\">(\w+ \d+)</th>(.*?)</tr>", table)
    by_month = dict(rows)
    assert "no budget" in by_month["Jan 2026"] and "no figure" in by_month["Jan 2026"]
    assert "£500.00" in by_month["Apr 2026"] and "£900.00" in by_month["Oct 2026"]


def test_the_open_month_is_marked_partial_on_the_chart_and_said_in_its_description():
    import datetime as dt
    import re

    from budgeting.variance.charts import actual_vs_budget_svg
    from budgeting.variance.maths import SeriesPoint

    points = [
        SeriesPoint(period=dt.date(2026, m, 1), actual=Decimal(1000), budget=Decimal(1000))
        for m in range(1, 13)
    ]
    marked = actual_vs_budget_svg(
        points=points, title="Sales", chart_id="c4", currency="GBP", open_month=dt.date(2026, 12, 1)
    )
    closed = actual_vs_budget_svg(
        points=points, title="Sales", chart_id="c5", currency="GBP", open_month=dt.date(2027, 1, 1)
    )

    (circle,) = re.findall(r'<circle class="partial" cx="([\d.]+)"', marked)
    assert float(circle) == 640 - 12  # the last point, December
    assert "December 2026 is still open in Xero: its actual is partial" in marked
    assert "partial" not in closed


def test_figures_are_written_in_the_organisations_currency():
    from budgeting.variance.formatting import percent_text
    from budgeting.variance.maths import MaterialityThreshold, comparison_build

    assert amount_in(Decimal("12345.6"), "NZD") == "NZ$12,345.60"
    assert amount_in(Decimal("-5"), "GBP") == "\u2212£5.00"
    assert amount_in(Decimal("1"), "SEK") == "SEK 1.00"
    assert signed_amount_in(Decimal("4100"), "AUD") == "+A$4,100.00"
    unbudgeted = comparison_build(
        actual=Decimal(900),
        budget=Decimal(0),
        higher_is_favourable=False,
        threshold=MaterialityThreshold(),
    )
    assert percent_text(unbudgeted) == "no budget"
    assert compact(Decimal("1250000")) == "1.3m" and compact(Decimal("-12345")) == "\u221212k"
