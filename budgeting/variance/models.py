"""Variance settings and results: materiality per class, stored narratives, monthly summaries,
and the firm's narrative provider."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import MONEY, Account, OrganisationOwned, TrackingOption
from core.crypto import EncryptedTextField
from tenants.managers import FirmScopedManager
from tenants.models import ClientOrganisation, Firm


class MaterialitySetting(OrganisationOwned):
    """An organisation's materiality threshold: the default (no class) or one account class's.

    A variance is material when it passes both the percent of budget and the money floor. With no
    rows the product's defaults apply (10% and 500 in the organisation's currency).
    """

    class AccountClass(models.TextChoices):
        DEFAULT = "", "Every account"
        REVENUE = "REVENUE", "Revenue"
        EXPENSE = "EXPENSE", "Expense"

    account_class = models.CharField(
        max_length=20, choices=AccountClass.choices, blank=True, default=""
    )
    percent = models.DecimalField(max_digits=6, decimal_places=2, default=10)
    floor = models.DecimalField(**MONEY, default=500)
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["account_class"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "account_class"], name="materiality_setting_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_account_class_display()}: {self.percent}% and {self.floor}"


class VarianceNarrative(OrganisationOwned):
    """The stored explanation of one material variance, with the facts every number came from.

    Regenerated only when the facts change: `facts_hash` is the SHA-256 of the facts' JSON.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="narratives")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period = models.DateField()  # first day of the month
    text = models.TextField()
    facts = models.JSONField()
    facts_hash = models.CharField(max_length=64)
    generator = models.CharField(max_length=200)
    # Why the firm's outside provider was not used and the local text stands in (a number it
    # could not back, a name it made up, a timeout); empty when it was, or was not asked.
    fallback_reason = models.CharField(max_length=200, blank=True, default="")
    drivers = models.JSONField(default=list)
    created_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["period", "account__code"]
        constraints = [
            # Two partial constraints, because NULLs are distinct in a plain unique constraint.
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(tracking_option__isnull=True),
                name="variance_narrative_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "tracking_option", "period"],
                condition=models.Q(tracking_option__isnull=False),
                name="variance_narrative_tracking_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "period"])]

    def __str__(self) -> str:
        return f"{self.account} {self.period:%b %Y}: {self.text[:60]}"


class VarianceSummary(OrganisationOwned):
    """The overall figures of one month, stored by the variance refresh for the firm dashboard."""

    organisation = models.ForeignKey(
        ClientOrganisation, on_delete=models.CASCADE, related_name="variance_summaries"
    )
    period = models.DateField()
    currency_code = models.CharField(max_length=3)
    net_profit_actual = models.DecimalField(**MONEY)
    net_profit_budget = models.DecimalField(**MONEY)
    net_profit_variance = models.DecimalField(**MONEY)
    net_profit_percent = models.DecimalField(max_digits=12, decimal_places=1, null=True)
    net_profit_favourable = models.BooleanField(null=True)
    material_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "period"], name="variance_summary_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.period:%b %Y}: {self.net_profit_variance}"


class NarrativeProviderSettings(models.Model):
    """A firm's choice to word narratives with an outside OpenAI-compatible chat model.

    Off by default: no client data leaves the app unless an owner turns this on, and then only
    the facts with names masked (budgeting.variance.narratives.provider).
    """

    firm = models.OneToOneField(Firm, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=False)
    base_url = models.URLField(blank=True, default="")
    model = models.CharField(max_length=100, blank=True, default="")
    api_key = EncryptedTextField(blank=True, default="")
    updated_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    # The key stays out of the history: a secret is not an audit fact.
    history = HistoricalRecords(excluded_fields=["api_key"])

    class Meta:
        verbose_name_plural = "narrative provider settings"

    def __str__(self) -> str:
        return f"Narrative provider of {self.firm}: {'on' if self.enabled else 'off'}"
