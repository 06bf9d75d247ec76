"""The budget-rates page and the variance report's currency split, as a preparer uses them;
firm B reaches none of firm A's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgeting.currency import services
from budgeting.models import BudgetRate
from tenants.roles import Role
from tests.budgeting.currency.data import importer_create
from tests.budgeting.screens import csv_rows, login, text

D = Decimal


def url(cast, name, *args, **query):
    address = reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])
    if query:
        address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return address


@pytest.fixture
def importer_a(firm_a):
    return importer_create(firm=firm_a.firm, organisation=firm_a.organisation)


@pytest.fixture
def importer_b(firm_b):
    return importer_create(firm=firm_b.firm, organisation=firm_b.organisation)


def _rates(cast):
    return {
        (r.currency, r.period): r.rate
        for r in BudgetRate.objects.for_firm(cast.firm).filter(organisation=cast.organisation)
    }


def _set(cast, currency, rate):
    return services.budget_rate_set(
        firm=cast.firm, organisation=cast.organisation, currency=currency, period=None, rate=D(rate)
    )


# The actual-rates table shows the twelve months to today: pinned to a day after October 2026.
@pytest.mark.clock("2026-11-20T09:00")
def test_a_preparer_enters_averages_and_imports_budget_rates(client, firm_a, importer_a):
    login(client, firm_a)
    page = text(client.get(url(firm_a, "budget_rates")))
    assert "No budget rates yet" in page
    # September's dollar bills, on the actual-rates table, beside no budget rate yet.
    assert "1.254902" in page

    response = client.post(
        url(firm_a, "budget_rate_enter"),
        {"entered-currency": "EUR", "entered-month": "", "entered-rate": "1.17"},
    )
    assert response.status_code == 302
    response = client.post(
        url(firm_a, "budget_rate_average"),
        {"average-currency": "USD", "average-first": "2026-09", "average-last": "2026-09"},
    )
    assert response.status_code == 302
    assert _rates(firm_a) == {("EUR", None): D("1.170000"), ("USD", None): D("1.254902")}

    upload = SimpleUploadedFile(
        "rates.csv", b"currency,month,rate\nUSD,2026-10,1.3\nEUR,2026-11,0\nAUD,,2\n"
    )
    page = client.post(url(firm_a, "budget_rates_upload"), {"file-file": upload})
    assert page.status_code == 400
    body = page.content.decode()
    assert "Line 3: rate 0: a rate must be more than zero" in body
    assert "Line 4: unknown currency AUD" in body
    assert _rates(firm_a)[("USD", dt.date(2026, 10, 1))] == D("1.300000")

    rows = csv_rows(client.get(url(firm_a, "budget_rates_csv")))
    assert rows[0] == ["currency", "month", "rate", "source", "note"]
    assert ["USD", "2026-10", "1.300000", "Imported from a file", "Imported, line 2"] in rows


def test_bad_input_on_the_rates_page_is_refused_with_the_reason(client, firm_a, importer_a):
    login(client, firm_a)
    for data, reason in (
        ({"entered-currency": "USD", "entered-month": "", "entered-rate": "0"}, "greater than"),
        ({"entered-currency": "USD", "entered-month": "", "entered-rate": "-2"}, "greater than"),
        ({"entered-currency": "USD", "entered-month": "2031-01", "entered-rate": "1.3"}, "outside"),
        ({"entered-currency": "CHF", "entered-month": "", "entered-rate": "1.3"}, "CHF"),
        (
            {"entered-currency": "USD", "entered-month": "13/2026", "entered-rate": "1"},
            "not a month",
        ),
    ):
        response = client.post(url(firm_a, "budget_rate_enter"), data)
        assert response.status_code == 400, data
        assert reason in response.content.decode(), data
    response = client.post(
        url(firm_a, "budget_rate_average"),
        {"average-currency": "EUR", "average-first": "2026-01", "average-last": "2026-02"},
    )
    assert response.status_code == 400
    assert "no synced EUR documents between 2026-01 and 2026-02" in response.content.decode()
    big = SimpleUploadedFile("rates.csv", b"\xff\xfe not text")
    response = client.post(url(firm_a, "budget_rates_upload"), {"file-file": big})
    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert _rates(firm_a) == {}


def test_a_viewer_sees_the_rates_but_cannot_change_them(client, firm_a, importer_a):
    rate = _set(firm_a, "USD", "1.3")
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(url(firm_a, "budget_rates")))
    assert "1.300000" in page
    assert "Enter a rate" not in page
    assert client.post(url(firm_a, "budget_rate_delete", rate.pk)).status_code == 403
    login(client, firm_a)
    assert client.post(url(firm_a, "budget_rate_delete", rate.pk)).status_code == 302
    assert _rates(firm_a) == {}
    assert rate.history.first().history_change_reason == "Budget rate removed"
    # Both changes are in the organisation's audit log.
    log = text(client.get(url(firm_a, "audit_log")))
    assert "Budget rate set" in log
    assert "Budget rate removed" in log


def test_the_variance_report_splits_stock_into_volume_and_rate(client, firm_a, importer_a):
    _set(firm_a, "USD", "1.30")
    _set(firm_a, "EUR", "1.17")
    login(client, firm_a)
    page = text(client.get(url(firm_a, "variance_report", period="2026-10")))
    assert "Currency effects, October 2026" in page
    section = page[page.index('id="currency-effects"') :]
    # Cost of Goods Sold: +6,666.67 = 5,000.00 volume + 1,666.67 rate.
    assert "+£6,666.67" in section
    assert "+£5,000.00" in section
    assert "+£1,666.67" in section
    assert (
        "£1,666.67 of the 6,666.67 overspend on Cost of Goods Sold is the weaker pound against "
        "the US dollar." in section
    )
    # The realised loss is its own effect.
    assert "Realised Currency Gains holds currency gains and losses" in section
    # Sales in pounds only: not in the split.
    assert "Sales</th>" not in section

    rows = csv_rows(client.get(url(firm_a, "variance_currency_csv", period="2026-10")))
    header = rows[1]
    month = [dict(zip(header, r, strict=True)) for r in rows[2:] if r[0] == "Month"]
    cogs = next(r for r in month if r["Account code"] == "310" and not r["Currency"])
    assert (cogs["Variance"], cogs["Volume effect"], cogs["Rate effect"]) == (
        "6666.67",
        "5000.00",
        "1666.67",
    )
    for r in month:
        if not r["Currency"]:
            parts = D(r["Volume effect"]) + D(r["Rate effect"]) + D(r["Currency gains and losses"])
            assert parts == D(r["Variance"]), r
    usd = next(r for r in month if r["Currency"] == "USD")
    assert (usd["Foreign amount"], usd["Actual rate"], usd["Budget rate"]) == (
        "26000.00",
        "1.200000",
        "1.300000",
    )


def test_a_material_stock_variance_narrative_names_the_currency(firm_a, importer_a):
    from budgeting.variance.selectors import variance_data_load
    from budgeting.variance.services import variance_narrative_for_account

    _set(firm_a, "USD", "1.30")
    _set(firm_a, "EUR", "1.17")
    data = variance_data_load(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        period=importer_a.profile.period_lock_date.replace(day=1),
        profile=importer_a.profile,
    )
    narrative = variance_narrative_for_account(
        firm=firm_a.firm,
        data=data,
        period=data.last_month,
        account=importer_a.accounts["310"],
    )
    assert (
        "£1,666.67 of the 6,666.67 overspend on Cost of Goods Sold is the weaker pound against "
        "the US dollar." in narrative.text
    )
    assert narrative.facts["currency_effects"]["rate_effect"] == "1666.67"


def test_firm_b_reaches_none_of_firm_as_rates(client, firm_a, firm_b, importer_a, importer_b):
    rate = _set(firm_a, "USD", "1.3")
    login(client, firm_b)
    for name, args in (
        ("budget_rates", ()),
        ("budget_rates_csv", ()),
        ("variance_currency_csv", ()),
    ):
        assert client.get(url(firm_a, name, *args)).status_code == 404, name
    for name, args in (
        ("budget_rate_enter", ()),
        ("budget_rates_upload", ()),
        ("budget_rate_average", ()),
        ("budget_rate_delete", (rate.pk,)),
    ):
        assert client.post(url(firm_a, name, *args)).status_code == 404, name
    # Firm B's own organisation with firm A's rate id: not found either.
    assert client.post(url(firm_b, "budget_rate_delete", rate.pk)).status_code == 404
    assert _rates(firm_a) == {("USD", None): D("1.300000")}
