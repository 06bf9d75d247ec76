"""Two-factor secrets are encrypted at rest (tenants/adapters.py: MFAAdapter), rows stored in
clear before are encrypted by a data migration, and signing in with a code still works."""

import importlib

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from core.crypto import decrypt
from tests.factories import PASSWORD, UserFactory

LEGACY_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LEGACY_SEED = "5f" * 40

_migration = importlib.import_module("tenants.migrations.0003_encrypt_mfa_secrets")


def _code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def _stored(user) -> str:
    """What a database dump shows of the user's authenticators: the column as text."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(data::text, ' ') FROM mfa_authenticator WHERE user_id = %s",
            [user.pk],
        )
        return cursor.fetchone()[0]


def _sign_in(client, email: str, code: str) -> bool:
    client.post(reverse("account_login"), {"login": email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": code})
    return client.get(reverse("home")).status_code == 200


def test_a_new_totp_secret_is_stored_encrypted_and_signs_in(client, db):
    user = UserFactory(email="mere@example.com")
    client.force_login(user)
    page = client.get(reverse("mfa_activate_totp"), follow=True)
    if page.redirect_chain:
        client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp"))
    secret = page.context["form"].secret
    client.post(reverse("mfa_activate_totp"), {"code": _code(secret)})
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    seed = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)

    stored = _stored(user)
    assert secret not in stored
    assert seed.wrap().generate_codes()[0] not in stored
    assert decrypt(totp.data["secret"]) == secret
    assert len(decrypt(seed.data["seed"])) == 80  # the hex seed, only under the key

    client.post(reverse("account_logout"))
    # The activation's code is spent (allauth refuses a code twice), so sign in with a
    # recovery code, then check a fresh TOTP code against the decrypted secret.
    codes = seed.wrap().get_unused_codes()
    assert _sign_in(client, "mere@example.com", codes[0])
    assert totp.wrap().validate_code(_code(secret)) is True


def test_secrets_stored_in_clear_are_encrypted_by_the_migration_and_still_sign_in(client, db):
    user = UserFactory(email="tipene@example.com")
    other = UserFactory(email="other@example.com")
    for owner in (user, other):
        Authenticator.objects.create(
            user=owner, type=Authenticator.Type.TOTP, data={"secret": LEGACY_SECRET}
        )
        Authenticator.objects.create(
            user=owner,
            type=Authenticator.Type.RECOVERY_CODES,
            data={"seed": LEGACY_SEED, "used_mask": 0, "migrated_codes": ["12345678"]},
        )
    assert LEGACY_SECRET in _stored(user)  # as allauth stored them before the adapter

    _migration.encrypt_secrets(apps, None)
    _migration.encrypt_secrets(apps, None)  # twice: already encrypted rows are left as they are

    for owner in (user, other):
        stored = _stored(owner)
        for plain in (LEGACY_SECRET, LEGACY_SEED, "12345678"):
            assert plain not in stored
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    assert decrypt(totp.data["secret"]) == LEGACY_SECRET

    assert _sign_in(client, "tipene@example.com", _code(LEGACY_SECRET))

    # And back: the reverse migration restores exactly what was there.
    _migration.decrypt_secrets(apps, None)
    assert Authenticator.objects.get(pk=totp.pk).data == {"secret": LEGACY_SECRET}


def test_rotating_keys_re_encrypts_two_factor_secrets(client, db, settings):
    user = UserFactory(email="hemi@example.com")
    Authenticator.objects.create(
        user=user, type=Authenticator.Type.TOTP, data={"secret": LEGACY_SECRET}
    )
    _migration.encrypt_secrets(apps, None)
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    assert _sign_in(client, "hemi@example.com", _code(LEGACY_SECRET))
