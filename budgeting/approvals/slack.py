"""Approval requests and the daily digest as Block Kit messages in the firm's Slack, beside the
emails, when the firm turned "approval requests to Slack" on.

A message names the step's approvers (mentioning those linked to a Slack user) and carries two
buttons, Approve and Request changes. A click decides nothing: it opens the same confirmation
as the email link (budgeting/approvals/slack_actions.py). The buttons' value is signed and names
the firm, the step and the draft's revision, so the firm of a click comes from a signed token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.conf import settings
from django.core import signing
from django.urls import reverse

from budgeting.approvals.models import ApprovalStep
from core.money import signed_amount_in
from integrations.slack.client import mrkdwn_escape
from integrations.slack.selectors import slack_settings_for, slack_user_ids
from integrations.slack.services import slack_message_send
from tenants.models import Firm

BUTTON_SALT = "budgeting.approvals.slack-button"
ACTION_APPROVE = "approval_approve"
ACTION_REQUEST_CHANGES = "approval_request_changes"
# Buttons that only open a page (Slack still tells the app they were clicked).
ACTION_VIEW = "approval_view"
ACTION_OPEN = "approval_open"
ACTIONS = (ACTION_APPROVE, ACTION_REQUEST_CHANGES)
DECISIONS = {ACTION_APPROVE: "approve", ACTION_REQUEST_CHANGES: "request_changes"}
# Block Kit allows 50 blocks a message: a digest lists this many steps, then a count.
DIGEST_STEPS_MAX = 12


def approvals_to_slack(*, firm: Firm) -> bool:
    current = slack_settings_for(firm=firm)
    return current is not None and current.active and current.approvals_to_slack


def button_value(*, firm: Firm, step: ApprovalStep) -> str:
    return signing.dumps(
        {"f": firm.pk, "s": step.pk, "r": step.request.revision}, salt=BUTTON_SALT, compress=True
    )


def button_read(value: str) -> dict | None:
    """The firm, step and revision a button names, or None when the value is not ours. The
    buttons do not expire: the step and revision they name do (checked on every click)."""
    try:
        payload = signing.loads(value, salt=BUTTON_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), int) for k in "fsr"):
        return None
    return payload


def _plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(firm: Firm, recipients: Sequence) -> str:
    mentions = slack_user_ids(
        firm=firm, user_ids=[a.user.pk for a in recipients if a.user is not None]
    )
    names = []
    for approver in recipients:
        slack_id = mentions.get(approver.user.pk) if approver.user is not None else None
        names.append(f"<@{slack_id}>" if slack_id else mrkdwn_escape(approver.name))
    return ", ".join(names) or "nobody who may still decide it"


def _step_blocks(
    firm: Firm, step: ApprovalStep, summary: dict, recipients: Sequence, reminder: bool
) -> list[dict]:
    request = step.request
    draft = request.draft
    organisation = request.organisation
    screen = settings.SITE_URL + reverse(
        "draft_approval", args=[firm.slug, organisation.pk, draft.pk]
    )
    impact = signed_amount_in(summary["net_profit_impact"], draft.currency_code)
    heading = f"{'Reminder: a' if reminder else 'A'}pproval needed: {organisation.name}"
    lines = [
        f"*Forecast draft from {draft.first_period:%B %Y}*, revision {request.revision}",
        f"Step {step.position}: *{mrkdwn_escape(step.name)}*",
        f"Net profit impact over {draft.horizon} months: *{impact}*",
        f"Waiting for {_who(firm, recipients)}",
    ]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(heading, 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]
    largest = [(line, change) for line, change in summary["largest"] if change][:5]
    if largest:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {
                        "type": "mrkdwn",
                        "text": _plain(
                            f"{mrkdwn_escape(str(line))}\n"
                            f"{signed_amount_in(change, draft.currency_code)}",
                            2000,
                        ),
                    }
                    for line, change in largest
                ],
            }
        )
    blocks.append(_step_actions(firm, step, screen))
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "A button opens the same confirmation as the emailed link, for you "
                    "only: nothing is decided until you confirm there.",
                }
            ],
        }
    )
    return blocks


def _step_actions(firm: Firm, step: ApprovalStep, screen: str) -> dict:
    value = button_value(firm=firm, step=step)
    return {
        "type": "actions",
        "block_id": f"approval-step-{step.pk}",
        "elements": [
            {
                "type": "button",
                "action_id": ACTION_APPROVE,
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": value,
            },
            {
                "type": "button",
                "action_id": ACTION_REQUEST_CHANGES,
                "text": {"type": "plain_text", "text": "Request changes"},
                "value": value,
            },
            {
                "type": "button",
                "action_id": ACTION_VIEW,
                "text": {"type": "plain_text", "text": "Open in the app"},
                "url": screen,
            },
        ],
    }


def approval_step_slack_post(
    *, firm: Firm, step: ApprovalStep, summary: dict, recipients: Sequence, reminder: bool
) -> None:
    """Post a newly opened step (or its reminder) to the firm's Slack, in the transaction that
    marks it notified: a send that rolls back posts nothing, and a task run twice posts once."""
    if not approvals_to_slack(firm=firm):
        return
    organisation = step.request.organisation
    kind = f"reminder-{step.reminders_sent}" if reminder else "open"
    slack_message_send(
        firm=firm,
        text=(
            f"{'Reminder: ' if reminder else ''}approval needed for the forecast draft of "
            f"{organisation.name} (step {step.position}, {step.name})"
        ),
        blocks=_step_blocks(firm, step, summary, recipients, reminder),
        purpose=f"Approval request: {organisation.name}, step {step.position} ({step.name})"
        + (" (reminder)" if reminder else ""),
        dedupe_key=f"approval-step:{step.pk}:{kind}",
    )


def approval_digest_slack_post(
    *, firm: Firm, day: dt.date, steps: Sequence[tuple[ApprovalStep, dict, Sequence]]
) -> None:
    """The day's digest in the channel: every open step with whom it waits for and its
    buttons. `steps` is (step, summary, recipients), oldest first. Once a day per firm."""
    if not steps or not approvals_to_slack(firm=firm):
        return
    count = len(steps)
    title = f"{count} forecast draft{'s' if count != 1 else ''} waiting for approval"
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    for step, summary, recipients in steps[:DIGEST_STEPS_MAX]:
        draft = step.request.draft
        organisation = step.request.organisation
        screen = settings.SITE_URL + reverse(
            "draft_approval", args=[firm.slug, organisation.pk, draft.pk]
        )
        impact = signed_amount_in(summary["net_profit_impact"], draft.currency_code)
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{mrkdwn_escape(organisation.name)}*: forecast draft from "
                    f"{draft.first_period:%B %Y}, step {step.position} "
                    f"({mrkdwn_escape(step.name)}), net profit impact {impact}\n"
                    f"Waiting for {_who(firm, recipients)}",
                },
            }
        )
        blocks.append(_step_actions(firm, step, screen))
    if count > DIGEST_STEPS_MAX:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"And {count - DIGEST_STEPS_MAX} more: see each approver's email.",
                    }
                ],
            }
        )
    slack_message_send(
        firm=firm,
        text=title,
        blocks=blocks,
        purpose=f"Approval digest of {day:%d %b %Y}",
        dedupe_key=f"approval-digest:{day.isoformat()}",
    )
