"""API keys in the screens: made and revoked by owners and admins, shown once, stored hashed."""

import datetime as dt
import hashlib
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tenants import api_keys
from tenants.models import ApiKey
from tenants.roles import Role
from tests.factories import PASSWORD, api_key_create, reauthenticated_login

KEY_RE = re.compile(r"ll_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def _create(client, membership, **data):
    # Making a key needs the password entered again in the last few minutes.
    reauthenticated_login(client, membership.user)
    return client.post(
        reverse("api_key_list", args=[membership.firm.slug]),
        {"name": "Practice dashboard", "scopes": ["read"], **data},
    )


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owner_and_admin_create_a_key_shown_once_and_stored_hashed(client, firm_a, firm_b, role):
    response = _create(client, firm_a.member(role))
    assert response.status_code == 200
    page = response.content.decode()
    key = KEY_RE.search(page).group(0)
    assert "shown only this once" in page
    assert "no-store" in response["Cache-Control"]

    api_key = ApiKey.objects.for_firm(firm_a.firm).get()
    assert api_key.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiKey.objects.for_firm(firm_a.firm).values().get())
    assert api_key.created_by == firm_a.member(role).user
    assert api_key.scopes == ["read"]
    assert api_key.history.get().history_change_reason.startswith("Created by")

    # The list shows the prefix and never the key again.
    page = client.get(reverse("api_key_list", args=[firm_a.firm.slug])).content.decode()
    assert f"ll_{api_key.prefix}_" in page
    assert key not in page
    assert not ApiKey.objects.for_firm(firm_b.firm).exists()


@pytest.mark.parametrize("role", [Role.PREPARER, Role.VIEWER])
def test_other_roles_cannot_see_make_or_revoke_keys(client, firm_a, role):
    api_key, _key = api_key_create(firm=firm_a.firm)
    member = firm_a.member(role)
    client.force_login(member.user)
    assert client.get(reverse("api_key_list", args=[firm_a.firm.slug])).status_code == 403
    assert _create(client, member).status_code == 403
    revoke = reverse("api_key_revoke", args=[firm_a.firm.slug, api_key.pk])
    assert client.post(revoke).status_code == 403
    assert ApiKey.objects.for_firm(firm_a.firm).get().revoked_at is None
    # Nor is the link offered.
    page = client.get(reverse("member_list", args=[firm_a.firm.slug])).content.decode()
    assert reverse("api_key_list", args=[firm_a.firm.slug]) not in page


def test_the_nav_links_to_api_keys_for_owners(client, firm_a):
    client.force_login(firm_a.member(Role.OWNER).user)
    page = client.get(reverse("member_list", args=[firm_a.firm.slug])).content.decode()
    assert reverse("api_key_list", args=[firm_a.firm.slug]) in page


def test_revoking_a_key_stops_it_at_once(client, firm_a, firm_b):
    api_key, key = api_key_create(firm=firm_a.firm)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/organisations/", headers=headers).status_code == 200

    owner = firm_a.member(Role.ADMIN)
    client.force_login(owner.user)
    response = client.post(reverse("api_key_revoke", args=[firm_a.firm.slug, api_key.pk]))
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert api_key.revoked_by == owner.user
    assert api_key.history.first().history_change_reason == f"Revoked by {owner.user.email}"

    client.logout()
    response = client.get("/api/v1/organisations/", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "key_revoked"


def test_an_approve_key_is_always_its_creators_own(client, firm_a):
    """Segregation of duties: nobody can make a key that approves in someone else's name."""
    owner, approver = firm_a.member(Role.OWNER), firm_a.member(Role.APPROVER)
    response = _create(client, owner, scopes=["approve"], member=approver.pk)
    assert response.status_code == 400
    assert "acts for the person who creates it" in response.content.decode()
    assert not ApiKey.objects.for_firm(firm_a.firm).exists()
    with pytest.raises(ValidationError, match="acts for the person who creates it"):
        api_keys.api_key_create(
            firm=firm_a.firm, actor=owner, name="Sneaky", scopes=["approve"], member=approver
        )

    # Naming nobody, or oneself, makes the creator's own approve key.
    assert _create(client, owner, scopes=["approve"]).status_code == 200
    assert _create(client, owner, scopes=["approve"], member=owner.pk).status_code == 200
    keys = ApiKey.objects.for_firm(firm_a.firm)
    assert {k.member for k in keys} == {owner}
    # Approving needs to read what it approves.
    assert {tuple(k.scopes) for k in keys} == {("read", "approve")}


def test_a_role_that_cannot_approve_cannot_make_an_approve_key(firm_a):
    preparer = firm_a.member(Role.PREPARER)
    with pytest.raises(ValidationError):
        api_keys.api_key_create(
            firm=firm_a.firm, actor=preparer, name="Mine", scopes=["approve"], member=preparer
        )
    assert not ApiKey.objects.for_firm(firm_a.firm).exists()


def test_an_approver_makes_and_revokes_only_their_own_approve_keys(client, firm_a, firm_b):
    approver = firm_a.member(Role.APPROVER)
    others_key, _key = api_key_create(firm=firm_a.firm, name="Owner's dashboard")
    client.force_login(approver.user)
    page = client.get(reverse("member_list", args=[firm_a.firm.slug])).content.decode()
    assert reverse("api_key_list", args=[firm_a.firm.slug]) in page

    page = client.get(reverse("api_key_list", args=[firm_a.firm.slug]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your approve keys" in html
    # Other people's keys are not theirs to see, and the form offers approve only, for them.
    assert others_key.prefix not in html
    assert 'name="member"' not in html
    assert 'value="write"' not in html

    # Read or write keys are for owners and admins.
    assert _create(client, approver, scopes=["write"]).status_code == 400
    assert _create(client, approver, scopes=["read"]).status_code == 400
    assert ApiKey.objects.for_firm(firm_a.firm).count() == 1
    with pytest.raises(ValidationError, match="approve keys for yourself only"):
        api_keys.api_key_create(firm=firm_a.firm, actor=approver, name="R", scopes=["read"])

    # A forged form naming someone else still makes a key that approves as the approver.
    owner = firm_a.member(Role.OWNER)
    response = _create(client, approver, scopes=["approve"], member=owner.pk)
    assert response.status_code == 200
    assert KEY_RE.search(response.content.decode())
    own = ApiKey.objects.for_firm(firm_a.firm).get(created_by=approver.user)
    assert own.member == approver
    assert own.scopes == ["read", "approve"]
    with pytest.raises(ValidationError, match="approve keys for yourself only"):
        api_keys.api_key_create(
            firm=firm_a.firm, actor=approver, name="X", scopes=["approve"], member=owner
        )

    # They may revoke their own key, and not anybody else's (not found, as if missing).
    revoke_other = reverse("api_key_revoke", args=[firm_a.firm.slug, others_key.pk])
    assert client.post(revoke_other).status_code == 404
    assert ApiKey.objects.for_firm(firm_a.firm).get(pk=others_key.pk).revoked_at is None
    revoke_own = reverse("api_key_revoke", args=[firm_a.firm.slug, own.pk])
    assert client.post(revoke_own).status_code == 302
    own.refresh_from_db()
    assert own.revoked_by == approver.user

    # An owner still sees and can revoke every key, the approver's included.
    client.force_login(owner.user)
    html = client.get(reverse("api_key_list", args=[firm_a.firm.slug])).content.decode()
    assert own.prefix in html
    assert others_key.prefix in html


def test_a_key_cannot_name_another_firms_member(client, firm_a, firm_b):
    response = _create(
        client,
        firm_a.member(Role.OWNER),
        scopes=["approve"],
        member=firm_b.member(Role.APPROVER).pk,
    )
    assert response.status_code == 400
    assert not ApiKey.objects.for_firm(firm_a.firm).exists()
    with pytest.raises(ValidationError):
        api_keys.api_key_create(
            firm=firm_a.firm,
            actor=firm_a.member(Role.OWNER),
            name="Cross",
            scopes=["read"],
            member=firm_b.member(Role.VIEWER),
        )


def test_expiry_is_a_future_day_and_ends_the_key(client, firm_a):
    owner = firm_a.member(Role.OWNER)
    yesterday = (timezone.now() - dt.timedelta(days=1)).date()
    response = _create(client, owner, expires_on=yesterday.isoformat())
    assert response.status_code == 400
    assert "future" in response.content.decode()

    tomorrow = (timezone.now() + dt.timedelta(days=1)).date()
    assert _create(client, owner, expires_on=tomorrow.isoformat()).status_code == 200
    api_key = ApiKey.objects.for_firm(firm_a.firm).get()
    assert api_key.expires_at.date() >= tomorrow
    assert api_key.is_active


def test_keys_are_unique_and_only_their_hash_is_kept(firm_a):
    keys = {api_key_create(firm=firm_a.firm)[1] for _ in range(3)}
    assert len(keys) == 3
    stored = set(ApiKey.objects.for_firm(firm_a.firm).values_list("key_hash", flat=True))
    assert stored == {hashlib.sha256(k.encode()).hexdigest() for k in keys}


def test_making_a_key_asks_for_the_password_again_after_a_while(client, firm_a, firm_b, settings):
    owner = firm_a.member(Role.OWNER)
    # Signed in, but the password not entered again lately: sent to the re-authentication
    # page, and no key made.
    client.force_login(owner.user)
    url = reverse("api_key_list", args=[firm_a.firm.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name": "Practice dashboard", "scopes": ["read"]})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not ApiKey.objects.for_firm(firm_a.firm).exists()
    # After entering the password again, the key is made.
    again = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert again.status_code == 302
    assert _post_key(client, owner).status_code == 200
    assert ApiKey.objects.for_firm(firm_a.firm).count() == 1
    assert not ApiKey.objects.for_firm(firm_b.firm).exists()


def _post_key(client, membership):
    return client.post(
        reverse("api_key_list", args=[membership.firm.slug]),
        {"name": "Practice dashboard", "scopes": ["read"]},
    )
