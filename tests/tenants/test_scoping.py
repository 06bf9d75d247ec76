import pytest
from django_scopes import scope
from django_scopes.exceptions import ScopeError

from tenants.models import ClientOrganisation, Invitation, Membership


@pytest.mark.parametrize("model", [ClientOrganisation, Membership, Invitation])
def test_query_without_a_firm_in_scope_raises(firm_a, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).exists()


def test_for_firm_refuses_no_firm(firm_a):
    with pytest.raises(ScopeError):
        ClientOrganisation.objects.for_firm(None)


def test_for_firm_returns_only_that_firms_rows(firm_a, firm_b):
    names = set(ClientOrganisation.objects.for_firm(firm_a.firm).values_list("name", flat=True))
    assert names == {"Harbour Lane Café"}


def test_scope_filters_to_the_firm(firm_a, firm_b):
    with scope(firm=firm_b.firm):
        assert [o.name for o in ClientOrganisation.objects.all()] == ["Kestrel Construction"]
        assert not ClientOrganisation.objects.filter(pk=firm_a.organisation.pk).exists()
