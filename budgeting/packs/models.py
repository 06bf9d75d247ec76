"""Report packs: a client's month (or quarter) as an HTML email and a PDF, built after each
close and on the schedule a firm sets per organisation, branded with the firm's name, logo and
colour. A pack is kept per organisation and period: building it again replaces its file."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import OrganisationOwned
from tenants.managers import FirmScopedManager
from tenants.models import ClientOrganisation, Firm


class PackBranding(models.Model):
    """How a firm's packs look: the name on the cover, a logo and an accent colour.

    The logo is kept in the database (a few hundred kilobytes at most, checked on upload), so a
    pack is rebuilt on any worker with no shared file storage.
    """

    firm = models.OneToOneField(Firm, on_delete=models.CASCADE, related_name="pack_branding")
    display_name = models.CharField(max_length=120, blank=True, default="")
    colour = models.CharField(max_length=7, default="#1F4E79")
    logo = models.BinaryField(blank=True, default=b"", editable=False)
    logo_content_type = models.CharField(max_length=20, blank=True, default="")
    logo_width = models.PositiveIntegerField(null=True, blank=True)
    logo_height = models.PositiveIntegerField(null=True, blank=True)
    # A logo's change shows in the history by its fingerprint (the bytes are not copied there).
    logo_sha256 = models.CharField(max_length=64, blank=True, default="")
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords(excluded_fields=["logo"])

    def __str__(self) -> str:
        return f"Pack branding of {self.firm}"


class PackSchedule(OrganisationOwned):
    """When an organisation's pack goes out and to whom.

    `frequency` monthly: each month's pack on `send_day` of the next month; quarterly: only the
    packs of the months that end a quarter of the organisation's financial year. `after_close`
    also sends the pack as soon as a month close's pipeline built it. Recipients are members of
    the firm (by user id, checked on save) and external email addresses (the client's people).
    """

    class Frequency(models.TextChoices):
        OFF = "off", "Not scheduled"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"

    organisation = models.OneToOneField(
        ClientOrganisation, on_delete=models.CASCADE, related_name="pack_schedule"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.OFF)
    send_day = models.PositiveSmallIntegerField(default=5)  # 1-28, in the organisation's zone
    after_close = models.BooleanField(default=True)
    member_ids = models.JSONField(default=list, blank=True)
    external_emails = models.JSONField(default=list, blank=True)
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Pack schedule of {self.organisation}: {self.get_frequency_display()}"


class ReportPack(OrganisationOwned):
    """One organisation's pack for one period (the first day of its month): the PDF as built,
    what it said (`figures`, for the list and the API) and the HTML of its email."""

    class State(models.TextChoices):
        BUILDING = "building", "Building"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    period = models.DateField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.BUILDING)
    pdf = models.BinaryField(blank=True, default=b"", editable=False)
    pdf_sha256 = models.CharField(max_length=64, blank=True, default="")
    html = models.TextField(blank=True, default="")
    # {"currency", "net_profit": {"actual", "budget", "variance"}, "material", "drafts"}.
    figures = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    built_at = models.DateTimeField(null=True, blank=True)
    built_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    history = HistoricalRecords(excluded_fields=["pdf", "html"])

    class Meta:
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "period"], name="report_pack_unique")
        ]

    def __str__(self) -> str:
        return f"Report pack {self.period:%B %Y}"

    @property
    def file_name(self) -> str:
        from django.utils.text import slugify

        return f"{slugify(self.organisation.name) or 'client'}-pack-{self.period:%Y-%m}.pdf"


class PackDelivery(OrganisationOwned):
    """One sending of a pack: after a close, on the schedule, or by hand. One per pack and
    reason for the automatic ones (a task delivered twice sends once); `sent_to` grows as each
    recipient's email leaves, so a retry after a failure sends only to the rest."""

    class Reason(models.TextChoices):
        CLOSE = "close", "After the month close"
        SCHEDULE = "schedule", "On the schedule"
        MANUAL = "manual", "Sent by hand"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, retrying"
        FAILED = "failed", "Failed"

    pack = models.ForeignKey(ReportPack, on_delete=models.CASCADE, related_name="deliveries")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    recipients = models.JSONField(default=list, blank=True)
    sent_to = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "pack deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["pack", "reason"],
                condition=~models.Q(reason="manual"),
                name="pack_delivery_once_per_reason",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.pack} ({self.get_state_display()})"
