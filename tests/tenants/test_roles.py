from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tenants.models import ClientOrganisation, Invitation, Membership
from tenants.roles import Action, Role, role_allows
from tests.factories import PASSWORD, reauthenticated_login


def _post(client, membership, name, data=None, **kwargs):
    reauthenticated_login(client, membership.user)
    url = reverse(name, kwargs={"firm_slug": membership.firm.slug, **kwargs})
    return client.post(url, data or {})


def test_only_owners_and_admins_manage_members():
    allowed = {role for role in Role.values if role_allows(role, Action.MANAGE_MEMBERS)}
    assert allowed == {Role.OWNER, Role.ADMIN}


def test_viewer_can_read_but_not_change_anything(client, firm_a, firm_b):
    viewer = firm_a.member(Role.VIEWER)
    client.force_login(viewer.user)
    assert client.get(reverse("firm_dashboard", args=[firm_a.firm.slug])).status_code == 200
    assert client.get(reverse("member_list", args=[firm_a.firm.slug])).status_code == 200

    target = firm_a.member(Role.PREPARER)
    attempts = [
        ("invitation_create", {"email": "new@example.com", "role": Role.VIEWER}, {}),
        ("membership_change_role", {"role": Role.OWNER}, {"membership_id": target.pk}),
        ("membership_remove", {}, {"membership_id": target.pk}),
        ("client_organisation_create", {"name": "Sneaky Ltd", "base_currency": "NZD"}, {}),
        ("firm_settings", {"name": "Renamed", "require_mfa": "on"}, {}),
    ]
    for name, data, kwargs in attempts:
        assert _post(client, viewer, name, data, **kwargs).status_code == 403, name

    firm_a.firm.refresh_from_db()
    assert firm_a.firm.name == "Alder & Partners"
    assert not Invitation.objects.for_firm(firm_a.firm).exists()
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.PREPARER
    assert not ClientOrganisation.objects.for_firm(firm_a.firm).filter(name="Sneaky Ltd").exists()


@pytest.mark.parametrize("role", [Role.PREPARER, Role.APPROVER, Role.VIEWER])
def test_members_who_are_not_owner_or_admin_cannot_invite_or_change_roles(client, firm_a, role):
    actor = firm_a.member(role)
    response = _post(
        client, actor, "invitation_create", {"email": "x@example.com", "role": Role.VIEWER}
    )
    assert response.status_code == 403
    target = firm_a.member(Role.VIEWER)
    response = _post(
        client, actor, "membership_change_role", {"role": Role.ADMIN}, membership_id=target.pk
    )
    assert response.status_code == 403
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.VIEWER


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owner_and_admin_invite_and_change_roles(client, firm_a, role, mailoutbox):
    actor = firm_a.member(role)
    with_capture = _post(
        client, actor, "invitation_create", {"email": "new@example.com", "role": Role.PREPARER}
    )
    assert with_capture.status_code == 302
    assert Invitation.objects.for_firm(firm_a.firm).filter(email="new@example.com").exists()

    target = firm_a.member(Role.VIEWER)
    _post(client, actor, "membership_change_role", {"role": Role.APPROVER}, membership_id=target.pk)
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.APPROVER


def test_admin_cannot_make_an_owner(client, firm_a):
    admin, target = firm_a.member(Role.ADMIN), firm_a.member(Role.VIEWER)
    _post(client, admin, "membership_change_role", {"role": Role.OWNER}, membership_id=target.pk)
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.VIEWER


def test_the_last_owner_cannot_be_demoted(client, firm_a):
    owner = firm_a.member(Role.OWNER)
    response = _post(
        client, owner, "membership_change_role", {"role": Role.VIEWER}, membership_id=owner.pk
    )
    assert response.status_code == 302
    assert Membership.objects.for_firm(firm_a.firm).get(pk=owner.pk).role == Role.OWNER
    page = client.get(reverse("member_list", args=[firm_a.firm.slug]))
    assert "at least one owner" in page.content.decode()


def test_role_change_is_in_history_with_the_acting_user(client, firm_a):
    owner, target = firm_a.member(Role.OWNER), firm_a.member(Role.VIEWER)
    _post(client, owner, "membership_change_role", {"role": Role.ADMIN}, membership_id=target.pk)
    latest = Membership.history.filter(id=target.pk).latest("history_date")
    assert latest.role == Role.ADMIN
    assert latest.history_user == owner.user
    assert "Role changed" in latest.history_change_reason


def test_a_user_in_two_firms_switches_between_them(client, firm_a, firm_b):
    user = firm_a.member(Role.PREPARER).user
    from tests.factories import membership_create

    membership_create(firm=firm_b.firm, user=user, role=Role.VIEWER)
    client.force_login(user)
    home = client.get(reverse("home"))
    assert "Alder &amp; Partners" in home.content.decode()
    assert "Birch Accounting" in home.content.decode()
    page_a = client.get(reverse("firm_dashboard", args=["alder"]))
    page_b = client.get(reverse("firm_dashboard", args=["birch"]))
    assert "Harbour Lane Café" in page_a.content.decode()
    assert "Kestrel Construction" not in page_a.content.decode()
    assert "Kestrel Construction" in page_b.content.decode()


def test_a_role_change_asks_for_the_password_again_then_applies(client, firm_a, firm_b):
    owner, target = firm_a.member(Role.OWNER), firm_a.member(Role.PREPARER)
    url = reverse("membership_change_role", args=[firm_a.firm.slug, target.pk])
    client.force_login(owner.user)
    asked = client.post(url, {"role": Role.APPROVER})
    assert asked.status_code == 302 and "reauthenticate" in asked["Location"]
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.PREPARER

    # The password entered, the change that waited is made (allauth replays the POST).
    client.post(
        reverse("account_reauthenticate") + "?" + urlencode({"next": url}),
        {"password": PASSWORD},
    )
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.APPROVER

    # Firm B's owner, password entered or not, gets 404 for firm A's member.
    reauthenticated_login(client, firm_b.member(Role.OWNER).user)
    other_url = reverse("membership_change_role", args=[firm_b.firm.slug, target.pk])
    assert client.post(other_url, {"role": Role.VIEWER}).status_code == 404
    assert Membership.objects.for_firm(firm_a.firm).get(pk=target.pk).role == Role.APPROVER
