"""Budgets and actuals of a client organisation as synced, mirroring Xero's own objects, and
the sync runs that brought them.

Every row carries firm_id (the tenant) and organisation_id. Money is Decimal to the cent; a
period is the first day of its month.
"""

from decimal import Decimal

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

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
    # How this organisation's Xero answers a P&L asked for 12 months by a tracking category
    # (`periods` with `trackingCategoryID`, which Xero does not document), as the last sync that
    # asked found out: empty while 12 months a request work (or nobody asked yet), otherwise the
    # fallback taken ("one month per request, because ..."). Later incremental syncs take the
    # fallback at once instead of spending a call to find it out again; a full sync, or an answer
    # that no longer fits, finds it out afresh.
    tracking_report_layout = models.TextField(blank=True, default="")

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
    # Xero's Account.SystemAccount (REALISEDCURRENCYGAIN, DEBTORS, CREDITORS, GST, ...): how
    # budgeting.currency tells the currency gains and losses accounts, and the cash forecast the
    # receivables, payables and sales tax accounts, whatever their names and codes.
    system_account = models.CharField(max_length=40, blank=True, default="")
    # The P&L line that shows this account's figures when Xero's report groups it: the currency
    # system accounts under the "FX gains and losses" line (FXGROUPID). Budgets on the account
    # count on that line for variance.
    report_group = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="grouped_accounts"
    )

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
    """A line of an invoice, credit note, bank transaction or manual journal: the drivers behind
    a variance. Amount is in base currency, tax excluded, signed as it moves the account on the
    P&L (see budgeting.ledger.drivers and integrations.xero.documents for how Xero converts)."""

    # ACCREC, ACCPAY, ACCRECCREDIT, ACCPAYCREDIT, SPEND, RECEIVE, ..., MANJOURNAL
    document_type = models.CharField(max_length=20)
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
    # As Xero sent the line, in the document's currency, so the conversion can be checked.
    line_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    line_amount_types = models.CharField(max_length=10, blank=True, default="")
    currency_code = models.CharField(max_length=3, blank=True, default="")
    # Xero's CurrencyRate (document currency per unit of base), at full precision: Xero sends
    # at most six decimal places.
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


class DriverRemainder(OrganisationOwned):
    """What an account's transaction lines do not explain in a month: the P&L actual (overall,
    or for one tracking option) less the synced lines. Only non-zero remainders are stored; each
    sync recomputes the months whose lines it keeps. Shown wherever the lines are listed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="remainders")
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    period = models.DateField()
    actual = models.DecimalField(**MONEY)  # the Profit and Loss's figure
    explained = models.DecimalField(**MONEY)  # the sum of the synced lines
    remainder = models.DecimalField(**MONEY)  # actual - explained

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"],
                condition=models.Q(tracking_option__isnull=True),
                name="driver_remainder_overall_unique",
            ),
            models.UniqueConstraint(
                fields=["account", "tracking_option", "period"],
                condition=models.Q(tracking_option__isnull=False),
                name="driver_remainder_tracking_unique",
            ),
        ]
        indexes = [models.Index(fields=["organisation", "period"])]

    def __str__(self) -> str:
        return f"{self.period:%b %Y}: {self.remainder} unexplained"


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
    # The fewest calls Xero's documented rules allow for what the run fetched (its call plan).
    calls_planned = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # Scopes that failed while the rest was saved: [{"key", "name", "error"}]. Their previous
    # data is unchanged and the next run fetches them again in full.
    failed_scopes = models.JSONField(default=list, blank=True)
    reconciled = models.BooleanField(null=True)  # None until checked
    created_at = models.DateTimeField(default=now)
    # Moved on with every progress step: a running sync whose heartbeat stops had its worker
    # die, and may be taken over (see budgeting.ledger.sync.sync_run_claim).
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


class BalanceSheetBalance(OrganisationOwned):
    """A line of Xero's Balance Sheet report at a month's end, as the report shows it (assets,
    liabilities and equity each positive in their own direction). `row_key` is the AccountID,
    or the line's label for Xero's own lines that have no account (Current Year Earnings,
    Retained Earnings)."""

    class Class(models.TextChoices):
        ASSET = "ASSET", "Asset"
        LIABILITY = "LIABILITY", "Liability"
        EQUITY = "EQUITY", "Equity"

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    row_key = models.CharField(max_length=64)
    name = models.CharField(max_length=150)
    section = models.CharField(max_length=60, blank=True, default="")
    account_class = models.CharField(max_length=10, choices=Class.choices)
    period = models.DateField()  # the month whose end it is
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["period", "account_class", "section", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "row_key", "period"], name="balance_sheet_line_unique"
            )
        ]
        indexes = [models.Index(fields=["organisation", "period"])]

    def __str__(self) -> str:
        return f"{self.name} {self.period:%b %Y}: {self.amount}"


class Reconciliation(OrganisationOwned):
    """One check after a sync: synced figures against Xero's own totals, to the cent."""

    class Kind(models.TextChoices):
        ACTUALS = "actuals", "Actuals against the P&L report"
        TRACKING_BUDGETS = "tracking_budgets", "Tracking budgets against the overall budget"
        BALANCE_SHEET = "balance_sheet", "Balance sheet: it balances, and ties to the P&L"

    sync_run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="reconciliations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    period = models.DateField()
    tracking_option = models.ForeignKey(
        TrackingOption, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    tracking_category = models.ForeignKey(
        TrackingCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # income, expenses, net_profit, budget; balance sheet: assets, liabilities, equity, balance
    # (assets against liabilities + equity), current_year_earnings (against the P&L's year to date)
    line = models.CharField(max_length=40)
    expected = models.DecimalField(**MONEY)  # Xero's own figure
    synced = models.DecimalField(**MONEY)  # the sum of what we stored
    difference = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["period", "line"]

    def __str__(self) -> str:
        return f"{self.period:%b %Y} {self.line}: {self.difference}"
