"""Acknowledge or snooze an alert from its Slack message.

An alert's buttons carry a signed value naming the firm and the alert, so the firm of a click
comes from a signed token, never from Slack's payload. The Slack user must be linked to a
member of that firm (integrations.slack.selectors.slack_click_member, the rule approvals use
too); the click then does what the same buttons on the alerts screen do, as that member,
through the same services, so the history says who. Both are reversible and decide nothing
about money, so unlike an approval they need no confirmation page.
"""

from __future__ import annotations

from django.utils import timezone

from budgeting.alerts import services
from budgeting.alerts.models import Alert
from budgeting.alerts.slack import ACTION_ACKNOWLEDGE, ACTIONS, SNOOZE_SPAN, button_read
from budgeting.ledger.models import XeroOrganisation
from core.clock import xero_zone
from integrations.slack.selectors import SlackClickRefused, slack_click_member
from integrations.slack.signals import SlackReply


def alert_slack_click(
    *, action_id: str, value: str, slack_user_id: str, team_id: str
) -> SlackReply | None:
    """The answer to a click on Acknowledge or Snooze; None for any other button."""
    if action_id not in ACTIONS:
        return None
    named = button_read(value)
    try:
        firm, user = slack_click_member(
            firm_id=named["f"] if named else None,
            slack_user_id=slack_user_id,
            team_id=team_id,
            fallback="open the alert in the app instead",
        )
    except SlackClickRefused as refused:
        return SlackReply.told(str(refused))
    alert = (
        Alert.objects.for_firm(firm)
        .select_related("organisation", "account", "acknowledged_by")
        .filter(pk=named["a"])
        .first()
    )
    if alert is None:
        return SlackReply.told("This alert no longer exists.")
    if alert.state == Alert.State.ACKNOWLEDGED:
        who = alert.acknowledged_by.display_name if alert.acknowledged_by else "someone"
        return SlackReply.told(f"{who} acknowledged this alert already ({alert}).")
    if action_id == ACTION_ACKNOWLEDGE:
        services.alert_acknowledge(firm=firm, alert=alert, user=user)
        return SlackReply.told(
            f"Acknowledged as {user.display_name}: {alert}, {alert.organisation.name}."
        )
    until = timezone.now() + SNOOZE_SPAN
    services.alert_snooze(firm=firm, alert=alert, user=user, until=until)
    # In the organisation's time zone, like the quiet hours of its rules.
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=alert.organisation)
    zone = xero_zone(profile.values_list("timezone", flat=True).first())
    return SlackReply.told(
        f"Snoozed for a day as {user.display_name}: no higher alert for {alert.account} of "
        f"{alert.organisation.name} this month until "
        f"{timezone.localtime(until, zone):%d %b %H:%M %Z}."
    )
