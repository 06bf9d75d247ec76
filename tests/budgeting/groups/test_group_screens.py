"""Client groups as firm members see them: the consolidated report in the group's currency,
its drill-down and CSV, the rates and intercompany pairs, and nothing of another firm's.

The figures (October 2026, at the budget's rate of A$0.80 to NZ$1): Harbour Lane Café's net
profit is NZ$16,500 (with the NZ$1,000 fee it charges Sydney) against a budget of NZ$20,100;
Sydney's A$14,700 is NZ$18,375 (A$62,500 - ... each account translated) against NZ$25,125.
"""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django_scopes import scope

from budgeting.models import ClientGroup, GroupTranslationRate, IntercompanyMapping
from tenants.roles import Role
from tests.budgeting.groups.conftest import group_data_create
from tests.budgeting.variance_data import OCTOBER

pytestmark = pytest.mark.django_db


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, *args])


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def test_the_report_adds_up_the_members_in_the_groups_currency(client, firm_a, firm_b, group_data):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(url(firm_a, "group_report", group_data.group.pk), {"period": "2026-10"})

    assert response.status_code == 200
    page = response.content.decode()
    # 16,500 + 18,375 against 20,100 + 25,125.
    assert "NZ$34,875.00" in page and "NZ$45,225.00" in page
    # Sales: NZ$50,000 and A$50,000 at 0.80 (NZ$62,500) on one line.
    assert "NZ$112,500.00" in page
    assert "Harbour Lane Sydney</a>: NZ$62,500.00" in page  # the line's drill-down
    assert "Harbour Lane Café" in page and "(AUD)" in page
    # A material line is explained by the variance package's narrative, at group level.
    # NZ$4,100 and A$4,100 (NZ$5,125) of Brightwave Media's campaign, one bill in each member.
    assert (
        "Advertising is 9,225 (137%) over budget in October 2026, almost all from 2 bills from "
        "Brightwave Media"
    ) in page

    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url(firm_b, "group_report", group_data.group.pk)).status_code == 404


def test_a_member_drill_down_shows_its_part_translated(client, firm_a, firm_b, group_data):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(
        url(firm_a, "group_member", group_data.group.pk, group_data.sydney.pk),
        {"period": "2026-10"},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "NZ$62,500.00" in page and "NZ$60,000.00" in page  # Sales, actual and budget
    assert "NZ$1,000.00" in page  # A$800 of fees paid
    # Another firm's organisation is no member of this group.
    other = url(firm_a, "group_member", group_data.group.pk, firm_b.organisation.pk)
    assert client.get(other).status_code == 404


def test_the_csv_lines_are_the_sum_of_their_parts_to_the_cent(client, firm_a, group_data):
    client.force_login(firm_a.member(Role.VIEWER).user)

    response = client.get(
        url(firm_a, "group_report_csv", group_data.group.pk), {"period": "2026-10"}
    )

    assert response.status_code == 200
    rows = csv_rows(response.content)
    header = rows[1]
    actual, ytd = header.index("Actual"), header.index("YTD actual")
    lines = [
        r
        for r in rows[2:]
        if len(r) > 4 and r[3] == "Group" and not r[2].startswith(("Total", "Gross", "Net"))
    ]
    assert lines
    for line in lines:
        parts = [
            r
            for r in rows[2:]
            if len(r) > 4 and r[2] == line[2] and r[1] == line[1] and r[3] != "Group"
        ]
        assert sum(Decimal(p[actual]) for p in parts) == Decimal(line[actual])
        assert sum(Decimal(p[ytd]) for p in parts) == Decimal(line[ytd])
    net = next(r for r in rows if len(r) > 4 and r[2] == "Net Profit")
    assert Decimal(net[actual]) == Decimal("34875.00")
    # Six months of 22,100 + 27,625 and October's 16,500 + 18,375.
    assert Decimal(net[ytd]) == Decimal("333225.00")


def test_a_balanced_pair_is_eliminated_and_an_unbalanced_one_says_by_how_much(client, firm_a):
    data = group_data_create(firm_a, sydney_fee=Decimal("760.00"))  # NZ$950 against NZ$1,000
    client.force_login(firm_a.member(Role.PREPARER).user)

    response = client.post(
        url(firm_a, "group_mapping_add", data.group.pk),
        {
            "name": "Management fees",
            "income_account": data.fee_income.pk,
            "expense_account": data.fee_expense.pk,
        },
    )
    assert response.status_code == 302
    page = client.get(url(firm_a, "group_report", data.group.pk), {"period": "2026-10"})

    text = page.content.decode()
    assert "Intercompany pairs that do not balance" in text
    assert "Management fees: +NZ$50.00 this month" in text
    # Both sides are out: the group's net profit is the members' less the NZ$50 left over.
    assert "NZ$34,875.00" in text


def test_a_pair_of_one_member_or_of_another_firm_is_refused(client, firm_a, firm_b, group_data):
    from tests.factories import AccountFactory

    client.force_login(firm_a.member(Role.PREPARER).user)
    theirs = AccountFactory(
        organisation=firm_b.organisation, type="EXPENSE", account_class="EXPENSE"
    )

    for expense in (theirs.pk, 999999):
        response = client.post(
            url(firm_a, "group_mapping_add", group_data.group.pk),
            {
                "name": "Fees",
                "income_account": group_data.fee_income.pk,
                "expense_account": expense,
            },
        )
        assert response.status_code == 400
    with scope(firm=firm_a.firm):
        assert not IntercompanyMapping.objects.filter(group=group_data.group).exists()


def test_a_month_without_a_rate_is_named_on_the_report(client, firm_a, group_data):
    with scope(firm=firm_a.firm):
        GroupTranslationRate.objects.filter(group=group_data.group, period=OCTOBER).delete()
    client.force_login(firm_a.member(Role.VIEWER).user)

    budget = client.get(url(firm_a, "group_report", group_data.group.pk), {"period": "2026-10"})
    actual = client.get(
        url(firm_a, "group_report", group_data.group.pk), {"period": "2026-10", "basis": "actual"}
    )

    assert (
        "No translation rate for AUD 2026-10 (actual), AUD 2026-10 (budget)"
        in budget.content.decode()
    )
    assert "No translation rate for AUD 2026-04" in actual.content.decode()


def test_members_create_a_group_of_their_own_firms_organisations_only(client, firm_a, firm_b):
    from tests.budgeting.variance_data import variance_organisation_create
    from tests.factories import client_organisation_create

    with scope(firm=firm_a.firm):
        variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
        second = client_organisation_create(firm=firm_a.firm, name="Harbour Lane Wellington")
        variance_organisation_create(firm=firm_a.firm, organisation=second)
    with scope(firm=firm_b.firm):
        variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.get(url(firm_a, "group_create")).status_code == 403
    client.force_login(firm_a.member(Role.PREPARER).user)

    theirs = client.post(
        url(firm_a, "group_create"),
        {
            "name": "Mixed",
            "reporting_currency": "NZD",
            "members": [firm_a.organisation.pk, firm_b.organisation.pk],
        },
    )
    ours = client.post(
        url(firm_a, "group_create"),
        {
            "name": "Harbour Lane Group",
            "reporting_currency": "nzd",
            "members": [firm_a.organisation.pk, second.pk],
            "parent": firm_a.organisation.pk,
        },
    )

    assert theirs.status_code == 400
    assert "Kestrel" not in theirs.content.decode()
    assert ours.status_code == 302
    with scope(firm=firm_a.firm):
        group = ClientGroup.objects.get()
        assert group.reporting_currency == "NZD" and group.parent == firm_a.organisation
        assert group.history.first().history_change_reason == "Group created: Harbour Lane Group"


def test_a_group_edit_keeps_firm_b_out(client, firm_a, firm_b, group_data):
    client.force_login(firm_a.member(Role.OWNER).user)
    response = client.post(
        url(firm_a, "group_edit", group_data.group.pk),
        {
            "name": "Harbour Lane Group",
            "reporting_currency": "NZD",
            "members": [group_data.parent.pk, group_data.sydney.pk, firm_b.organisation.pk],
        },
    )
    assert response.status_code == 400
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url(firm_b, "group_edit", group_data.group.pk)).status_code == 404
    assert client.get(url(firm_b, "group_list")).content.decode().count("Harbour Lane Group") == 0


def test_rates_are_imported_from_csv_or_refused_row_by_row(client, firm_a, group_data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(firm_a.member(Role.PREPARER).user)
    bad = (
        "currency,month,basis,rate\n"
        "AUD,2026-11,budget,0.81\n"
        "XYZ,2026-10,budget,0.9\n"
        "AUD,2026-10,budget,0\n"
        "AUD,2026-10,actual,-1.2\n"
        "AUD,2026-13,budget,0.9\n"
        "AUD,2045-01,budget,0.9\n"
    )
    response = client.post(
        url(firm_a, "group_rates_import", group_data.group.pk),
        {"file": SimpleUploadedFile("rates.csv", bad.encode(), content_type="text/csv")},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Line 3: “XYZ” is not a currency of a member of this group" in page
    assert "Line 4: A rate is above zero, not 0." in page
    assert "Line 5: A rate is above zero, not -1.2." in page
    assert "Line 6: “2026-13” is not a month" in page
    assert "Line 7: 2045-01 is out of range" in page
    assert "Line 2" not in page
    with scope(firm=firm_a.firm):
        assert not GroupTranslationRate.objects.filter(period="2026-11-01").exists()

    good = "currency,month,basis,rate\nAUD,2026-10,actual,0.7891\nAUD,2026-10,budget,0.8\n"
    response = client.post(
        url(firm_a, "group_rates_import", group_data.group.pk),
        {"file": SimpleUploadedFile("rates.csv", good.encode(), content_type="text/csv")},
    )
    assert response.status_code == 302
    with scope(firm=firm_a.firm):
        rate = GroupTranslationRate.objects.get(basis="actual", period=OCTOBER)
        assert rate.rate == Decimal("0.7891") and rate.history.first().history_user is not None
    exported = client.get(url(firm_a, "group_rates_csv", group_data.group.pk))
    assert ["AUD", "2026-10", "actual", "0.78910000"] in csv_rows(exported.content)


def test_a_rate_is_entered_in_a_form(client, firm_a, group_data):
    client.force_login(firm_a.member(Role.PREPARER).user)

    zero = client.post(
        url(firm_a, "group_rate_add", group_data.group.pk),
        {"currency": "AUD", "month": "2026-10", "basis": "actual", "rate": "0"},
    )
    saved = client.post(
        url(firm_a, "group_rate_add", group_data.group.pk),
        {"currency": "AUD", "month": "2026-10", "basis": "actual", "rate": "0.79"},
    )

    assert zero.status_code == 400 and "A rate is above zero" in zero.content.decode()
    assert saved.status_code == 302
    page = client.get(
        url(firm_a, "group_report", group_data.group.pk), {"period": "2026-10", "basis": "actual"}
    )
    # Only October has an actual rate: the year to date asks for April's.
    assert "No translation rate for AUD 2026-04 (actual)" in page.content.decode()


def test_at_actual_rates_the_report_says_what_the_rates_moved(client, firm_a, group_data):
    from core.months import add_months
    from tests.budgeting.groups.conftest import APRIL

    with scope(firm=firm_a.firm):
        month = APRIL
        while month <= OCTOBER:
            GroupTranslationRate.objects.create(
                firm=firm_a.firm,
                group=group_data.group,
                currency="AUD",
                period=month,
                basis="actual",
                rate=Decimal("0.75"),
            )
            month = add_months(month, 1)
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(
        url(firm_a, "group_report", group_data.group.pk), {"period": "2026-10", "basis": "actual"}
    ).content.decode()

    # Sydney's October at 0.75, account by account, to the cent: 66,666.67 + 133.33 - 26,666.67
    # - 9,466.67 - 10,000.00 - 1,066.67 = 19,599.99, against 18,375.00 at the budget's 0.80.
    assert "NZ$36,099.99" in page  # 16,500 + 19,599.99
    assert "moved the group's actual net profit by +NZ$1,224.99" in page


def test_every_group_url_and_endpoint_is_in_the_cross_firm_sweep():
    from tests.routes import ALL_ROUTES
    from tests.test_tenant_isolation import KEY_SWEPT, MIXED, SWEPT

    group_routes = {r.name for r in ALL_ROUTES if "groups/" in r.route}
    swept = {r.name for r in SWEPT + KEY_SWEPT}
    assert len(group_routes) == 21  # 15 screens, 3 endpoints on each of the two API mounts
    assert group_routes <= swept
    # A member, rate or pair of firm A's group, asked for through firm B's group, and back.
    assert {"group_member", "group_rate_remove", "group_mapping_remove"} <= {r.name for r in MIXED}


def test_a_group_is_deleted_by_a_manager_and_its_organisations_stay(
    client, firm_a, firm_b, group_data
):
    group = group_data.group
    delete = url(firm_a, "group_delete", group.pk)
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.post(delete).status_code == 403
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.post(url(firm_b, "group_delete", group.pk)).status_code == 404
    owner = firm_a.member(Role.OWNER).user
    client.force_login(owner)
    page = client.get(url(firm_a, "group_edit", group.pk)).content.decode()
    assert "Delete the group" in page

    response = client.post(delete)

    assert response.status_code == 302 and response["Location"] == url(firm_a, "group_list")
    with scope(firm=firm_a.firm):
        assert not ClientGroup.objects.for_firm(firm_a.firm).filter(pk=group.pk).exists()
        assert not GroupTranslationRate.objects.for_firm(firm_a.firm).exists()
        gone = ClientGroup.history.filter(id=group.pk, history_type="-").get()
    assert gone.history_user == owner and gone.history_change_reason.startswith("Group deleted")
    # The organisations, their figures and the firm are untouched.
    firm_a.organisation.refresh_from_db()
    assert client.get(url(firm_a, "group_report", group.pk)).status_code == 404
    assert client.get(url(firm_a, "group_list")).status_code == 200
