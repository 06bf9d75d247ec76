"""A month that is not one, or has not begun, is refused with a message on the Month field (or a
400 that says what to do, for a download), never replaced by another month or shown as zeros."""

import pytest
from django.urls import reverse

from budgeting.models import Account
from core.months import parse_month
from tenants.roles import Role
from tests.budgeting.variance_data import variance_organisation_create


@pytest.fixture
def variance_org(firm_a):
    return variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


def url(cast, name="variance_report", *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


@pytest.mark.parametrize("bad", ["2026-13", "2026-10-99", "2026-10junk", "October", "2026-1"])
def test_parse_month_reads_only_a_month_or_a_whole_date(bad):
    assert parse_month(bad) is None
    assert parse_month("2026-10") == parse_month("2026-10-31") == parse_month(" 2026-10 ")


@pytest.mark.parametrize(
    "period, message",
    [
        ("2026-13", "“2026-13” is not a month: choose one from the list (as YYYY-MM)."),
        ("2099-01", "January 2099 has not begun for Harbour Lane Café"),
    ],
)
def test_the_report_refuses_the_month_on_its_field(client, firm_a, variance_org, period, message):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(url(firm_a), {"period": period})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="variance-period" name="period" aria-invalid="true"' in page
    assert 'id="variance-period-error" role="alert">' + message in page
    assert "Net profit, " not in page  # no report of another month, no zeros


def test_downloads_and_drill_downs_refuse_it_too(client, firm_a, firm_b, variance_org):
    account = Account.objects.for_firm(firm_a.firm).filter(organisation=firm_a.organisation)[0]
    client.force_login(firm_a.member(Role.VIEWER).user)

    for name, args in [
        ("variance_report_csv", ()),
        ("variance_account_detail", (account.pk,)),
        ("variance_account_transactions", (account.pk,)),
        ("variance_account_transactions_csv", (account.pk,)),
    ]:
        response = client.get(url(firm_a, name, *args), {"period": "2026-1O"})
        assert response.status_code == 400, name
        assert "is not a month: choose one from the list" in response.content.decode()

    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url(firm_a), {"period": "2026-13"}).status_code == 404
