"""What-if scenarios: a named set of adjustments on a base (a budget, a draft or the latest
forecast) for one organisation and a range of months.

`version` goes up with every change to the scenario or its adjustments; the history records of
both (simple-history) are its versions, shown in the audit log.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts.models import Draft
from budgeting.ledger.models import MONEY, Budget, OrganisationOwned, TrackingOption
from budgeting.scenarios.maths import Change, Group, Per

MAX_COMPARED = 5


class Scenario(OrganisationOwned):
    class Base(models.TextChoices):
        BUDGET = "budget", "A budget (the original or the forecast budget)"
        DRAFT = "draft", "An open draft"
        FORECAST = "forecast", "The latest forecast"

    name = models.CharField(max_length=120)
    base = models.CharField(max_length=10, choices=Base.choices, default=Base.BUDGET)
    base_budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    base_draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_period = models.DateField()
    last_period = models.DateField()
    # The sentence it was last read from, if it was typed as one.
    sentence = models.TextField(blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    # The draft it became (budgeting.scenarios.services.scenario_draft_create).
    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class ScenarioAdjustment(OrganisationOwned):
    """One change of a scenario: a target, a change and the months it applies to."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="adjustments")
    position = models.PositiveSmallIntegerField(default=0)
    # Our Account primary keys; with `group`, `account_class` and `account_type`, all given
    # must match (budgeting.scenarios.maths.Target).
    account_ids = models.JSONField(default=list, blank=True)
    group = models.CharField(max_length=24, choices=[(g.value, g.label) for g in Group], blank=True)
    account_class = models.CharField(max_length=20, blank=True, default="")  # Xero Account.Class
    account_type = models.CharField(max_length=20, blank=True, default="")  # Xero Account.Type
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    change = models.CharField(max_length=10, choices=[(c.value, c.value) for c in Change])
    value = models.DecimalField(**MONEY)
    per = models.CharField(
        max_length=5, choices=[(p.value, p.value) for p in Per], blank=True, default=""
    )
    first_period = models.DateField()
    last_period = models.DateField()
    cost_follows = models.BooleanField(default=False)
    # The adjustment in words, as the user confirmed it.
    description = models.CharField(max_length=255, blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["scenario", "position", "pk"]

    def __str__(self) -> str:
        return self.description or f"{self.change} {self.value}"
