"""Forecast runs, the forecasts they kept, drafts with their lines and months, and the draft
guardrails (BudgetPolicy)."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts import guardrails
from budgeting.ledger.models import MONEY, Account, Budget, OrganisationOwned, TrackingOption
from tenants.models import ClientOrganisation


class BudgetPolicy(OrganisationOwned):
    """What forecast drafts of an organisation may suggest, and which lines need an extra step.

    `version` goes up with every saved change; a Draft keeps the version it was checked
    against. Ids in the JSON fields are our Account and TrackingOption primary keys; money
    figures are stored as strings of Decimals.
    """

    class Scope(models.TextChoices):
        READ_ONLY = "read_only", "Read-only analysis (no drafts)"
        ASSISTED = "assisted", "Assisted: chosen accounts and tracking options only"
        ALL = "all", "All accounts"

    organisation = models.OneToOneField(
        ClientOrganisation, on_delete=models.CASCADE, related_name="budget_policy"
    )
    version = models.PositiveIntegerField(default=1)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.ALL)
    account_ids = models.JSONField(default=list, blank=True)
    tracking_option_ids = models.JSONField(default=list, blank=True)
    # Largest absolute monthly figure a draft may hold: {account pk: "amount"}, {class: "amount"}.
    account_caps = models.JSONField(default=dict, blank=True)
    class_caps = models.JSONField(default=dict, blank=True)
    # Null turns a rule off. The defaults are the guardrails every organisation starts with
    # (guardrails.DEFAULT_POLICY); an organisation with no row is read as this unsaved default.
    max_change_percent = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        default=guardrails.DEFAULT_MAX_CHANGE_PERCENT,
    )
    max_actual_multiple = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        null=True,
        blank=True,
        default=guardrails.DEFAULT_ACTUAL_MULTIPLE,
    )
    sign_check = models.BooleanField(default=guardrails.DEFAULT_SIGN_CHECK)
    max_change_amount = models.DecimalField(**MONEY, null=True, blank=True)
    capex_account_ids = models.JSONField(default=list, blank=True)
    # A line whose change over the horizon is larger than this needs the extra approval step.
    extra_approval_above = models.DecimalField(**MONEY, null=True, blank=True)
    horizon = models.PositiveSmallIntegerField(default=6)
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "budget policies"

    def __str__(self) -> str:
        return f"Budget policy of {self.organisation} v{self.version}: {self.get_scope_display()}"


class Draft(OrganisationOwned):
    """A draft Forecast version of an organisation's budget; the original is never changed.

    `revision` goes up with every change to the draft or its lines: approval links and
    decisions bind to it, so a change after a step was approved is detectable.
    """

    class Source(models.TextChoices):
        CLOSE = "close", "Month close"
        MANUAL = "manual", "By hand"
        # The figures of an earlier published revision, to publish again (budgeting.publishing).
        ROLLBACK = "rollback", "Rollback of a publication"
        # The figures of a what-if scenario (budgeting.scenarios), chosen by a person.
        SCENARIO = "scenario", "From a what-if scenario"
        # Next financial year's budget from the history (budgeting.annual), published into a
        # new budget for that year.
        ANNUAL = "annual", "Next year's budget"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        # Its import file is made, but the organisation's forecast budget is not in Xero yet.
        AWAITING_FORECAST = "awaiting_forecast", "Approved, waiting for the forecast budget"
        AWAITING_IMPORT = "awaiting_import", "Awaiting import into Xero"
        PUBLISHED = "published", "Published and verified"
        MISMATCH = "mismatch", "Import does not match"

    organisation = models.ForeignKey(
        ClientOrganisation, on_delete=models.CASCADE, related_name="drafts"
    )
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    horizon = models.PositiveSmallIntegerField()
    first_period = models.DateField()  # the first forecast month
    last_actual_period = models.DateField()  # the last closed month the forecast used
    revision = models.PositiveIntegerField(default=1)
    policy_version = models.PositiveIntegerField(default=0)  # 0: no policy was saved
    original_budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    currency_code = models.CharField(max_length=3, blank=True, default="")
    lines_analysed = models.PositiveIntegerField(default=0)
    # An annual draft's financial year, by the calendar year it ends in (2028: FY2028).
    financial_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"Forecast draft {self.pk} of {self.organisation} from {self.first_period:%b %Y}"

    @property
    def is_editable(self) -> bool:
        # A submitted draft can still be edited: the edit restarts approval at the first step,
        # and its editor can no longer approve it (budgeting.approvals.services).
        return self.status in (self.Status.DRAFT, self.Status.SUBMITTED)

    @property
    def figures_editable(self) -> bool:
        # A rollback draft's figures are the earlier revision's: editing them would publish
        # something nobody chose to roll back to.
        return self.is_editable and self.source != self.Source.ROLLBACK


class DraftLine(OrganisationOwned):
    """One account line (overall or for a tracking option) with a suggested change."""

    class Trigger(models.TextChoices):
        VARIANCE = "variance", "Material variance last month"
        FORECAST = "forecast", "Forecast leaves the budget"
        BOTH = "both", "Material variance, and the forecast leaves the budget"
        ROLLBACK = "rollback", "Back to an earlier published revision"
        SCENARIO = "scenario", "From a what-if scenario"
        ANNUAL = "annual", "Next year's budget from the history"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The budget the line compares against: overall, or the option's tracking budget.
    original_budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    section = models.CharField(max_length=24)  # budgeting.variance.maths.Section
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    # The variance of the last closed month that was looked at (it triggered when material).
    trigger_period = models.DateField()
    trigger_actual = models.DecimalField(**MONEY)
    trigger_budget = models.DecimalField(**MONEY)
    trigger_variance = models.DecimalField(**MONEY)
    trigger_percent = models.DecimalField(max_digits=12, decimal_places=1, null=True, blank=True)
    forecast_total = models.DecimalField(**MONEY)  # over the horizon
    budget_total = models.DecimalField(**MONEY)
    method = models.CharField(max_length=40)
    confidence = models.PositiveSmallIntegerField()  # 0-100
    confidence_label = models.CharField(max_length=10)
    backtest_mase = models.FloatField(null=True, blank=True)
    backtest_smape = models.FloatField(null=True, blank=True)
    history_months = models.PositiveSmallIntegerField()
    forecast_notes = models.JSONField(default=list, blank=True)
    inputs_hash = models.CharField(max_length=64)  # SHA-256 of the series and parameters
    narrative = models.TextField(blank=True, default="")
    reason = models.TextField(blank=True, default="")  # the last edit's, from a person
    policy_ok = models.BooleanField(default=True)
    policy_violations = models.JSONField(default=list, blank=True)
    needs_extra_approval = models.BooleanField(default=False)
    extra_approval_reasons = models.JSONField(default=list, blank=True)
    accepted = models.BooleanField(default=False)
    edited = models.BooleanField(default=False)
    # Why the figure is what it is, kept when it was suggested (budgeting.drafts.provenance):
    # the method and its backtest, the history's values themselves (so the figure can be
    # reproduced after Xero's data changes), the triggering variance, the narrative shown with
    # the facts it quoted, and each policy check. Written once; people's decisions are in the
    # history, which leaves this out: it never changes, and every edit would copy it.
    provenance = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords(excluded_fields=["provenance"])

    class Meta:
        ordering = ["draft", "section", "account__code", "tracking_option__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["draft", "account"],
                condition=models.Q(tracking_option__isnull=True),
                name="draft_line_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["draft", "account", "tracking_option"],
                condition=models.Q(tracking_option__isnull=False),
                name="draft_line_tracking_unique",
            ),
        ]

    def __str__(self) -> str:
        option = f" · {self.tracking_option.name}" if self.tracking_option_id else ""
        return f"{self.account}{option}"


class DraftBalance(OrganisationOwned):
    """One month of a draft line: the original budget, the suggestion with its intervals,
    and a person's edit. The figure the draft proposes is the edit, else the suggestion."""

    line = models.ForeignKey(DraftLine, on_delete=models.CASCADE, related_name="balances")
    period = models.DateField()
    original_amount = models.DecimalField(**MONEY, null=True, blank=True)
    actual = models.DecimalField(**MONEY, null=True, blank=True)  # once the month has closed
    suggested_amount = models.DecimalField(**MONEY)
    lo_80 = models.DecimalField(**MONEY)
    hi_80 = models.DecimalField(**MONEY)
    lo_95 = models.DecimalField(**MONEY)
    hi_95 = models.DecimalField(**MONEY)
    edited_amount = models.DecimalField(**MONEY, null=True, blank=True)
    edited_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who edited when no member did: a department's manager outside the firm (by the link),
    # by lowercased email, as an approval decision keeps an external approver's. Empty for a
    # member's edit (edited_by says who).
    edited_by_email = models.EmailField(blank=True, default="")
    edited_at = models.DateTimeField(null=True, blank=True)
    edit_reason = models.TextField(blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["line", "period"], name="draft_balance_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period:%b %Y}: {self.effective_amount}"

    @property
    def effective_amount(self):
        return self.suggested_amount if self.edited_amount is None else self.edited_amount

    @property
    def editor_email(self) -> str | None:
        """The email of whoever edited the month (a member or a manager outside the firm)."""
        if self.edited_by_id is not None:
            return self.edited_by.email
        return self.edited_by_email or None

    @property
    def change(self):
        return self.effective_amount - (self.original_amount or 0)


class ForecastRecord(OrganisationOwned):
    """A forecast kept for scoring: one target month of one line, made after `made_at` closed.

    The scoring after each sync fills `actual` and the errors once the target month closes.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    made_at = models.DateField()  # the last actual month the forecast used
    target = models.DateField()
    step = models.PositiveSmallIntegerField()  # months ahead: 1 for the month after made_at
    point = models.DecimalField(**MONEY)
    lo_80 = models.DecimalField(**MONEY)
    hi_80 = models.DecimalField(**MONEY)
    lo_95 = models.DecimalField(**MONEY)
    hi_95 = models.DecimalField(**MONEY)
    method = models.CharField(max_length=40)
    inputs_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=now)
    actual = models.DecimalField(**MONEY, null=True, blank=True)
    abs_error = models.DecimalField(**MONEY, null=True, blank=True)
    within_80 = models.BooleanField(null=True, blank=True)
    within_95 = models.BooleanField(null=True, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["target", "account__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "made_at", "target"],
                condition=models.Q(tracking_option__isnull=True),
                name="forecast_record_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "tracking_option", "made_at", "target"],
                condition=models.Q(tracking_option__isnull=False),
                name="forecast_record_tracking_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "target"])]

    def __str__(self) -> str:
        return f"{self.account} {self.target:%b %Y} (from {self.made_at:%b %Y}): {self.point}"


class ForecastRun(OrganisationOwned):
    """One run of the rolling forecast, polled by the screen for its progress."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    source = models.CharField(
        max_length=10, choices=Draft.Source.choices, default=Draft.Source.MANUAL
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True, default="")
    horizon = models.PositiveSmallIntegerField(null=True, blank=True)  # None: the policy's
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    draft = models.ForeignKey(
        Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Forecast run of {self.organisation}: {self.state}"

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
