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
from tests.factories import api_key_create

KEY_RE = re.compile(r"ll_[0-9a-f]{8}_[A-Za-z0-9_-]{20,}")


def _create(client, membership, **data):
    client.force_login(membership.user)
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


@pytest.mark.parametrize("role", [Role.PREPARER, Role.APPROVER, Role.VIEWER])
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


def test_an_approve_key_must_name_a_member_who_can_approve(client, firm_a):
    owner = firm_a.member(Role.OWNER)
    response = _create(client, owner, scopes=["approve"])
    assert response.status_code == 400
    assert "must name the member it approves as" in response.content.decode()

    preparer = firm_a.member(Role.PREPARER)
    response = _create(client, owner, scopes=["approve"], member=preparer.pk)
    assert response.status_code == 400
    assert "cannot approve" in response.content.decode()
    assert not ApiKey.objects.for_firm(firm_a.firm).exists()

    approver = firm_a.member(Role.APPROVER)
    response = _create(client, owner, scopes=["approve"], member=approver.pk)
    assert response.status_code == 200
    api_key = ApiKey.objects.for_firm(firm_a.firm).get()
    assert api_key.member == approver
    # Approving needs to read what it approves.
    assert api_key.scopes == ["read", "approve"]


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
