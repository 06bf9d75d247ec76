"""Alert rules and alerts for tests that need one without a webhook behind it."""

import datetime as dt
from decimal import Decimal

from budgeting.alerts.models import Alert, AlertDelivery, AlertRule
from budgeting.ledger.models import Account
from tests.factories import FirmCast


def alert_rule_create(cast: FirmCast, account: Account | None = None, **fields) -> AlertRule:
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    account = account or Account.objects.for_firm(cast.firm).create(
        **owned,
        account_id=f"acc-alert-{cast.firm.slug}",
        code="489",
        name="Telephone",
        type="EXPENSE",
        account_class="EXPENSE",
    )
    values = {
        "name": f"Telephone watch ({cast.firm.name})",
        "threshold": AlertRule.Threshold.LIMIT,
        "account_ids": [account.pk],
        "limit": Decimal("500.00"),
        "recipients": [{"kind": "email", "email": "owner@example.com"}],
        **fields,
    }
    return AlertRule.objects.for_firm(cast.firm).create(**owned, **values)


def alert_create(cast: FirmCast, rule: AlertRule | None = None, **fields) -> Alert:
    rule = rule or alert_rule_create(cast)
    account = Account.objects.for_firm(cast.firm).get(pk=rule.account_ids[0])
    values = {
        "period": dt.date(2026, 12, 1),
        "severity": Alert.Severity.CRITICAL,
        "threshold": rule.threshold,
        "day": 12,
        "actual": Decimal("640.00"),
        "edge": Decimal("500.00"),
        "by": Decimal("140.00"),
        "projected": Decimal("1653.33"),
        "summary": f"{account} is NZ$140.00 over its limit of NZ$500.00 ({cast.firm.slug})",
        "drivers": [],
        **fields,
    }
    alert = Alert.objects.for_firm(cast.firm).create(
        firm=cast.firm, organisation=cast.organisation, rule=rule, account=account, **values
    )
    AlertDelivery.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        alert=alert,
        channel=AlertDelivery.Channel.EMAIL,
        recipient="owner@example.com",
    )
    return alert
