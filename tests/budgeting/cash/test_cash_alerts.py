"""A cash alert rule: the first month the projection falls under the organisation's cash
threshold raises one alert (a warning, critical when overdrawn) through the rule's recipients,
once per month, and never for another firm."""

import pytest
from django_scopes import scopes_disabled

from budgeting.alerts.services import (
    AlertRuleInvalid,
    alert_rule_save,
    alerts_evaluate,
    cash_alerts_evaluate,
)
from budgeting.cash.selectors import cash_view_load
from budgeting.cash.services import cash_threshold_set
from budgeting.models import Alert, AlertDelivery, SyncRun
from budgeting.pipeline import organisation_after_sync
from tests.sandbox import sync

CAFE = "Harbour Lane Café"


def _cash_rule(firm, organisation, account_ids=()):
    return alert_rule_save(
        firm=firm,
        organisation=organisation,
        name="Cash",
        threshold="cash",
        account_ids=list(account_ids),
        recipients=[{"kind": "email", "email": "owner@cafe.example"}],
    )


@scopes_disabled()
def test_cash_below_the_threshold_raises_one_alert_for_its_month(connected_firm, firm_b):
    run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    firm, organisation = connected_firm.firm, connected_firm.linked[CAFE]
    rule = _cash_rule(firm, organisation)
    view = cash_view_load(firm=firm, organisation=organisation)
    low = view.projection.low
    # No threshold yet: nothing to be below.
    assert cash_alerts_evaluate(firm=firm, organisation=organisation) == []

    threshold = low.cash + 1
    cash_threshold_set(firm=firm, organisation=organisation, threshold=threshold, user=None)
    # What follows every sync evaluates the cash rules.
    organisation_after_sync(firm=firm, organisation=organisation, closed=False)
    view = cash_view_load(firm=firm, organisation=organisation)
    below = view.projection.below
    assert below is not None and below.period <= low.period
    (alert,) = Alert.objects.filter(rule=rule)
    assert alert.rule == rule and alert.period == below.period
    assert alert.actual == below.cash and alert.edge == threshold
    assert alert.by == threshold - below.cash
    expected = Alert.Severity.CRITICAL if below.cash < 0 else Alert.Severity.WARNING
    assert alert.severity == expected
    assert alert.account.type == "BANK"
    assert "Cash would fall below the threshold of" in alert.summary
    assert f"in {below.period:%B %Y}" in alert.summary
    assert AlertDelivery.objects.filter(alert=alert).values_list("recipient", flat=True).get() == (
        "owner@cafe.example"
    )
    # Safe twice: the step is raised once for the month.
    assert cash_alerts_evaluate(firm=firm, organisation=organisation) == []
    # The account rules' evaluation leaves cash rules alone.
    assert (
        alerts_evaluate(
            firm=firm, organisation=organisation, account_pks=None, source_received_at=None
        )
        == []
    )
    # Another firm has no such alert, and its organisation none of this one's.
    assert not Alert.objects.filter(firm=firm_b.firm).exists()
    assert cash_alerts_evaluate(firm=firm_b.firm, organisation=firm_b.organisation) == []


@scopes_disabled()
def test_a_cash_rule_names_no_accounts(firm_a):
    from tests.factories import AccountFactory

    account = AccountFactory(firm=firm_a.firm, organisation=firm_a.organisation)
    with pytest.raises(AlertRuleInvalid) as refused:
        _cash_rule(firm_a.firm, firm_a.organisation, account_ids=[account.pk])
    assert "A cash rule watches the organisation's closing cash" in str(
        refused.value.errors["account_ids"]
    )
