"""How an alert reaches people: one delivery function per channel.

A delivery function takes an AlertDelivery (its alert, organisation and recipient loaded) and
sends it, raising on any failure so the caller retries with backoff. Email is here; Slack is
registered by the Slack integration (`delivery_register(AlertDelivery.Channel.SLACK, fn)` at
start-up). Until it is, a Slack delivery waits as "not set up" and is sent once a function for
its channel exists: nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.urls import reverse

from budgeting.alerts.models import Alert, AlertDelivery
from core.email import email_send

DeliveryFunction = Callable[[AlertDelivery], None]

_FUNCTIONS: dict[str, DeliveryFunction] = {}


def delivery_register(channel: str, function: DeliveryFunction) -> None:
    _FUNCTIONS[channel] = function


def delivery_function(channel: str) -> DeliveryFunction | None:
    return _FUNCTIONS.get(channel)


def alert_subject(alert: Alert) -> str:
    step = alert.get_severity_display()
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
