"""`python manage.py rotate_encryption_keys`: re-encrypt stored secrets with the first key.

To rotate: put a new Fernet key first in FIELD_ENCRYPTION_KEY, keep the old ones after it, run
this command, then remove the old keys.

Every field of every installed model that is an EncryptedTextField is re-encrypted, found
through Django's app registry: a secret a new package keeps (the narrative provider's key in
budgeting, say) is rotated without this command importing that package, and none is forgotten.
Two-factor secrets are kept by allauth in a JSON field, encrypted by tenants.mfa.
"""

from allauth.mfa.models import Authenticator
from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from integrations.crypto import EncryptedTextField
from tenants.mfa import authenticator_data_encrypt


def encrypted_fields() -> list[tuple[type, list[str]]]:
    """(model, names of its encrypted fields) for every installed model that has one."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (Xero tokens, Slack secrets, the narrative provider's "
        "key, two-factor secrets) with the first key in FIELD_ENCRYPTION_KEY."
    )

    def handle(self, *args, **options):
        counts = []
        # Unscoped on purpose: key rotation is an operator's job over every firm's rows.
        with scopes_disabled(), transaction.atomic():
            for model, names in encrypted_fields():
                rows = list(model._base_manager.select_for_update().only("pk", *names))
                for row in rows:
                    # Reading decrypts with whichever key matches; writing encrypts with the
                    # first.
                    model._base_manager.filter(pk=row.pk).update(
                        **{name: getattr(row, name) for name in names}
                    )
                counts.append((model._meta.verbose_name_plural, len(rows)))
            authenticators = list(
                Authenticator.objects.select_for_update().filter(
                    type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
                )
            )
            for authenticator in authenticators:
                Authenticator.objects.filter(pk=authenticator.pk).update(
                    data=authenticator_data_encrypt(authenticator.type, authenticator.data)
                )
        for name, count in counts:
            self.stdout.write(f"{count} {name} re-encrypted with the first key.")
        self.stdout.write(
            f"{len(authenticators)} two-factor authenticators re-encrypted with the first key."
        )
