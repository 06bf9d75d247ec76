"""Publications of approved drafts to Xero as Budget Manager import files, the forecast budgets
they go into, and their verification on the next sync."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts.models import Draft
from budgeting.ledger.models import Budget, OrganisationOwned
from tenants.models import ClientOrganisation


class ForecastBudget(OrganisationOwned):
    """The Xero budget an organisation's approved forecasts go into, beside one original budget
    (the Overall Budget, or a tracking option's), which they never touch.

    Xero's API cannot create a budget: a person adds it in Budget Manager under `name`, the name
    the app suggests, with the original's tracking. The sync after that brings it in as a
    Budget row; `budget` is that row once found by name (or chosen by a person).
    """

    original = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept apart from the FKs: a sync deletes a Budget row that left Xero.
    original_xero_budget_id = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    xero_budget_id = models.CharField(max_length=64, blank=True, default="")
    found_at = models.DateTimeField(null=True, blank=True)
    # None with a budget: found by its name after a sync.
    chosen_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["organisation", "original_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "original_xero_budget_id"],
                name="forecast_budget_unique",
            )
        ]

    def __str__(self) -> str:
        return f"Forecast budget {self.name} beside {self.original_name}"


class PublishingSetting(OrganisationOwned):
    """How an organisation's approved forecasts are published. Off by default: publishing into
    the original budget (`replace_original`) replaces the figures the client's board signed off,
    so it is a deliberate, audited choice per organisation."""

    organisation = models.OneToOneField(
        ClientOrganisation, on_delete=models.CASCADE, related_name="publishing_setting"
    )
    replace_original = models.BooleanField(default=False)
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        side = "replaces the original" if self.replace_original else "keeps the original"
        return f"Publishing of {self.organisation}: {side}"


class BudgetPublication(OrganisationOwned):
    """One Budget Manager import file for one Xero budget, and whether Xero now holds it.

    `expected` lists every filled cell: {"account": Account pk, "code", "name", "period"
    (YYYY-MM-DD), "amount" (whole units, as the file has it), "before" (Xero's figure when the
    file was made, or null)}. Xero does not say when a file was imported, so the check after each
    sync leaves a publication awaiting import until one of its cells moves.

    `original_cells` is the original budget's every cell over the file's months when the file was
    made ({"account", "code", "name", "period", "amount"}): the check after each sync finds any
    that moved (a file imported into the wrong budget, a hand edit in Xero).
    """

    class Status(models.TextChoices):
        WAITING_FOR_BUDGET = "waiting_for_budget", "Waiting for the forecast budget in Xero"
        AWAITING_IMPORT = "awaiting_import", "Awaiting import into Xero"
        VERIFIED = "verified", "Published and verified"
        MISMATCH = "mismatch", "Import does not match"
        ORIGINAL_CHANGED = "original_changed", "The original budget changed"

    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="publications"
    )
    budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="publications"
    )
    forecast_budget = models.ForeignKey(
        ForecastBudget,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="publications",
    )
    # The file goes into the original budget: only with the organisation's replace_original on.
    replaces_original = models.BooleanField(default=False)
    # Kept apart from the FK: a sync deletes a Budget row that left Xero. Blank while the
    # forecast budget is not in Xero yet.
    xero_budget_id = models.CharField(max_length=64, blank=True, default="")
    budget_name = models.CharField(max_length=255)
    file_name = models.CharField(max_length=200)
    file_content = models.TextField()
    expected = models.JSONField(default=list)
    original_xero_budget_id = models.CharField(max_length=64, blank=True, default="")
    original_budget_name = models.CharField(max_length=255, blank=True, default="")
    original_cells = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.AWAITING_IMPORT)
    # [{"account", "code", "name", "period", "expected", "synced"}] at the last check.
    differences = models.JSONField(default=list, blank=True)
    # The original budget's cells that moved since the file was made, in the same shape.
    original_differences = models.JSONField(default=list, blank=True)
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

    @property
    def is_new_budget(self) -> bool:
        """A file of a new year's budget (an annual draft's, known by the key
        selectors.ANNUAL_BUDGET_KEY): no original stood beside it, nothing was in it before."""
        return self.original_xero_budget_id.startswith("annual:")


class BudgetRollback(OrganisationOwned):
    """A published revision rolled back: `draft` (source "rollback") carries the figures of an
    earlier revision of the same Xero budget over the rolled-back file's cells, and goes through
    the approval chain and publishing like any draft; the next sync verifies its file.

    `to_publication` is the earlier revision; None means the figures before the first one (the
    original budget's, for a forecast budget; Xero's figures before the file, when the file
    replaced the original). `figures` is what the draft was made with: [{"account", "code",
    "name", "period", "amount" (the earlier figure), "published" (the rolled-back file's)}].
    """

    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="rollback")
    publication = models.ForeignKey(
        BudgetPublication, on_delete=models.PROTECT, related_name="rollbacks"
    )
    to_publication = models.ForeignKey(
        BudgetPublication, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    figures = models.JSONField(default=list)
    reason = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        to = (
            f"the file of {self.to_publication.created_at:%d %b %Y}"
            if self.to_publication
            else ("the figures before it")
        )
        return f"Rollback of {self.publication.budget_name} to {to}"
