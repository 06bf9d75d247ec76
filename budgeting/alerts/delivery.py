"""How an alert reaches people: one delivery function per channel.

A delivery function takes an AlertDelivery (its alert, organisation and recipient loaded) and
sends it, raising on any failure so the caller retries with backoff. Email goes through the one
email helper; Slack through the firm's Slack outbox (integrations.slack.services
.slack_message_send), which posts and retries on its own. A firm that has not turned Slack on
raises ChannelNotSetUp: the delivery waits as "not set up" and is sent once the firm does, so
nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse

from budgeting.alerts.models import Alert, AlertDelivery
from budgeting.alerts.slack import alert_slack_blocks
from core.email import email_send
from integrations.slack.services import slack_message_send

DeliveryFunction = Callable[[AlertDelivery], None]


class ChannelNotSetUp(Exception):
    """The firm has not set the channel up (Slack off): waited on, not retried as a failure."""


_FUNCTIONS: dict[str, DeliveryFunction] = {}


def delivery_register(channel: str, function: DeliveryFunction) -> None:
    _FUNCTIONS[channel] = function


def delivery_function(channel: str) -> DeliveryFunction | None:
    return _FUNCTIONS.get(channel)


def alert_subject(alert: Alert) -> str:
    step = alert.get_severity_display()
    if alert.threshold == "cash":
        return (
            f"{step}: cash below its threshold for {alert.organisation.name}, {alert.period:%b %Y}"
        )
    return f"{step}: {alert.account} for {alert.organisation.name}, {alert.period:%b %Y}"


def alert_url(alert: Alert) -> str:
    path = reverse("alert_list", args=[alert.firm.slug, alert.organisation_id])
    return f"{settings.SITE_URL}{path}#alert-{alert.pk}"


def alert_email_send(delivery: AlertDelivery) -> None:
    alert = delivery.alert
    email_send(
        template="alert",
        to=[delivery.recipient],
        subject=delivery.subject or alert_subject(alert),
        context={"alert": alert, "url": alert_url(alert)},
    )


delivery_register(AlertDelivery.Channel.EMAIL, alert_email_send)


def alert_slack_send(delivery: AlertDelivery) -> None:
    """Into the firm's Slack outbox for the rule's channel, once per delivery (its key): the
    outbox posts, retries and shows failures on the firm's Slack settings."""
    alert = delivery.alert
    message = slack_message_send(
        firm=alert.firm,
        text=alert_subject(alert),
        blocks=alert_slack_blocks(alert, url=alert_url(alert)),
        channel=delivery.recipient,
        purpose=f"Alert: {alert_subject(alert)}",
        dedupe_key=f"alert-delivery:{delivery.pk}",
    )
    if message is not None:
        # The outbox posts and retries on its own: the alert shows how that goes.
        delivery.slack_message = message
        return
    raise ChannelNotSetUp(
        "Slack is not turned on for the firm: an owner sets it up in Firm settings, Slack; "
        "the alert is posted then."
    )


delivery_register(AlertDelivery.Channel.SLACK, alert_slack_send)
