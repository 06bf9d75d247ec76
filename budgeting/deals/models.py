"""A client's sales pipeline: each upload of its CRM export is a version, with its deals.

Versions are numbered per organisation and never change once saved (a new export is a new
version), so a past pipeline can be compared with what happened: the backtest that weighs the
pipeline against the statistical forecast (budgeting.deals.maths) reads them all. `as_of` is
the month the export describes (this month, or an earlier one for an older export loaded
afterwards).
"""

from decimal import Decimal

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import MONEY, Account, OrganisationOwned, TrackingOption


class SalesPipelineUpload(OrganisationOwned):
    class Source(models.TextChoices):
        CSV = "csv", "CSV upload"
        API = "api", "API"

    version = models.PositiveIntegerField()
    as_of = models.DateField()  # the first day of the month the export describes
    source = models.CharField(max_length=4, choices=Source.choices, default=Source.CSV)
    file_name = models.CharField(max_length=255, blank=True, default="")
    # The revenue account of deals whose row names none.
    default_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    deal_count = models.PositiveIntegerField(default=0)
    total_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    weighted_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    uploaded_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "version"], name="sales_pipeline_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Sales pipeline v{self.version} ({self.as_of:%b %Y})"


class Deal(OrganisationOwned):
    """One row of an upload, as read: part of its version, never changed afterwards."""

    upload = models.ForeignKey(SalesPipelineUpload, on_delete=models.CASCADE, related_name="deals")
    row = models.PositiveIntegerField()  # the file's line number, header = 1
    name = models.CharField(max_length=255)
    amount = models.DecimalField(**MONEY)
    stage = models.CharField(max_length=100, blank=True, default="")
    probability = models.DecimalField(max_digits=5, decimal_places=2)  # percent
    probability_from_stage = models.BooleanField(default=False)
    close_month = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["upload", "row"]
        indexes = [models.Index(fields=["upload", "account", "close_month"])]

    def __str__(self) -> str:
        return self.name
