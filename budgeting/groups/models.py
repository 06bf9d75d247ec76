"""Client groups: organisations of one firm that belong to one business (a parent and its
subsidiaries), reported together in the group's reporting currency.

A group, its members, its translation rates and its intercompany pairs are all the firm's
(firm_id on every row) and changed by people, so each keeps its history. That a member is an
organisation of the group's own firm is checked by the services (fail-closed), never assumed.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import Account
from tenants.managers import FirmScopedManager
from tenants.models import ClientOrganisation, Firm

# A translation rate: member-currency units per one unit of the reporting currency, to the
# precision Xero gives its own CurrencyRate.
RATE = {"max_digits": 18, "decimal_places": 8}


class ClientGroup(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    reporting_currency = models.CharField(max_length=3)
    # The organisation at the top of the group, named in reports; one of the members.
    parent = models.ForeignKey(
        ClientOrganisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["firm", "name"], name="client_group_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class ClientGroupMember(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(ClientOrganisation, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["group", "organisation__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "organisation"], name="client_group_member_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} in {self.group}"


class GroupTranslationRate(models.Model):
    """The rate a member currency is translated at into the group's currency, for one month:
    the one the budget assumed, or the one the month actually averaged."""

    class Basis(models.TextChoices):
        BUDGET = "budget", "Budget rate"
        ACTUAL = "actual", "Actual rate"

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="rates")
    currency = models.CharField(max_length=3)
    period = models.DateField()  # the first day of the month
    basis = models.CharField(max_length=6, choices=Basis.choices)
    rate = models.DecimalField(**RATE)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["group", "currency", "basis", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "currency", "period", "basis"], name="group_rate_unique"
            ),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="group_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.period:%Y-%m} {self.basis}: {self.rate}"


class IntercompanyMapping(models.Model):
    """A pair of accounts across two members that is one transaction seen from both sides (a
    management fee charged by the parent and paid by a subsidiary): eliminated on consolidation."""

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(ClientGroup, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=120)
    income_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    expense_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=now)

    objects = FirmScopedManager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["group", "name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "income_account"], name="intercompany_unique_income"
            ),
            models.UniqueConstraint(
                fields=["group", "expense_account"], name="intercompany_unique_expense"
            ),
        ]

    def __str__(self) -> str:
        return self.name
