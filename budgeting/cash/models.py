"""Cash: what the firm sets per organisation for its cash view (the threshold closing cash
should stay above). The projection itself is worked out when asked (budgeting.cash.selectors),
from the synced balance sheet and the forecast P&L; nothing of it is stored."""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.ledger.models import MONEY, OrganisationOwned
from tenants.models import ClientOrganisation


class CashSetting(OrganisationOwned):
    """The lowest closing cash the firm is content to see for the organisation: the month the
    projection falls below it is shown, and raises an alert through the cash alert rules."""

    organisation = models.OneToOneField(
        ClientOrganisation, on_delete=models.CASCADE, related_name="cash_setting"
    )
    threshold = models.DecimalField(**MONEY, null=True, blank=True)
    updated_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Cash threshold of {self.organisation}: {self.threshold}"
