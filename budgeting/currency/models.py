"""Budget rates: the exchange rate a budget assumed, per organisation and currency (and, when
the budget moved it, per month)."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import OrganisationOwned


class BudgetRate(OrganisationOwned):
    """Units of `currency` per one unit of the organisation's base currency, Xero's way round
    (its CurrencyRate), that the budget assumed. No period: every month of the budget; a month's
    own rate comes before it."""

    class Source(models.TextChoices):
        ENTERED = "entered", "Entered"
        IMPORTED = "imported", "Imported from a file"
        AVERAGE = "average", "Average of past documents"

    currency = models.CharField(max_length=3)
    period = models.DateField(null=True, blank=True)  # first day of the month; null: every month
    # Xero sends CurrencyRate with at most six decimal places (Invoice.CurrencyRate).
    rate = models.DecimalField(max_digits=18, decimal_places=6)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.ENTERED)
    # Where an average came from: "Average of 38 document lines, Jan 2026 to Jun 2026".
    note = models.CharField(max_length=255, blank=True, default="")
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", models.F("period").asc(nulls_first=True)]
        constraints = [
            # Two partial constraints, because NULLs are distinct in a plain unique constraint.
            models.UniqueConstraint(
                fields=["organisation", "currency"],
                condition=models.Q(period__isnull=True),
                name="budget_rate_every_month_unique",
            ),
            models.UniqueConstraint(
                fields=["organisation", "currency", "period"],
                condition=models.Q(period__isnull=False),
                name="budget_rate_month_unique",
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="budget_rate_positive"),
        ]

    def __str__(self) -> str:
        month = f"{self.period:%b %Y}" if self.period else "every month"
        return f"{self.currency} {self.rate} ({month})"
