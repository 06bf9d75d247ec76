"""Budgets and actuals of a client organisation, mirroring Xero's own objects.

Every row carries firm_id (the tenant) and organisation_id. Money is Decimal to the cent; a
period is the first day of its month.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from integrations.crypto import EncryptedTextField
from tenants.managers import FirmScopedManager
from tenants.models import ClientOrganisation, Firm

MONEY = {"max_digits": 16, "decimal_places": 2}


class OrganisationOwned(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(ClientOrganisation, on_delete=models.CASCADE, related_name="+")

    objects = FirmScopedManager()

    class Meta:
        abstract = True


class XeroOrganisation(OrganisationOwned):
    """Xero's Organisation of a client: currency, financial year and lock dates."""

    organisation = models.OneToOneField(
        ClientOrganisation, on_delete=models.CASCADE, related_name="xero_organisation"
    )
    # Xero's OrganisationID (the tenant id); "organisation" is our client organisation.
    xero_organisation_id = models.CharField(max_length=64)
    name = models.CharField(max_length=255)
    base_currency = models.CharField(max_length=3)
    country_code = models.CharField(max_length=4, blank=True, default="")
    timezone = models.CharField(max_length=64, blank=True, default="")
    financial_year_end_day = models.PositiveSmallIntegerField()
    financial_year_end_month = models.PositiveSmallIntegerField()
    # Xero has no webhook for month close: a PeriodLockDate that moves forward closes a month.
    period_lock_date = models.DateField(null=True, blank=True)
    end_of_year_lock_date = models.DateField(null=True, blank=True)
    synced_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class Account(OrganisationOwned):
    account_id = models.CharField(max_length=64)  # Xero's AccountID
    code = models.CharField(max_length=20, blank=True, default="")
    name = models.CharField(max_length=150)
    type = models.CharField(max_length=20)  # Xero's Account.Type: REVENUE, EXPENSE, ...
    account_class = models.CharField(max_length=20, blank=True, default="")  # Account.Class
    status = models.CharField(max_length=20, default="ACTIVE")

    class Meta:
        ordering = ["code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "account_id"], name="account_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.code else self.name


class TrackingCategory(OrganisationOwned):
    category_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, default="ACTIVE")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "tracking categories"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "category_id"], name="tracking_category_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TrackingOption(OrganisationOwned):
    category = models.ForeignKey(TrackingCategory, on_delete=models.CASCADE, related_name="options")
    option_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=20, default="ACTIVE")

    class Meta:
        ordering = ["category__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "option_id"], name="tracking_option_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.category.name}: {self.name}"


class Budget(OrganisationOwned):
    class Type(models.TextChoices):
        OVERALL = "OVERALL", "Overall"
        TRACKING = "TRACKING", "Tracking"

    budget_id = models.CharField(max_length=64)  # Xero's BudgetID
    type = models.CharField(max_length=10, choices=Type.choices)
    description = models.CharField(max_length=255, blank=True, default="")
    # Unreliable after a Budget Manager import (Xero leaves it unchanged): budgets are compared
    # by content, never by this date.
    updated_utc = models.DateTimeField(null=True, blank=True)
    # A Xero tracking budget is for one option of one or two tracking categories.
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tracking_option_2 = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["type", "description"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "budget_id"], name="budget_unique")
        ]

    def __str__(self) -> str:
        return self.description or self.get_type_display()


class BudgetLine(OrganisationOwned):
    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="budget_lines")

    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["budget", "account"], name="budget_line_unique")
        ]

    def __str__(self) -> str:
        return f"{self.budget}: {self.account}"


class BudgetBalance(OrganisationOwned):
    budget_line = models.ForeignKey(BudgetLine, on_delete=models.CASCADE, related_name="balances")
    period = models.DateField()  # first day of the month
    amount = models.DecimalField(**MONEY)
    notes = models.CharField(max_length=255, blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["budget_line", "period"], name="budget_balance_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period:%b %Y}: {self.amount}"


class ActualBalance(OrganisationOwned):
    """Monthly P&L actual of an account, overall (no option) or for one tracking option,
    as Xero's Profit and Loss report shows it (revenue and expenses both positive)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="actuals")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="actuals"
    )
    period = models.DateField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["period"]
        constraints = [
            # Two partial constraints, because NULLs are distinct in a plain unique constraint.
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(tracking_option__isnull=True),
                name="actual_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "tracking_option", "period"],
                condition=models.Q(tracking_option__isnull=False),
                name="actual_tracking_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "period"])]

    def __str__(self) -> str:
        return f"{self.period:%b %Y}: {self.amount}"


class TransactionLine(OrganisationOwned):
    """A line of an invoice, credit note or bank transaction: the drivers behind a variance.
    Amount is in base currency, signed as it moves the account on the P&L."""

    document_type = models.CharField(max_length=16)  # ACCREC, ACCPAY, ..., SPEND, RECEIVE
    document_id = models.CharField(max_length=64)
    document_number = models.CharField(max_length=64, blank=True, default="")
    line_id = models.CharField(max_length=64)
    date = models.DateField()
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="transaction_lines"
    )
    contact_id = models.CharField(max_length=64, blank=True, default="")
    contact_name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    amount = models.DecimalField(**MONEY)
    currency_code = models.CharField(max_length=3, blank=True, default="")
    currency_rate = models.DecimalField(max_digits=18, decimal_places=8, default=1)
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tracking_option_2 = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_utc = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "document_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "document_id", "line_id"], name="transaction_line_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "account", "date"])]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_number}: {self.amount}"


class SyncRun(OrganisationOwned):
    class Kind(models.TextChoices):
        INITIAL = "initial", "Initial"
        INCREMENTAL = "incremental", "Incremental"
        FULL = "full", "Full"
        # After a webhook: transactions and the open months' actuals only.
        TRANSACTIONS = "transactions", "Transactions"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "By hand"
        CLOSE = "close", "Month close"
        WEBHOOK = "webhook", "Xero webhook"
        SCHEDULE = "schedule", "Schedule"
        CONNECT = "connect", "New connection"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True, default="")
    counts = models.JSONField(default=dict, blank=True)
    calls_used = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    reconciled = models.BooleanField(null=True)  # None until checked
    created_at = models.DateTimeField(default=now)
    # Moved on with every progress step: a running sync whose heartbeat stops had its worker
    # die, and may be taken over (see integrations.xero.sync.sync_run_claim).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} sync of {self.organisation}: {self.state}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class Reconciliation(OrganisationOwned):
    """One check after a sync: synced figures against Xero's own totals, to the cent."""

    class Kind(models.TextChoices):
        ACTUALS = "actuals", "Actuals against the P&L report"
        TRACKING_BUDGETS = "tracking_budgets", "Tracking budgets against the overall budget"

    sync_run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="reconciliations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period = models.DateField()
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tracking_category = models.ForeignKey(
        TrackingCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    line = models.CharField(max_length=40)  # income, expenses, net_profit, budget
    expected = models.DecimalField(**MONEY)  # Xero's own figure
    synced = models.DecimalField(**MONEY)  # the sum of what we stored
    difference = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["period", "line"]

    def __str__(self) -> str:
        return f"{self.period:%b %Y} {self.line}: {self.difference}"


# --- Variance ----------------------------------------------------------------------------------


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
    the facts with names masked (budgeting.narratives.provider).
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


# --- Forecast drafts and the policy layer ------------------------------------------------------


class BudgetPolicy(OrganisationOwned):
    """What forecast drafts of an organisation may suggest, and which lines need an extra step.

    `version` goes up with every saved change; a Proposal keeps the version it was checked
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
    max_change_percent = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
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


class Proposal(OrganisationOwned):
    """A draft Forecast version of an organisation's budget; the original is never changed.

    `revision` goes up with every change to the proposal or its lines: approval links and
    decisions bind to it, so a change after a step was approved is detectable.
    """

    class Source(models.TextChoices):
        CLOSE = "close", "Month close"
        MANUAL = "manual", "By hand"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        AWAITING_IMPORT = "awaiting_import", "Awaiting import into Xero"
        PUBLISHED = "published", "Published and verified"
        MISMATCH = "mismatch", "Import does not match"

    organisation = models.ForeignKey(
        ClientOrganisation, on_delete=models.CASCADE, related_name="proposals"
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
        # and its editor can no longer approve it (budgeting.approvals).
        return self.status in (self.Status.DRAFT, self.Status.SUBMITTED)


class ProposalLine(OrganisationOwned):
    """One account line (overall or for a tracking option) with a suggested change."""

    class Trigger(models.TextChoices):
        VARIANCE = "variance", "Material variance last month"
        FORECAST = "forecast", "Forecast leaves the budget"
        BOTH = "both", "Material variance, and the forecast leaves the budget"

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The budget the line compares against: overall, or the option's tracking budget.
    original_budget = models.ForeignKey(
        Budget, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    section = models.CharField(max_length=24)  # budgeting.variance.Section
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

    history = HistoricalRecords()

    class Meta:
        ordering = ["proposal", "section", "account__code", "tracking_option__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "account"],
                condition=models.Q(tracking_option__isnull=True),
                name="proposal_line_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["proposal", "account", "tracking_option"],
                condition=models.Q(tracking_option__isnull=False),
                name="proposal_line_tracking_unique",
            ),
        ]

    def __str__(self) -> str:
        option = f" · {self.tracking_option.name}" if self.tracking_option_id else ""
        return f"{self.account}{option}"


class ProposalBalance(OrganisationOwned):
    """One month of a proposal line: the original budget, the suggestion with its intervals,
    and a person's edit. The figure the draft proposes is the edit, else the suggestion."""

    line = models.ForeignKey(ProposalLine, on_delete=models.CASCADE, related_name="balances")
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
    edited_at = models.DateTimeField(null=True, blank=True)
    edit_reason = models.TextField(blank=True, default="")

    history = HistoricalRecords()

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["line", "period"], name="proposal_balance_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period:%b %Y}: {self.effective_amount}"

    @property
    def effective_amount(self):
        return self.suggested_amount if self.edited_amount is None else self.edited_amount

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
        max_length=10, choices=Proposal.Source.choices, default=Proposal.Source.MANUAL
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    step = models.CharField(max_length=200, blank=True, default="")
    horizon = models.PositiveSmallIntegerField(null=True, blank=True)  # None: the policy's
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    proposal = models.ForeignKey(
        Proposal, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
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


# Approvals, sign-off links and publications live in their own module (registered here).
from budgeting.models_approvals import *  # noqa: E402,F403
