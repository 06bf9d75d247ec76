"""Publications of approved drafts to Xero as Budget Manager import files, and their
verification on the next sync."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts.models import Draft
from budgeting.ledger.models import Budget, OrganisationOwned


class BudgetPublication(OrganisationOwned):
    """One Budget Manager import file for one Xero budget, and whether Xero now holds it.

    `expected` lists every filled cell: {"account": Account pk, "code", "name", "period"
    (YYYY-MM-DD), "amount" (whole units, as the file has it), "before" (Xero's figure when the
    file was made, or null)}. Xero does not say when a file was imported, so the check after each
    sync leaves a publication awaiting import until one of its cells moves.
    """

    class Status(models.TextChoices):
        AWAITING_IMPORT = "awaiting_import", "Awaiting import into Xero"
        VERIFIED = "verified", "Published and verified"
        MISMATCH = "mismatch", "Import does not match"

    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="publications"
    )
    budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="publications"
    )
    # Kept apart from the FK: a sync deletes a Budget row that left Xero.
    xero_budget_id = models.CharField(max_length=64)
    budget_name = models.CharField(max_length=255)
    file_name = models.CharField(max_length=200)
    file_content = models.TextField()
    expected = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_IMPORT)
    # [{"account", "code", "name", "period", "expected", "synced"}] at the last check.
    differences = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    checked_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["file_content"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "status"])]

    def __str__(self) -> str:
        return f"Import file for {self.budget_name}: {self.get_status_display()}"
