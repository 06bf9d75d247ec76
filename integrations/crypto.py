"""The encryption helper lives in core/crypto.py (tenants needs it too, for two-factor secrets);
these names stay importable from here, as the migrations that made the token columns name them."""

from core.crypto import EncryptedTextField, decrypt, encrypt, fernet

__all__ = ["EncryptedTextField", "decrypt", "encrypt", "fernet"]
