"""The group services' promises: members are the firm's own synced organisations sharing one
financial year end, refused with the reason otherwise; a member that leaves takes its pairs."""

import pytest
from django_scopes import scope

from budgeting.groups import services
from budgeting.models import ClientGroup, IntercompanyMapping, XeroOrganisation
from tests.budgeting.groups.conftest import group_data_create
from tests.budgeting.variance_data import variance_organisation_create
from tests.factories import client_organisation_create

pytestmark = pytest.mark.django_db


def _synced(cast, name):
    organisation = client_organisation_create(firm=cast.firm, name=name)
    with scope(firm=cast.firm):
        variance_organisation_create(firm=cast.firm, organisation=organisation)
    return organisation


def test_an_organisation_of_another_firm_can_never_join(firm_a, firm_b):
    ours = _synced(firm_a, "Harbour Lane Auckland")
    theirs = _synced(firm_b, "Kestrel Holdings")

    with pytest.raises(services.GroupError) as refused:
        services.group_create(
            firm=firm_a.firm,
            name="Harbour",
            reporting_currency="NZD",
            organisation_ids=[ours.pk, theirs.pk],
        )

    assert "Kestrel" not in str(refused.value)
    assert not ClientGroup.objects.for_firm(firm_a.firm).exists()
    assert not ClientGroup.objects.for_firm(firm_b.firm).exists()


def test_members_with_different_financial_year_ends_are_refused_with_the_reason(firm_a):
    march = _synced(firm_a, "Harbour Lane Auckland")
    june = _synced(firm_a, "Harbour Lane Brisbane")
    with scope(firm=firm_a.firm):
        XeroOrganisation.objects.filter(organisation=june).update(
            financial_year_end_month=6, financial_year_end_day=30
        )

    with pytest.raises(services.GroupError) as refused:
        services.group_create(
            firm=firm_a.firm,
            name="Harbour",
            reporting_currency="NZD",
            organisation_ids=[march.pk, june.pk],
        )

    assert str(refused.value) == (
        "The members' financial years end in different months, so their years cannot be added "
        "up: Harbour Lane Auckland ends on 31 March; Harbour Lane Brisbane ends on 30 June."
    )


def test_an_organisation_not_yet_synced_or_a_lone_member_is_refused(firm_a):
    synced = _synced(firm_a, "Harbour Lane Auckland")

    with pytest.raises(services.GroupError, match="has not synced with Xero yet"):
        services.group_create(
            firm=firm_a.firm,
            name="Harbour",
            reporting_currency="NZD",
            organisation_ids=[synced.pk, firm_a.organisation.pk],
        )
    with pytest.raises(services.GroupError, match="2 to 30 member"):
        services.group_create(
            firm=firm_a.firm, name="Harbour", reporting_currency="NZD", organisation_ids=[synced.pk]
        )
    with pytest.raises(services.GroupError, match="three-letter code"):
        services.group_create(
            firm=firm_a.firm, name="Harbour", reporting_currency="NZ", organisation_ids=[synced.pk]
        )


def test_a_member_that_leaves_takes_its_pairs_with_it(firm_a):
    data = group_data_create(firm_a)
    third = _synced(firm_a, "Harbour Lane Wellington")
    with scope(firm=firm_a.firm):
        services.intercompany_mapping_create(
            firm=firm_a.firm,
            group=data.group,
            name="Fees",
            income_account_id=data.fee_income.pk,
            expense_account_id=data.fee_expense.pk,
        )

        services.group_update(
            firm=firm_a.firm,
            group=data.group,
            name="Harbour Lane Group",
            reporting_currency="NZD",
            organisation_ids=[data.parent.pk, third.pk],
            parent_id=data.parent.pk,
        )

        assert not IntercompanyMapping.objects.filter(group=data.group).exists()
        assert IntercompanyMapping.history.filter(
            history_change_reason="Its member left the group"
        ).exists()


def test_an_account_is_in_one_pair_at_most(firm_a):
    data = group_data_create(firm_a)
    with scope(firm=firm_a.firm):
        services.intercompany_mapping_create(
            firm=firm_a.firm,
            group=data.group,
            name="Fees",
            income_account_id=data.fee_income.pk,
            expense_account_id=data.fee_expense.pk,
        )
        with pytest.raises(services.GroupError, match="eliminated twice"):
            services.intercompany_mapping_create(
                firm=firm_a.firm,
                group=data.group,
                name="Fees again",
                income_account_id=data.fee_income.pk,
                expense_account_id=data.fee_expense.pk,
            )
        with pytest.raises(services.GroupError, match="not an income account"):
            services.intercompany_mapping_create(
                firm=firm_a.firm,
                group=data.group,
                name="Backwards",
                income_account_id=data.fee_expense.pk,
                expense_account_id=data.fee_income.pk,
            )
