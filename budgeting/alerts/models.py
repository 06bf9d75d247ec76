"""Alerts between closes: the rules an organisation sets, the alerts they raise and what was
sent to whom; and the bookkeeping of the documents Xero told us changed (webhook events and
polls), fetched in batches.

Every row carries firm_id and organisation_id. Rules, alerts and deliveries have history: they
are what the audit log shows.
"""

import datetime as dt

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import MONEY, Account, OrganisationOwned, TrackingOption
from tenants.models import User


class AlertRule(OrganisationOwned):
    """Which accounts to watch, against what, and who hears.

    `account_ids`: Account pks (empty: every account of `account_class`, or every P&L account).
    `recipients`: a list of {"kind": RecipientKind, ...}: {"kind": "budget_owners"} (the
    organisation's external approvers), {"kind": "member", "user_id": pk}, {"kind": "email",
    "email": ...}, {"kind": "slack_channel", "channel": "#finance"}. Validated by
    budgeting.alerts.services.alert_rule_save.
    """

    class Threshold(models.TextChoices):
        BAND = "band", "Expected by this day, with the forecast's band"
        LIMIT = "limit", "A fixed limit for the month"
        # Watches the organisation's projected closing cash (budgeting.cash), not accounts: the
        # first month it falls below the cash threshold the firm set raises the alert.
        CASH = "cash", "Closing cash projected below the organisation's cash threshold"

    class RecipientKind(models.TextChoices):
        BUDGET_OWNERS = "budget_owners", "The organisation's budget owners"
        MEMBER = "member", "A member of the firm"
        EMAIL = "email", "An email address"
        SLACK_CHANNEL = "slack_channel", "A Slack channel"

    name = models.CharField(max_length=150)
    threshold = models.CharField(max_length=10, choices=Threshold.choices)
    account_ids = models.JSONField(default=list, blank=True)
    account_class = models.CharField(max_length=20, blank=True, default="")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    limit = models.DecimalField(**MONEY, null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    # In the organisation's time zone; a window may wrap midnight (22:00-07:00).
    quiet_from = models.TimeField(null=True, blank=True)
    quiet_until = models.TimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    # A deleted rule raises nothing more and leaves the lists, but the row stays: its alerts,
    # and what was sent to whom, are history the firm keeps.
    deleted_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Alert(OrganisationOwned):
    """One severity step of one account (and option) in one month, for one rule: raised once,
    never again that month (no storms)."""

    class Severity(models.IntegerChoices):
        WARNING = 1, "Warning"
        CRITICAL = 2, "Critical"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        SNOOZED = "snoozed", "Snoozed"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period = models.DateField()
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    threshold = models.CharField(max_length=10, choices=AlertRule.Threshold.choices)
    day = models.PositiveSmallIntegerField()  # the day of the month it was measured on
    actual = models.DecimalField(**MONEY)  # month to date, provisional
    expected = models.DecimalField(**MONEY, null=True, blank=True)
    edge = models.DecimalField(**MONEY)  # the band's edge or the limit passed
    by = models.DecimalField(**MONEY)  # how far past it
    projected = models.DecimalField(**MONEY)  # the month's end at this pace
    budget = models.DecimalField(**MONEY, null=True, blank=True)
    # The largest documents behind the figure: [{document_type, document_number, contact_name,
    # date, amount, document_id}].
    drivers = models.JSONField(default=list, blank=True)
    summary = models.TextField()
    # When the earliest change behind it reached us (webhook delivery or poll): for latency.
    source_received_at = models.DateTimeField(null=True, blank=True)
    raised_at = models.DateTimeField(default=now)
    state = models.CharField(max_length=15, choices=State.choices, default=State.OPEN)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account", "period", "severity"],
                condition=models.Q(tracking_option__isnull=True),
                name="alert_overall_step_unique",
            ),
            models.UniqueConstraint(
                fields=["rule", "account", "tracking_option", "period", "severity"],
                condition=models.Q(tracking_option__isnull=False),
                name="alert_tracking_step_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "period"])]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.account} {self.period:%b %Y}"


class AlertDelivery(OrganisationOwned):
    """What was (or is to be) sent to whom for an alert. Kept when sending fails: retried with
    backoff and shown on the alert, never lost."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        # No delivery function for the kind is installed (Slack before it is wired in).
        UNSUPPORTED = "unsupported", "Not set up"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=254)  # an email address or a Slack channel
    state = models.CharField(max_length=15, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # Held until then: quiet hours, a snooze, or the next retry.
    due_at = models.DateTimeField(default=now)
    sent_at = models.DateTimeField(null=True, blank=True)
    subject = models.CharField(max_length=255, blank=True, default="")
    # A Slack delivery is handed to the firm's Slack outbox, which posts and retries on its
    # own: the alert shows that message's state and Slack's reason when it fails.
    slack_message = models.ForeignKey(
        "integrations.SlackMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "recipient"], name="alert_delivery_unique"
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.recipient}: {self.get_state_display()}"

    @property
    def outcome(self) -> str:
        """What became of it, in words. A Slack delivery is "sent" once in the firm's Slack
        outbox; from then on the outbox message's state is the truth (posting, posted, or
        failed after its retries)."""
        message = self.slack_message
        if message is None:
            return self.get_state_display()
        return f"Slack: {message.get_status_display().lower()}"

    @property
    def outcome_error(self) -> str:
        message = self.slack_message
        if message is not None and message.last_error:
            return message.last_error
        return self.last_error


# Changes of an organisation whose Xero connection is disconnected, revoked or needs signing in
# again wait this long for a reconnect; then they are given up (a sync reads them instead).
DISCONNECTED_WAIT = dt.timedelta(hours=24)


class DocumentChange(OrganisationOwned):
    """A document Xero said changed (a webhook event), waiting to be fetched in a batch. Many
    events for one document while it waits are one change."""

    endpoint = models.CharField(max_length=20)  # Invoices, CreditNotes
    document_id = models.CharField(max_length=64)
    received_at = models.DateTimeField(default=now)
    batch = models.ForeignKey(
        "DocumentBatch", on_delete=models.SET_NULL, null=True, blank=True, related_name="changes"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "endpoint", "document_id"],
                condition=models.Q(batch__isnull=True),
                name="document_change_pending_unique",
            )
        ]
        indexes = [models.Index(fields=["organisation", "batch"])]


class DocumentBatch(OrganisationOwned):
    """One fetch from Xero: the changed documents of one endpoint in one call (IDs=), or a poll
    of an endpoint Xero sends no webhook for (If-Modified-Since)."""

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Poll"

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        # Changes of an organisation whose Xero connection stayed lost past the wait: not
        # fetched, their count kept here with the reason shown on the alerts screen.
        GIVEN_UP = "given_up", "Given up"

    source = models.CharField(max_length=10, choices=Source.choices)
    endpoint = models.CharField(max_length=20)
    document_count = models.PositiveIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)
    xero_calls = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)
    alerts_raised = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]


class AlertPoll(OrganisationOwned):
    """Where the If-Modified-Since poll of each endpoint with no webhook stands."""

    organisation = models.OneToOneField(
        "tenants.ClientOrganisation", on_delete=models.CASCADE, related_name="alert_poll"
    )
    # endpoint -> ISO datetime of the newest UpdatedDateUTC seen (or the poll's start).
    modified_since = models.JSONField(default=dict)
    polled_at = models.DateTimeField(null=True, blank=True)
