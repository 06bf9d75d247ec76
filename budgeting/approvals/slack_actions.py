"""A click on an approval message's button in Slack: who it is, whether they may decide, and
the same confirmation as the email link.

The click decides nothing. Its button's signed value names the firm, the step and the
draft's revision; the Slack user must be linked to a member of that firm; every rule of a
decision (the step is open, the draft unchanged, segregation of duties) is asked of
budgeting.approvals.services before anything is handed out. Then the person gets, in a
message only they see, a sign-off link of their own (the email link's page, its rules, single
use, short-lived), and decides there. Whoever may not decide is told why, in Slack.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.approvals.models import ApprovalStep
from budgeting.approvals.slack import ACTION_OPEN, ACTIONS, DECISIONS, button_read
from integrations.slack.selectors import SlackClickRefused, slack_click_member
from integrations.slack.signals import SlackReply


def approval_slack_click(
    *, action_id: str, value: str, slack_user_id: str, team_id: str
) -> SlackReply | None:
    """The answer to a click on Approve or Request changes; None for any other button."""
    if action_id not in ACTIONS:
        return None
    named = button_read(value)
    try:
        firm, user = slack_click_member(
            firm_id=named["f"] if named else None,
            slack_user_id=slack_user_id,
            team_id=team_id,
            fallback="decide from the email link instead",
        )
    except SlackClickRefused as refused:
        return SlackReply.told(str(refused))
    step = (
        ApprovalStep.objects.for_firm(firm)
        .select_related("request", "request__draft", "request__organisation")
        .filter(pk=named["s"])
        .first()
    )
    if step is None:
        return SlackReply.told("This approval step no longer exists.")
    approver = approvals.approver_for_member(firm=firm, user=user)
    try:
        approvals.approval_decision_check(
            firm=firm, step=step, approver=approver, revision=named["r"]
        )
    except approvals.ApprovalError as exc:
        return SlackReply.told(f"You cannot decide this step, {user.display_name}: {exc}")
    _link, token = approvals.approval_link_create(
        firm=firm,
        step=step,
        approver=approver,
        channel=approvals.Channel.SLACK,
        lifetime=dt.timedelta(minutes=settings.SLACK_LINK_MINUTES),
    )
    decision = DECISIONS[action_id]
    url = settings.SITE_URL + reverse("approval_link", args=[token]) + f"?decision={decision}"
    verb = "approve" if decision == "approve" else "request changes to"
    text = (
        f"To {verb} the forecast draft of {step.request.organisation.name} "
        f"(step {step.position}, {step.name}), confirm on the sign-off page."
    )
    return SlackReply(
        text=text,
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_OPEN,
                        "text": {"type": "plain_text", "text": "Open the confirmation"},
                        "style": "primary",
                        "url": url,
                    }
                ],
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Only you see this. The link is yours ({user.email}), works "
                        f"once and for {settings.SLACK_LINK_MINUTES} minutes; nothing is "
                        "decided until you press a button on the page.",
                    }
                ],
            },
        ],
    )
