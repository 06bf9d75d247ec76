"""An alert whose rule names a Slack channel is posted there through the firm's Slack outbox,
once, over real HTTP to the Slack imitation; a firm without Slack keeps it waiting as "not set
up" (no failed retries) and sends it once an owner turns Slack on."""

import datetime as dt

import pytest
from django.utils import timezone

from budgeting.alerts import services
from budgeting.alerts.models import AlertDelivery
from integrations.slack.models import SlackMessage
from tests.budgeting.alert_data import alert_create
from tests.slack import slack_served, slack_turn_on


@pytest.fixture
def imitation(settings):
    settings.SLACK_RETRY_ATTEMPTS = 1
    with slack_served(settings) as served_imitation:
        yield served_imitation


def _slack_delivery(cast):
    alert = alert_create(cast)
    return AlertDelivery.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        alert=alert,
        channel=AlertDelivery.Channel.SLACK,
        recipient="#budget-alerts",
    )


def test_an_alert_goes_to_the_rules_slack_channel_once(
    firm_a, firm_b, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm, channel="C0APPROVALS")
    ours, theirs = _slack_delivery(firm_a), _slack_delivery(firm_b)

    with django_capture_on_commit_callbacks(execute=True):
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=ours.alert_id)
    with django_capture_on_commit_callbacks(execute=True):
        # Sent again (a redelivered task): nothing more is posted.
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=ours.alert_id)

    [posted] = imitation.messages_in("C0ALERTS")  # "#budget-alerts", not the default channel
    text = str(posted.payload["blocks"])
    assert "Telephone" in text and "over its limit of NZ$500.00 (alder)" in text
    assert "provisional" in text and f"#alert-{ours.alert_id}" in text
    ours.refresh_from_db()
    assert ours.state == AlertDelivery.State.SENT
    assert SlackMessage.objects.for_firm(firm_a.firm).get().status == "sent"
    # Firm B's alert was not touched by firm A's sending, and nothing of it reached Slack.
    theirs.refresh_from_db()
    assert theirs.state == AlertDelivery.State.PENDING
    assert "birch" not in str([m.payload for m in imitation.messages])


def test_without_slack_an_alert_waits_as_not_set_up_and_goes_once_slack_is_on(
    firm_a, imitation, celery_eager, django_capture_on_commit_callbacks
):
    delivery = _slack_delivery(firm_a)

    for _ in range(3):  # the hourly check finds Slack still off: no attempt is used up
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id)
        AlertDelivery.objects.for_firm(firm_a.firm).filter(pk=delivery.pk).update(
            due_at=timezone.now() - dt.timedelta(seconds=1)
        )

    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.UNSUPPORTED and delivery.attempts == 0
    assert "Slack is not turned on for the firm" in delivery.last_error
    assert delivery.history.filter(history_change_reason="Channel not set up").count() == 1

    slack_turn_on(firm_a.firm, channel="C0APPROVALS")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id) == 1

    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.SENT
    assert len(imitation.messages_in("C0ALERTS")) == 1
