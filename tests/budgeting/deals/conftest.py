import pytest

from tests.budgeting.draft_data import draft_organisation_create


@pytest.fixture
def organisation_a(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


@pytest.fixture
def organisation_b(firm_b):
    return draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
