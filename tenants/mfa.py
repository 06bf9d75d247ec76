"""Two-factor secrets at rest: which values of an allauth Authenticator are secret, and their
re-encryption (the data migration that encrypted existing rows, and key rotation)."""

from collections.abc import Callable
from typing import Any

from core.crypto import decrypt, encrypt


def authenticator_data_encrypt(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data with every secret encrypted with the first key: plain ones (rows written before
    the MFA adapter encrypted) and ones under an older key alike."""
    return _secrets_map(type_, data, lambda value: encrypt(_plain(value)))


def authenticator_data_decrypt(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data with every secret in clear: what allauth stored before the adapter encrypted."""
    return _secrets_map(type_, data, _plain)


def _secrets_map(type_: str, data: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    # The same keys allauth passes through MFAAdapter.encrypt: totp's "secret", recovery
    # codes' "seed" and the codes migrated from another package ("migrated_codes").
    data = dict(data)
    if type_ == "totp" and data.get("secret"):
        data["secret"] = change(data["secret"])
    if type_ == "recovery_codes":
        if data.get("seed"):
            data["seed"] = change(data["seed"])
        if data.get("migrated_codes"):
            data["migrated_codes"] = [change(code) for code in data["migrated_codes"]]
    return data


def _plain(value: str) -> str:
    # A Fernet token starts with its version byte and a timestamp, "gAAAAA" in base64; a TOTP
    # key (base32, upper case), a seed (hex) or a code (digits) never does. A token no key
    # opens raises (a key was removed too early) rather than being encrypted a second time.
    return decrypt(value) if value.startswith("gAAAAA") else value
