"""Approval chains, their steps and decisions, email sign-off links and digests.

Every row carries firm_id and organisation_id (OrganisationOwned) and has history, except the
links, whose only secret is a hash and whose use is recorded as a decision.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts.models import Draft
from budgeting.ledger.models import OrganisationOwned
from tenants.managers import FirmScopedManager


class ExternalApprover(OrganisationOwned):
    """Someone outside the firm who approves an organisation's drafts, known only by email
    (a client's budget owner). Signs off through email links only."""

    email = models.EmailField()
    name = models.CharField(max_length=150, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"], name="external_approver_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


class ApprovalChain(OrganisationOwned):
    """An organisation's ordered approval chain. `version` goes up with every saved change; a
    request copies the steps of the version it was submitted under.

    `steps` is a list of {"name", "roles": [Role], "member_ids": [User pk],
    "external_approver_ids": [ExternalApprover pk], "condition": Condition,
    "change_above": "amount" or null}, validated by budgeting.approvals.services.
    """

    class Condition(models.TextChoices):
        ALWAYS = "always", "Always"
        CAPEX = "capex", "When the draft has capital-expenditure lines"
        CHANGE_ABOVE = "change_above", "When a line changes by more than an amount"
        # The budget policy's extra approval step (budgeting.drafts.guardrails): a line of a
        # capital-expenditure account, or one whose change is above `extra_approval_above`.
        EXTRA_APPROVAL = (
            "extra_approval",
            "When the budget policy asks for extra approval (capital expenditure, a large change)",
        )

    organisation = models.OneToOneField(
        "tenants.ClientOrganisation", on_delete=models.CASCADE, related_name="approval_chain"
    )
    version = models.PositiveIntegerField(default=1)
    steps = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Approval chain of {self.organisation} v{self.version}"


class ApprovalRequest(OrganisationOwned):
    """A draft's way through the chain, bound to the revision it was submitted at."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        WITHDRAWN = "withdrawn", "Withdrawn"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="approval_requests")
    revision = models.PositiveIntegerField()
    chain_version = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    submitted_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(default=now)
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Approval of draft {self.draft_id} r{self.revision}: {self.status}"


class ApprovalStep(OrganisationOwned):
    """One step of a request, copied from the chain when the draft was submitted."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for an earlier step"
        OPEN = "open", "Open"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        SKIPPED = "skipped", "Not needed for this draft"

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()  # 1, 2, ...
    name = models.CharField(max_length=100)
    roles = models.JSONField(default=list, blank=True)
    member_ids = models.JSONField(default=list, blank=True)
    external_approver_ids = models.JSONField(default=list, blank=True)
    condition = models.CharField(
        max_length=20,
        choices=ApprovalChain.Condition.choices,
        default=ApprovalChain.Condition.ALWAYS,
    )
    change_above = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # Why a conditional step applies to this draft, in words: for the extra approval step each
    # line the budget policy marked and why ("400 Advertising: Capital expenditure account").
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.WAITING)
    opened_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    # When the approvers were first emailed (claimed once, so a task run twice mails once), and
    # the reminders since.
    notified_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    history = HistoricalRecords(excluded_fields=["notified_at", "reminded_at", "reminders_sent"])

    class Meta:
        ordering = ["request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["request", "position"], name="approval_step_unique")
        ]

    def __str__(self) -> str:
        return f"Step {self.position} ({self.name}): {self.status}"


class ApprovalDecision(OrganisationOwned):
    """Who decided a step, when, from where, and why. Never changed once written."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        REQUEST_CHANGES = "request_changes", "Changes requested"

    class Channel(models.TextChoices):
        SCREEN = "screen", "Screen"
        API = "api", "API"
        EMAIL = "email", "Email link"
        # A button in Slack, confirmed on the same page as the email link.
        SLACK = "slack", "Slack"

    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="decisions")
    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    revision = models.PositiveIntegerField()
    decision = models.CharField(max_length=20, choices=Decision.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    external_approver = models.ForeignKey(
        ExternalApprover, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Lowercased email of whoever decided: segregation of duties compares people by it, so a
    # member and an external approver with the same address are one person.
    email = models.EmailField()
    comment = models.TextField(blank=True, default="")
    line_ids = models.JSONField(default=list, blank=True)  # lines a change was requested on
    created_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.email} ({self.channel})"


class ApprovalLink(OrganisationOwned):
    """A sign-off link, emailed or handed out by a click in Slack: bound to the draft's
    revision, the step and the approver.

    Only the SHA-256 of the token is stored; a link works once and until `expires_at`.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    step = models.ForeignKey(ApprovalStep, on_delete=models.CASCADE, related_name="links")
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="+")
    revision = models.PositiveIntegerField()
    user = models.ForeignKey(
        "tenants.User", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    external_approver = models.ForeignKey(
        ExternalApprover, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    email = models.EmailField()
    # Where the link was handed out (an email, or a click in Slack): the decision's channel.
    channel = models.CharField(
        max_length=10,
        choices=ApprovalDecision.Channel.choices,
        default=ApprovalDecision.Channel.EMAIL,
    )
    created_at = models.DateTimeField(default=now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Sign-off link for {self.email}, step {self.step_id}"


class ApprovalDigestOptOut(models.Model):
    """An approver (by lowercased email) who asked for no daily digest from this firm. The
    emails about a step opening, and reminders, still come: they carry the decision itself."""

    firm = models.ForeignKey("tenants.Firm", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    created_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["firm", "email"], name="digest_opt_out_unique")
        ]

    def __str__(self) -> str:
        return f"No digest for {self.email}"


class ApprovalDigestSent(models.Model):
    """One digest to one approver on one day: claimed before sending, so a beat task delivered
    twice sends it once."""

    firm = models.ForeignKey("tenants.Firm", on_delete=models.CASCADE, related_name="+")
    email = models.EmailField()
    day = models.DateField()
    steps = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["firm", "email", "day"], name="digest_sent_unique")
        ]

    def __str__(self) -> str:
        return f"Digest to {self.email} on {self.day}"
