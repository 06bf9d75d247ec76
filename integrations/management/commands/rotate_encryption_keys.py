"""`python manage.py rotate_encryption_keys`: re-encrypt stored secrets with the first key.

To rotate: put a new Fernet key first in FIELD_ENCRYPTION_KEY, keep the old ones after it, run
this command, then remove the old keys.
"""

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from integrations.models import SlackSettings, XeroConnection
from tenants.mfa import authenticator_data_encrypt


class Command(BaseCommand):
    help = (
        "Re-encrypt stored Xero tokens, Slack secrets and two-factor secrets with the first key "
        "in FIELD_ENCRYPTION_KEY."
    )

    def handle(self, *args, **options):
        # Unscoped on purpose: key rotation is an operator's job over every firm's rows.
        with scopes_disabled(), transaction.atomic():
            connections = list(XeroConnection.objects.select_for_update())
            for connection in connections:
                # Reading decrypts with whichever key matches; writing encrypts with the first.
                XeroConnection.objects.filter(pk=connection.pk).update(
                    access_token=connection.access_token, refresh_token=connection.refresh_token
                )
            slacks = list(SlackSettings.objects.select_for_update())
            for slack in slacks:
                SlackSettings.objects.filter(pk=slack.pk).update(
                    webhook_url=slack.webhook_url, bot_token=slack.bot_token
                )
            authenticators = list(
                Authenticator.objects.select_for_update().filter(
                    type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
                )
            )
            for authenticator in authenticators:
                Authenticator.objects.filter(pk=authenticator.pk).update(
                    data=authenticator_data_encrypt(authenticator.type, authenticator.data)
                )
        self.stdout.write(f"{len(connections)} Xero connections re-encrypted with the first key.")
        self.stdout.write(f"{len(slacks)} firms' Slack secrets re-encrypted with the first key.")
        self.stdout.write(
            f"{len(authenticators)} two-factor authenticators re-encrypted with the first key."
        )
