"""Encrypt the two-factor secrets stored in clear before the MFA adapter encrypted them."""

from django.db import migrations

from tenants.mfa import authenticator_data_decrypt, authenticator_data_encrypt


def _rewrite(apps, change):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.filter(type__in=["totp", "recovery_codes"]):
        data = change(authenticator.type, authenticator.data)
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_secrets(apps, schema_editor):
    _rewrite(apps, authenticator_data_encrypt)


def decrypt_secrets(apps, schema_editor):
    _rewrite(apps, authenticator_data_decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_apikey_historicalapikey"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets, elidable=False)]
