"""Measuring an account against its rules: the band from the budget and the account's own
pattern, one alert per step and month, quiet hours, snoozes, and a mail server that fails."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from budgeting.alerts import services
from budgeting.alerts.models import Alert, AlertDelivery
from core.clock import today as organisation_today
from tests.budgeting.flaky_mail import flaky_mail_fixture  # noqa: F401 - a fixture, by name
from tests.factories import (
    AccountFactory,
    BudgetBalanceFactory,
    BudgetLineFactory,
    TransactionLineFactory,
    XeroOrganisationFactory,
)


@pytest.fixture
def advertising(firm_a):
    profile = XeroOrganisationFactory(organisation=firm_a.organisation)
    account = AccountFactory(
        organisation=firm_a.organisation,
        code="400",
        name="Advertising",
        type="EXPENSE",
        account_class="EXPENSE",
    )
    today = organisation_today(profile.timezone)
    line = BudgetLineFactory(organisation=firm_a.organisation, account=account)
    BudgetBalanceFactory(budget_line=line, period=today.replace(day=1), amount=Decimal("3000"))
    return account, today


def _spend(firm_a, account, day, amount, number):
    return TransactionLineFactory(
        organisation=firm_a.organisation,
        account=account,
        date=day,
        amount=Decimal(amount),
        document_number=number,
        contact_name=f"Supplier {number}",
    )


def _rule(firm_a, account, **fields):
    values = {
        "name": "Advertising band",
        "threshold": "band",
        "account_ids": [account.pk],
        "recipients": [{"kind": "email", "email": "owner@example.com"}],
        **fields,
    }
    return services.alert_rule_save(firm=firm_a.firm, organisation=firm_a.organisation, **values)


def test_spend_past_the_band_alerts_once_per_step_with_its_largest_documents(
    firm_a, advertising, django_capture_on_commit_callbacks, mailoutbox, celery_eager
):
    account, today = advertising
    _rule(firm_a, account)
    # With no history the month is spread evenly: the whole month's budget already spent is
    # past the 95% band whatever the day (at most 3000 x 1.30 by the last day).
    _spend(firm_a, account, today, "2500.00", "BILL-1")
    _spend(firm_a, account, today, "1500.00", "BILL-2")
    with django_capture_on_commit_callbacks(execute=True):
        first = services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=timezone.now(),
        )
    assert [a.severity for a in first] == [Alert.Severity.CRITICAL]
    alert = first[0]
    assert alert.actual == Decimal("4000.00")
    assert [d["document_number"] for d in alert.drivers] == ["BILL-1", "BILL-2"]
    assert "above the band" in alert.summary and "At this pace the month ends at" in alert.summary
    assert len(mailoutbox) == 1 and "Advertising" in mailoutbox[0].subject

    _spend(firm_a, account, today, "900.00", "BILL-3")
    with django_capture_on_commit_callbacks(execute=True):
        again = services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks={account.pk},
            source_received_at=None,
        )
    assert again == [] and Alert.objects.for_firm(firm_a.firm).count() == 1
    assert len(mailoutbox) == 1


def test_no_alert_inside_the_band_nor_for_another_firms_rules(firm_a, firm_b, advertising):
    account, _today = advertising
    _rule(firm_a, account)
    assert (
        services.alerts_evaluate(
            firm=firm_b.firm,
            organisation=firm_b.organisation,
            account_pks=None,
            source_received_at=None,
        )
        == []
    )
    assert (
        services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=None,
        )
        == []
    )


@pytest.mark.clock("2027-04-05T00:05")
def test_quiet_hours_hold_the_email_until_they_end(
    firm_a, advertising, django_capture_on_commit_callbacks, mailoutbox, celery_eager
):
    account, today = advertising
    # 00:05 UTC is 12:05 in New Zealand (NZST in April): quiet from 11:00 to 13:00 there.
    _rule(firm_a, account, quiet_from=dt.time(11), quiet_until=dt.time(13))
    _spend(firm_a, account, today, "9000.00", "BILL-9")
    with django_capture_on_commit_callbacks(execute=True):
        services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=None,
        )
    delivery = AlertDelivery.objects.for_firm(firm_a.firm).get()
    assert delivery.state == AlertDelivery.State.PENDING and mailoutbox == []
    assert timezone.localtime(delivery.due_at, dt.UTC).time() == dt.time(1, 0)


def test_a_mail_server_failure_is_retried_with_backoff_and_shown(
    firm_a, advertising, django_capture_on_commit_callbacks, flaky_mail, celery_eager
):
    account, today = advertising
    _rule(firm_a, account)
    _spend(firm_a, account, today, "9000.00", "BILL-9")
    flaky_mail.failures = 1
    with django_capture_on_commit_callbacks(execute=True):
        (alert,) = services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=None,
        )
    delivery = AlertDelivery.objects.for_firm(firm_a.firm).get()
    assert (delivery.state, delivery.attempts) == (AlertDelivery.State.PENDING, 1)
    assert "SMTPServerDisconnected" in delivery.last_error
    assert delivery.due_at > timezone.now()
    # Not due yet: nothing is sent; once due, the next attempt goes out.
    assert services.alert_deliveries_send(firm=firm_a.firm, alert_id=alert.pk) == 0
    AlertDelivery.objects.for_firm(firm_a.firm).update(due_at=timezone.now())
    assert services.alert_deliveries_send(firm=firm_a.firm, alert_id=alert.pk) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")


@pytest.mark.clock("2027-04-05T00:05")
def test_a_snooze_holds_the_next_step(
    firm_a, advertising, django_capture_on_commit_callbacks, celery_eager
):
    account, today = advertising
    rule = _rule(firm_a, account, threshold="limit", limit=Decimal("5000"))
    _spend(firm_a, account, today, "4000.00", "BILL-1")
    # Day 5 of April in New Zealand: 4,000 by now is 24,000 at this pace, past the limit.
    with django_capture_on_commit_callbacks(execute=True):
        raised = services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=None,
        )
    assert [a.severity for a in raised] == [Alert.Severity.WARNING]
    until = timezone.now() + dt.timedelta(days=1)
    services.alert_snooze(firm=firm_a.firm, alert=raised[0], user=None, until=until)
    _spend(firm_a, account, today, "2000.00", "BILL-2")
    with django_capture_on_commit_callbacks(execute=True):
        (critical,) = services.alerts_evaluate(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            account_pks=None,
            source_received_at=None,
        )
    assert critical.severity == Alert.Severity.CRITICAL and critical.rule == rule
    held = AlertDelivery.objects.for_firm(firm_a.firm).get(alert=critical)
    assert held.due_at == until and held.state == AlertDelivery.State.PENDING
