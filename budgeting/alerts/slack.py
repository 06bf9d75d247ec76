"""An alert as a Slack message (Block Kit): what happened, that the figures are provisional,
and its buttons. Acknowledge and Snooze carry a signed value naming the firm and the alert;
what a click does is budgeting/alerts/slack_actions.py."""

from __future__ import annotations

import datetime as dt

from django.core import signing

from budgeting.alerts.models import Alert
from integrations.slack.client import mrkdwn_escape

BUTTON_SALT = "budgeting.alerts.slack-button"
ACTION_ACKNOWLEDGE = "alert_acknowledge"
ACTION_SNOOZE_DAY = "alert_snooze_day"
ACTIONS = (ACTION_ACKNOWLEDGE, ACTION_SNOOZE_DAY)
SNOOZE_SPAN = dt.timedelta(days=1)


def button_value(*, alert: Alert) -> str:
    return signing.dumps({"f": alert.firm_id, "a": alert.pk}, salt=BUTTON_SALT, compress=True)


def button_read(value: str) -> dict | None:
    """The firm and alert a button names, or None when the value is not ours."""
    try:
        payload = signing.loads(value, salt=BUTTON_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), int) for k in "fa"):
        return None
    return payload


def alert_slack_blocks(alert: Alert, *, url: str) -> list[dict]:
    """The alert as Block Kit: what happened, that the figures are provisional, Acknowledge and
    Snooze (budgeting/alerts/slack_actions.py) and a link."""
    value = button_value(alert=alert)
    where = f"{alert.account}" + (f" ({alert.tracking_option})" if alert.tracking_option else "")
    where, organisation = mrkdwn_escape(where), mrkdwn_escape(alert.organisation.name)
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{alert.get_severity_display()}* for {organisation}: "
                f"{where}, {alert.period:%B %Y}\n{mrkdwn_escape(alert.summary)}",
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Month-to-date figures are provisional until the month closes.",
                }
            ],
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ACTION_ACKNOWLEDGE,
                    "text": {"type": "plain_text", "text": "Acknowledge"},
                    "style": "primary",
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": ACTION_SNOOZE_DAY,
                    "text": {"type": "plain_text", "text": "Snooze for a day"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": "alert_open",
                    "text": {"type": "plain_text", "text": "Open the alert"},
                    "url": url,
                },
            ],
        },
    ]
