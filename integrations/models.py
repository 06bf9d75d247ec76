import datetime as dt

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.crypto import EncryptedTextField
from tenants.managers import FirmScopedManager
from tenants.models import ClientOrganisation, Firm, User


class XeroConnection(models.Model):
    """One OAuth grant of a firm user to Xero. A grant can cover several Xero organisations.

    Refresh tokens rotate: whoever refreshes must lock this row first (see
    integrations.xero.oauth.xero_connection_access_token), so two workers never both spend the
    same refresh token and lose the new one.
    """

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
        REVOKED = "revoked", "Revoked"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="xero_connections")
    connected_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    # Xero's id of the consent event; /connections rows carry it.
    auth_event_id = models.CharField(max_length=64, blank=True, default="")
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    access_token_expires_at = models.DateTimeField()
    scopes = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    status_detail = models.TextField(blank=True, default="")
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FirmScopedManager()
    history = HistoricalRecords(excluded_fields=["access_token", "refresh_token"])

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Xero connection {self.pk} of {self.firm}"

    def access_token_fresh(self, *, margin: dt.timedelta = dt.timedelta(seconds=60)) -> bool:
        return self.access_token_expires_at - margin > timezone.now()


class XeroTenant(models.Model):
    """A Xero organisation reached through a connection, linked to one client organisation."""

    class Status(models.TextChoices):
        CONNECTED = "connected", "Connected"
        REMOVED = "removed", "Removed in Xero"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="xero_tenants")
    connection = models.ForeignKey(XeroConnection, on_delete=models.CASCADE, related_name="tenants")
    # Xero's tenantId, which is the OrganisationID; the xero-tenant-id header of every call.
    tenant_id = models.CharField(max_length=64)
    # The id of the /connections row, needed to disconnect.
    xero_connection_id = models.CharField(max_length=64, blank=True, default="")
    tenant_name = models.CharField(max_length=255)
    client_organisation = models.OneToOneField(
        ClientOrganisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="xero_tenant",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTED)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["tenant_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "tenant_id"], name="xero_tenant_unique_per_firm"
            )
        ]

    def __str__(self) -> str:
        return self.tenant_name

    @property
    def state(self) -> str:
        """What the dashboard shows: connected, needs re-authorisation, or revoked."""
        if self.status == self.Status.REMOVED:
            return XeroConnection.Status.REVOKED
        return self.connection.status


class XeroWebhookDelivery(models.Model):
    """A webhook POST from Xero, recorded as received before anything is done with it.

    Not firm-owned: Xero sends one delivery per app, and its events may concern organisations
    of several firms. Processing fans out to each firm's organisations in that firm's scope.
    """

    # sha256 of the raw body: Xero retries a failed delivery with the same body.
    body_hash = models.CharField(max_length=64, unique=True)
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    syncs_started = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"Xero webhook {self.pk} at {self.received_at:%Y-%m-%d %H:%M}"


class XeroWebhookEvent(models.Model):
    delivery = models.ForeignKey(
        XeroWebhookDelivery, on_delete=models.CASCADE, related_name="events"
    )
    tenant_id = models.CharField(max_length=64, db_index=True)
    event_category = models.CharField(max_length=20)  # INVOICE, CREDITNOTE, CONTACT
    event_type = models.CharField(max_length=20)  # CREATE, UPDATE
    resource_id = models.CharField(max_length=64)
    event_date_utc = models.CharField(max_length=40)

    class Meta:
        constraints = [
            # The same event in two deliveries is processed once.
            models.UniqueConstraint(
                fields=[
                    "tenant_id",
                    "event_category",
                    "event_type",
                    "resource_id",
                    "event_date_utc",
                ],
                name="xero_webhook_event_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_category} {self.event_type} {self.resource_id}"


# The Slack integration's models, in this app (integrations/slack/models.py).
from integrations.slack.models import SlackMember, SlackMessage, SlackSettings  # noqa: E402

__all__ = [
    "SlackMember",
    "SlackMessage",
    "SlackSettings",
    "XeroConnection",
    "XeroTenant",
    "XeroWebhookDelivery",
    "XeroWebhookEvent",
]
