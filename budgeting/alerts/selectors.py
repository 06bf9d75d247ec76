"""Alerts between closes: the reads (the month to date, the alert history, its CSV rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from budgeting.alerts import maths
from budgeting.alerts.models import (
    DISCONNECTED_WAIT,
    Alert,
    AlertDelivery,
    AlertRule,
    DocumentBatch,
    DocumentChange,
)
from budgeting.ledger.drivers import PROFIT_AND_LOSS_CLASSES
from budgeting.ledger.models import (
    Account,
    ActualBalance,
    SyncRun,
    TransactionLine,
    XeroOrganisation,
)
from budgeting.ledger.selectors import profile_month_window
from core.clock import xero_zone
from core.months import month_end
from integrations.models import XeroConnection, XeroTenant
from tenants.models import ClientOrganisation, Firm


@dataclass
class MonthToDateRow:
    account: Account
    amount: Decimal


@dataclass
class MonthToDate:
    """An account's figures for the month now open where the organisation is: provisional
    (from the documents' lines) until the month closes and its P&L replaces them."""

    period: dt.date
    day: int
    provisional: bool
    rows: list[MonthToDateRow] = field(default_factory=list)


def month_to_date(*, firm: Firm, organisation: ClientOrganisation) -> MonthToDate:
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    today = timezone.localdate(
        timezone.now(), timezone=xero_zone(profile.timezone if profile else None)
    )
    period = today.replace(day=1)
    window = profile_month_window(profile)
    closed = window.last_closed is not None and window.last_closed >= period
    accounts = Account.objects.for_firm(firm).filter(
        organisation=organisation, account_class__in=PROFIT_AND_LOSS_CLASSES
    )
    if closed:
        totals = (
            ActualBalance.objects.for_firm(firm)
            .filter(account__in=accounts, period=period, tracking_option__isnull=True)
            .values_list("account_id", "amount")
        )
    else:
        totals = (
            TransactionLine.objects.for_firm(firm)
            .filter(account__in=accounts, date__gte=period, date__lte=month_end(period))
            .values("account_id")
            .annotate(total=Sum("amount"))
            .values_list("account_id", "total")
            .order_by()
        )
    by_account = dict(totals)
    rows = [
        MonthToDateRow(account=a, amount=by_account[a.pk])
        for a in accounts.order_by("code", "name")
        if a.pk in by_account
    ]
    return MonthToDate(period=period, day=today.day, provisional=not closed, rows=rows)


ALERT_STATES = {value for value, _ in Alert.State.choices}


def alerts_list(
    *, firm: Firm, organisation: ClientOrganisation, state: str = ""
) -> QuerySet[Alert]:
    alerts = (
        Alert.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("rule", "account", "tracking_option", "acknowledged_by")
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=AlertDelivery.objects.for_firm(firm)
                .select_related("slack_message")
                .order_by("pk"),
            )
        )
    )
    if state in ALERT_STATES:
        alerts = alerts.filter(state=state)
    return alerts


def alert_rules_list(*, firm: Firm, organisation: ClientOrganisation) -> QuerySet[AlertRule]:
    return AlertRule.objects.for_firm(firm).filter(organisation=organisation, deleted_at=None)


CSV_HEADER = [
    "Raised",
    "Month",
    "Account",
    "Tracking option",
    "Severity",
    "Rule",
    "Month to date (provisional)",
    "Expected by then",
    "Edge passed",
    "By",
    "Month end at this pace",
    "State",
    "Sent via",
    "Sent to",
    "Delivery",
    "Sent at",
    "Delivery error",
]


def alert_csv_rows(alerts):
    """One row per alert and delivery (an alert with none still has its row): what was sent to
    whom, and when."""
    yield CSV_HEADER
    for alert in alerts:
        deliveries = list(alert.deliveries.all()) or [None]
        for d in deliveries:
            yield [
                alert.raised_at,
                alert.period.strftime("%Y-%m"),
                str(alert.account),
                str(alert.tracking_option or ""),
                alert.get_severity_display(),
                alert.rule.name,
                alert.actual,
                alert.expected,
                alert.edge,
                alert.by,
                alert.projected,
                alert.get_state_display(),
                d.get_channel_display() if d else "",
                d.recipient if d else "",
                d.outcome if d else "",
                d.sent_at if d else None,
                d.outcome_error if d else "",
            ]


@dataclass(frozen=True)
class NotFetched:
    """Changed documents Xero told us of that the lost Xero connection keeps from the figures:
    given up (after the wait) and not yet covered by a sync since, and those still waiting for
    a reconnect, with when they will be given up."""

    given_up: int
    waiting: int
    give_up_at: dt.datetime | None

    @property
    def reason(self) -> str:
        return maths.disconnected_reason(self.given_up)


def documents_not_fetched(*, firm: Firm, organisation: ClientOrganisation) -> NotFetched:
    synced = (
        SyncRun.objects.for_firm(firm)
        .filter(organisation=organisation, state=SyncRun.State.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    given_up = DocumentBatch.objects.for_firm(firm).filter(
        organisation=organisation, state=DocumentBatch.State.GIVEN_UP
    )
    if synced is not None:
        # A sync started after the give-up read those documents' figures anyway.
        given_up = given_up.filter(finished_at__gt=synced)
    connected = (
        XeroTenant.objects.for_firm(firm)
        .filter(
            client_organisation=organisation,
            status=XeroTenant.Status.CONNECTED,
            connection__status=XeroConnection.Status.CONNECTED,
        )
        .exists()
    )
    waiting, oldest = 0, None
    if not connected:
        pending = DocumentChange.objects.for_firm(firm).filter(
            organisation=organisation, batch__isnull=True
        )
        waiting = pending.count()
        oldest = pending.order_by("received_at").values_list("received_at", flat=True).first()
    return NotFetched(
        given_up=given_up.aggregate(n=Sum("document_count"))["n"] or 0,
        waiting=waiting,
        give_up_at=oldest + DISCONNECTED_WAIT if oldest else None,
    )
