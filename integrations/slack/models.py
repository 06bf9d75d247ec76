"""A firm's Slack: how the app posts there (an incoming webhook or a bot token, kept encrypted),
which Slack user is which member, and every message the app sent or is still sending.

Gathered into the `integrations` app by integrations/models.py.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from integrations.crypto import EncryptedTextField
from tenants.managers import FirmScopedManager
from tenants.models import Firm, User


class SlackSettings(models.Model):
    """How a firm's messages reach Slack. Off until an owner chooses a webhook or a bot token.

    A webhook posts only into its own channel and cannot look people up; a bot token posts into
    any channel the bot is a member of and finds members by email (users.lookupByEmail).
    """

    class Method(models.TextChoices):
        OFF = "off", "Off"
        WEBHOOK = "webhook", "Incoming webhook"
        BOT = "bot", "Bot token"

    firm = models.OneToOneField(Firm, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.OFF)
    webhook_url = EncryptedTextField(blank=True, default="")
    bot_token = EncryptedTextField(blank=True, default="")
    # The last four characters of the secret in use, so the history shows that it changed
    # without keeping the secret itself.
    secret_hint = models.CharField(max_length=8, blank=True, default="")
    default_channel = models.CharField(max_length=80, blank=True, default="")
    # The workspace the bot token belongs to (auth.test): a click from any other workspace is
    # refused.
    team_id = models.CharField(max_length=20, blank=True, default="")
    approvals_to_slack = models.BooleanField(default=False)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_ok = models.BooleanField(null=True, blank=True)
    test_detail = models.TextField(blank=True, default="")
    updated_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    # The secrets stay out of the history (secret_hint says when they changed).
    history = HistoricalRecords(excluded_fields=["webhook_url", "bot_token"])

    class Meta:
        verbose_name_plural = "Slack settings"

    def __str__(self) -> str:
        return f"Slack of {self.firm}: {self.get_method_display()}"

    @property
    def active(self) -> bool:
        if self.method == self.Method.WEBHOOK:
            return bool(self.webhook_url)
        if self.method == self.Method.BOT:
            return bool(self.bot_token and self.default_channel)
        return False


class SlackMember(models.Model):
    """A Slack user of the firm's workspace who is one of the firm's members: found by email
    (users.lookupByEmail) or set by an owner. A click in Slack acts as this member."""

    class Source(models.TextChoices):
        LOOKUP = "lookup", "Found by email"
        MANUAL = "manual", "Set by hand"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    slack_user_id = models.CharField(max_length=20)
    source = models.CharField(max_length=10, choices=Source.choices)
    updated_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__email"]
        constraints = [
            models.UniqueConstraint(fields=["firm", "user"], name="slack_member_user_unique"),
            models.UniqueConstraint(
                fields=["firm", "slack_user_id"], name="slack_member_slack_user_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slack_user_id} is {self.user}"


class SlackMessage(models.Model):
    """One message to Slack, written in the transaction of what caused it (the outbox) and
    delivered by a task, which retries with backoff. A message that cannot be delivered stays
    here as failed, with Slack's reason, until someone sends it again."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    # What the message is about, in words ("Approval request: Harbour Lane Café, step 1").
    purpose = models.CharField(max_length=200)
    # A message with a key is written once per firm: a service run twice posts once.
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    channel = models.CharField(max_length=80, blank=True, default="")
    text = models.TextField()
    blocks = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=now)
    # When the next attempt is due; a queued message long past it lost its task, and is queued
    # again by the beat.
    next_attempt_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    slack_ts = models.CharField(max_length=40, blank=True, default="")

    objects = FirmScopedManager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="slack_message_dedupe_unique",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Slack message {self.pk} ({self.status}): {self.purpose}"
