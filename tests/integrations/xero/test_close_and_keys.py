"""Month close by PeriodLockDate, the xero_sync command, and encryption key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db_connection

from budgeting.ledger.close import organisation_period_lock_check
from budgeting.models import SyncRun, XeroOrganisation
from core.crypto import fernet
from core.months import add_months, month_end
from integrations.models import XeroConnection
from tests.sandbox import SANDBOX_ADMIN, sandbox_http, sync

CAFE = "Harbour Lane Café"


@pytest.mark.mutable_sandbox
def test_a_lock_date_moving_forward_runs_the_post_close_pipeline_once(
    connected_firm, xero_sandbox, django_capture_on_commit_callbacks
):
    organisation = connected_firm.linked[CAFE]
    sync(connected_firm, CAFE)
    firm = connected_firm.firm
    lock = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation).period_lock_date

    # Nothing moved: no pipeline.
    assert not organisation_period_lock_check(firm=firm, organisation_id=organisation.pk)
    assert not SyncRun.objects.for_firm(firm).filter(trigger=SyncRun.Trigger.CLOSE).exists()

    # The accountant locks another month in Xero.
    later = month_end(add_months(lock.replace(day=1), 1))
    with sandbox_http(xero_sandbox) as http:
        http.post(
            "/_sandbox/organisations/cafe/period-lock",
            headers=SANDBOX_ADMIN,
            json={"periodLockDate": later.isoformat()},
        )
    with django_capture_on_commit_callbacks() as queued:
        assert organisation_period_lock_check(firm=firm, organisation_id=organisation.pk)
    assert len(queued) == 1
    run = SyncRun.objects.for_firm(firm).get(trigger=SyncRun.Trigger.CLOSE)
    assert run.state == SyncRun.State.QUEUED

    # Checked again before the sync ran: the queued run is reused, not duplicated.
    organisation_period_lock_check(firm=firm, organisation_id=organisation.pk)
    assert SyncRun.objects.for_firm(firm).filter(trigger=SyncRun.Trigger.CLOSE).count() == 1


def test_xero_sync_command_syncs_and_reports(connected_firm, capsys):
    organisation = connected_firm.linked["Tidemark Homewares"]
    call_command("xero_sync", "--org", str(organisation.pk))
    out = capsys.readouterr().out
    assert "Tidemark Homewares: initial sync done" in out
    assert "reconciled" in out
    run = SyncRun.objects.for_firm(connected_firm.firm).get(organisation=organisation)
    assert run.state == SyncRun.State.SUCCEEDED


def test_xero_sync_command_refuses_an_unknown_organisation(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No connected client organisation"):
        call_command("xero_sync", "--org", "999999")


def test_keys_rotate_without_losing_tokens(connected_firm, settings):
    connection = XeroConnection.objects.for_firm(connected_firm.firm).get()
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys")

    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    fresh = XeroConnection.objects.for_firm(connected_firm.firm).get()
    assert fresh.refresh_token == connection.refresh_token
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT refresh_token FROM integrations_xeroconnection")
        (stored,) = cursor.fetchone()
    assert fernet().decrypt(stored.encode()).decode() == connection.refresh_token


def test_every_encrypted_field_rotates_the_narrative_providers_key_too(
    firm_a, firm_b, settings, capsys
):
    from budgeting.models import NarrativeProviderSettings
    from tests.factories import NarrativeProviderSettingsFactory

    ours = NarrativeProviderSettingsFactory(firm=firm_a.firm, api_key="sk-alder-secret")
    theirs = NarrativeProviderSettingsFactory(firm=firm_b.firm, api_key="sk-birch-secret")
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"
    call_command("rotate_encryption_keys")
    assert (
        "2 narrative provider settings re-encrypted with the first key." in capsys.readouterr().out
    )

    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    for row, secret in ((ours, "sk-alder-secret"), (theirs, "sk-birch-secret")):
        assert NarrativeProviderSettings.objects.for_firm(row.firm).get().api_key == secret
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM budgeting_narrativeprovidersettings ORDER BY id")
        stored = [fernet().decrypt(value.encode()).decode() for (value,) in cursor.fetchall()]
    assert stored == ["sk-alder-secret", "sk-birch-secret"]


def test_no_key_means_no_tokens_stored_or_read(settings):
    from django.core.exceptions import ImproperlyConfigured

    from core.crypto import decrypt, encrypt

    token = encrypt("refresh-token")
    settings.FIELD_ENCRYPTION_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY is not set"):
        encrypt("refresh-token")
    with pytest.raises(ImproperlyConfigured):
        decrypt(token)


def test_no_secret_key_means_nothing_is_signed(settings):
    from django.core import signing
    from django.core.exceptions import ImproperlyConfigured

    settings.SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        signing.dumps({"firm": 1})
