"""Alerts between closes: the reads (the month to date, the alert history, its CSV rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from budgeting.alerts.models import Alert, AlertDelivery, AlertRule
from budgeting.ledger.drivers import PROFIT_AND_LOSS_CLASSES
from budgeting.ledger.models import Account, ActualBalance, TransactionLine, XeroOrganisation
from budgeting.ledger.selectors import profile_month_window
from core.clock import xero_zone
from core.months import month_end
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
