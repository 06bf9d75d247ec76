"""Factories for the tests. Firm-owned rows are made with the firm passed in explicitly."""

import factory
from allauth.account.models import EmailAddress
from django_scopes import scopes_disabled

from tenants.models import ClientOrganisation, Firm, Membership, User
from tenants.roles import Role

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        obj.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class FirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Firm

    name = factory.Sequence(lambda n: f"Firm {n} Advisory")
    slug = factory.Sequence(lambda n: f"firm-{n}")


def membership_create(*, firm: Firm, user: User | None = None, role: str = Role.PREPARER):
    with scopes_disabled():
        return Membership.objects.create(firm=firm, user=user or UserFactory(), role=role)


def client_organisation_create(*, firm: Firm, name: str = "Harbour Lane Café", **fields):
    with scopes_disabled():
        return ClientOrganisation.objects.create(firm=firm, name=name, **fields)


def api_key_create(*, firm: Firm, scopes=("read",), member: Membership | None = None, **fields):
    """A key of `firm`, made by its owner; an approve key naming a member is made by that
    member (approve keys are their creator's own). Returns (ApiKey, the key to send)."""
    from tenants.api_keys import api_key_create as create

    with scopes_disabled():
        owner = Membership.objects.filter(firm=firm, role=Role.OWNER).first()
    actor = member if member is not None and "approve" in scopes else owner
    new = create(
        firm=firm,
        actor=actor,
        name=fields.pop("name", "Test key"),
        scopes=list(scopes),
        member=member,
        **fields,
    )
    return new.api_key, new.key
