"""Encryption at rest for secrets: Xero tokens, a narrative provider's key, two-factor secrets.

FIELD_ENCRYPTION_KEY holds one or more Fernet keys, comma-separated. The first encrypts; all of
them decrypt, so a new key can be put first and old rows re-encrypted at leisure
(`manage.py rotate_encryption_keys`) without losing anything.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def fernet() -> MultiFernet:
    if not settings.FIELD_ENCRYPTION_KEY:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY is not set: secrets (Xero tokens, two-factor keys) cannot be "
            "stored or read without it. "
            "Set it to one or more Fernet keys, comma-separated."
        )
    return _fernet(settings.FIELD_ENCRYPTION_KEY)


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "A stored secret cannot be decrypted with the keys in FIELD_ENCRYPTION_KEY. "
            "Was a key removed before rotate_encryption_keys ran?"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column stored encrypted; a database dump shows only ciphertext."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
