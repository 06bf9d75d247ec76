"""Every model has a factory, and every factory makes a row that keeps tenancy: a firm-owned
row's firm is its organisation's and its parents', whatever the test passes in."""

import datetime as dt
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django_scopes import scopes_disabled

from tests import factories as f

APPS = ("tenants", "integrations", "budgeting")
FACTORIES = {
    factory._meta.model: factory
    for factory in vars(f).values()
    if isinstance(factory, type)
    and issubclass(factory, f.factory.django.DjangoModelFactory)
    and not factory._meta.abstract
}
# One row per organisation (or per organisation and a key the factory keeps fixed): a second
# row in the same organisation must name another key.
ONE_PER_ORGANISATION = {
    "XeroOrganisation",
    "BudgetPolicy",
    "ApprovalChain",
    "MaterialitySetting",
    "VarianceSummary",
    "PublishingSetting",
    "AlertPoll",
    "PackSchedule",
    "CashSetting",
}
MONTH_FIELDS = {"period", "first_period", "last_actual_period", "trigger_period", "made_at"}


def _models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in APPS and not model.__name__.startswith("Historical")
    ]


def _factories():
    return [pytest.param(FACTORIES[m], id=m.__name__) for m in _models() if m in FACTORIES]


def test_every_model_has_a_factory():
    missing = sorted(m._meta.label for m in _models() if m not in FACTORIES)
    assert missing == [], f"Add a factory to tests/factories.py for {', '.join(missing)}"


def _assert_tenancy(row):
    """The row's firm is its organisation's, and every row it points to is of that firm and
    that organisation."""
    firm_id = getattr(row, "firm_id", None)
    organisation_id = getattr(row, "organisation_id", None)
    if organisation_id is not None and not isinstance(row, f.ClientOrganisation):
        assert row.organisation.firm_id == firm_id
    for field in row._meta.concrete_fields:
        if not field.is_relation or field.name in ("firm", "organisation"):
            continue
        parent = getattr(row, field.name)
        if parent is None:
            continue
        if hasattr(parent, "firm_id"):
            assert parent.firm_id == firm_id, field.name
        if organisation_id is not None and hasattr(parent, "organisation_id"):
            assert parent.organisation_id == organisation_id, field.name


def _assert_money_and_months(row):
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        if value is None:
            continue
        if isinstance(field, models.DecimalField) and field.decimal_places == 2:
            assert isinstance(value, Decimal), field.name
            assert value == value.quantize(Decimal("0.01")), field.name
        if field.name in MONTH_FIELDS or field.name == "target":
            assert isinstance(value, dt.date) and value.day == 1, field.name


@pytest.mark.django_db
@pytest.mark.parametrize("factory", _factories())
def test_factory_makes_a_row_of_one_firm(factory):
    row = factory()

    assert row.pk is not None
    model = factory._meta.model
    with scopes_disabled():
        saved = model.objects.get(pk=row.pk)
    _assert_tenancy(saved)
    _assert_money_and_months(row)
    if hasattr(row, "firm_id"):
        # The firm-scoped manager finds it in its firm, and not in another.
        assert model.objects.for_firm(row.firm).filter(pk=row.pk).exists()
        assert not model.objects.for_firm(f.FirmFactory()).filter(pk=row.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("factory", _factories())
def test_two_rows_of_a_factory_do_not_collide(factory):
    first, second = factory(), factory()

    assert first.pk != second.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "factory",
    [
        p
        for p in _factories()
        if issubclass(p.values[0], f.OrganisationOwnedFactory) and p.id not in ONE_PER_ORGANISATION
    ],
)
def test_two_rows_in_one_organisation_do_not_collide(factory):
    organisation = f.ClientOrganisationFactory()

    first, second = factory(organisation=organisation), factory(organisation=organisation)

    assert first.pk != second.pk
    for row in (first, second):
        assert row.organisation == organisation
        assert row.firm == organisation.firm
        _assert_tenancy(row)


@pytest.mark.django_db
def test_the_organisation_passed_in_owns_every_parent():
    organisation = f.ClientOrganisationFactory()

    balance = f.DraftBalanceFactory(organisation=organisation)

    assert balance.line.organisation == organisation
    assert balance.line.account.organisation == organisation
    assert balance.line.draft.organisation == organisation
    assert balance.firm == organisation.firm
    preparer = balance.line.draft.created_by
    assert f.Membership.objects.for_firm(organisation.firm).filter(user=preparer).exists()


@pytest.mark.django_db
def test_a_parent_passed_in_gives_the_organisation_and_firm():
    line = f.BudgetLineFactory()

    balance = f.BudgetBalanceFactory(budget_line=line)

    assert balance.organisation == line.organisation
    assert balance.firm == line.firm


@pytest.mark.django_db
def test_a_firm_passed_in_gets_a_client_organisation_of_its_own():
    firm = f.FirmFactory()

    account = f.AccountFactory(firm=firm)
    tenant = f.XeroTenantFactory(connection=f.XeroConnectionFactory(firm=firm))

    assert account.firm == firm
    assert account.organisation.firm == firm
    assert tenant.firm == firm
    assert tenant.client_organisation.firm == firm


@pytest.mark.django_db
def test_rows_of_two_firms_are_refused():
    account = f.AccountFactory()
    other = f.ClientOrganisationFactory()

    with pytest.raises(f.TenancyMismatch):
        f.BudgetLineFactory(organisation=other, account=account)
    with pytest.raises(f.TenancyMismatch):
        f.AccountFactory(organisation=other, firm=account.firm)
    with pytest.raises(f.TenancyMismatch):
        f.ApiKeyFactory(firm=other.firm, member=f.MembershipFactory())


@pytest.mark.django_db
def test_rows_of_two_organisations_of_one_firm_are_refused():
    account = f.AccountFactory()
    sibling = f.ClientOrganisationFactory(firm=account.firm)

    with pytest.raises(f.TenancyMismatch):
        f.ActualBalanceFactory(organisation=sibling, account=account)


@pytest.mark.django_db
def test_approval_rows_follow_their_step():
    step = f.ApprovalStepFactory()

    decision = f.ApprovalDecisionFactory(step=step)
    link = f.ApprovalLinkFactory(step=step)

    assert decision.request == step.request
    assert decision.revision == step.request.revision == step.request.draft.revision
    assert decision.email == decision.user.email
    assert link.draft == step.request.draft
    assert link.email == link.external_approver.email
    assert link.external_approver.organisation == step.organisation


@pytest.mark.django_db
def test_the_person_named_is_the_only_one_made():
    member = f.MembershipFactory(role=f.Role.APPROVER)
    step = f.ApprovalStepFactory(organisation=f.ClientOrganisationFactory(firm=member.firm))
    members_before = f.Membership.objects.for_firm(member.firm).count()

    decision = f.ApprovalDecisionFactory(step=step, user=member.user)

    assert decision.email == member.user.email
    assert f.Membership.objects.for_firm(member.firm).count() == members_before
