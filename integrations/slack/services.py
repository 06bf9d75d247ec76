"""A firm's Slack: its settings, its test message, who is who, and the one way to send a message.

`slack_message_send` is the delivery seam for every job that tells people something in Slack
(approvals, alerts): it writes the message to the outbox (SlackMessage) in the caller's
transaction and starts its delivery by name once that commits. Delivery retries what may pass
(429, 5xx, timeouts) with growing waits and marks the rest failed with Slack's reason; nothing
is dropped: a failed message stays on the Slack settings screen until someone sends it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.history import history_note
from core.tasks import enqueue
from integrations.slack import client as slack_client
from integrations.slack.errors import SlackError, SlackRateLimited, SlackUnavailable
from integrations.slack.models import SlackMember, SlackMessage, SlackSettings
from tenants.models import Firm, Membership, User

logger = logging.getLogger(__name__)

Blocks = slack_client.Blocks
Method = SlackSettings.Method
Status = SlackMessage.Status

# Slack's user IDs: U or W (Enterprise Grid) and upper-case letters and digits.
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,19}$")
# A channel as Slack accepts it in chat.postMessage: an ID (C..., G...) or #name.
SLACK_CHANNEL = re.compile(r"^(#?[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{2,19})$")


class SlackSettingsError(Exception):
    """A Slack setting or mapping the firm cannot have; the message says what to do."""


# --- Settings ----------------------------------------------------------------------------------


def slack_settings_get(*, firm: Firm) -> SlackSettings:
    current, _created = SlackSettings.objects.for_firm(firm).get_or_create(firm=firm)
    return current


def _hint(secret: str) -> str:
    return f"…{secret[-4:]}" if secret else ""


def slack_settings_update(
    *,
    firm: Firm,
    user: User | None,
    method: str,
    webhook_url: str | None,
    bot_token: str | None,
    default_channel: str,
    approvals_to_slack: bool,
    reason: str = "Slack settings changed",
) -> SlackSettings:
    """Save the firm's Slack settings. `webhook_url=None` or `bot_token=None` keeps the stored
    secret (the form never shows it back). A new secret needs a new test message."""
    if method not in Method.values:
        raise SlackSettingsError(f"Unknown way to reach Slack: {method!r}.")
    default_channel = default_channel.strip()
    if default_channel and not SLACK_CHANNEL.match(default_channel):
        raise SlackSettingsError(
            "Give the channel as #name (lower case, as Slack shows it) or its ID (C0123ABCD)."
        )
    with transaction.atomic():
        current = slack_settings_get(firm=firm)
        current = SlackSettings.objects.for_firm(firm).select_for_update().get(pk=current.pk)
        changed_secret = False
        if webhook_url is not None and webhook_url != current.webhook_url:
            current.webhook_url, changed_secret = webhook_url, True
        if bot_token is not None and bot_token != current.bot_token:
            current.bot_token, changed_secret = bot_token, True
        if method == Method.WEBHOOK and not current.webhook_url:
            raise SlackSettingsError("Give the incoming webhook URL that Slack showed you.")
        if method == Method.BOT and not current.bot_token:
            raise SlackSettingsError("Give the bot token (xoxb-...) of the Slack app.")
        if method == Method.BOT and not default_channel:
            raise SlackSettingsError("Give the channel the bot posts into.")
        if changed_secret or method != current.method:
            # Whatever was tested before is not what is set now.
            current.tested_at, current.test_ok, current.test_detail = None, None, ""
            current.team_id = ""
        current.method = method
        current.default_channel = default_channel
        current.approvals_to_slack = approvals_to_slack
        in_use = current.bot_token if method == Method.BOT else current.webhook_url
        current.secret_hint = _hint(in_use) if method != Method.OFF else ""
        current.updated_by = user
        current.updated_at = timezone.now()
        history_note(current, reason=reason, user=user)
        current.save()
    return current


def _test_blocks(firm: Firm, user: User | None) -> tuple[str, Blocks]:
    who = user.display_name if user else "the app"
    text = f"Test message from {settings.SITE_NAME} for {firm.name}, sent by {who}."
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f":white_check_mark: {text}"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Approval requests, digests and alerts will arrive here.",
                }
            ],
        },
    ]
    return text, blocks


def slack_connection_test(*, firm: Firm, user: User | None) -> SlackSettings:
    """Send a test message now, the way real ones will go, and record what Slack said (with a
    bot token, also which workspace it is, so clicks from any other are refused)."""
    current = slack_settings_get(firm=firm)
    if current.method == Method.OFF:
        raise SlackSettingsError("Choose an incoming webhook or a bot token first.")
    text, blocks = _test_blocks(firm, user)
    team_id = current.team_id
    try:
        if current.method == Method.WEBHOOK:
            slack_client.slack_webhook_post(
                webhook_url=current.webhook_url, text=text, blocks=blocks
            )
        else:
            team_id = slack_client.slack_auth_test(token=current.bot_token).team_id
            slack_client.slack_message_post(
                token=current.bot_token, channel=current.default_channel, text=text, blocks=blocks
            )
    except SlackError as exc:
        ok, detail = False, str(exc)
    else:
        ok, detail = True, "Slack took the test message."
    with transaction.atomic():
        current = SlackSettings.objects.for_firm(firm).select_for_update().get(pk=current.pk)
        current.tested_at, current.test_ok, current.test_detail = timezone.now(), ok, detail
        current.team_id = team_id if ok else current.team_id
        history_note(
            current, reason="Test message sent" if ok else "Test message failed", user=user
        )
        current.save()
    return current


# --- Who is who --------------------------------------------------------------------------------


def slack_member_set(*, firm: Firm, member: User, slack_user_id: str, by: User | None) -> None:
    """Link a member to a Slack user ID by hand; an empty ID removes the link."""
    if not Membership.objects.for_firm(firm).filter(user=member).exists():
        raise SlackSettingsError("Only members of the firm can be linked to Slack users.")
    slack_user_id = slack_user_id.strip().upper()
    existing = SlackMember.objects.for_firm(firm).filter(user=member).first()
    if not slack_user_id:
        if existing is not None:
            history_note(existing, reason="Slack user unlinked", user=by)
            existing.delete()
        return
    if not SLACK_USER_ID.match(slack_user_id):
        raise SlackSettingsError(
            "A Slack user ID looks like U0123ABCD (in Slack: the person's profile, "
            "⋮ More, Copy member ID)."
        )
    taken = (
        SlackMember.objects.for_firm(firm)
        .filter(slack_user_id=slack_user_id)
        .exclude(user=member)
        .select_related("user")
        .first()
    )
    if taken is not None:
        raise SlackSettingsError(f"{slack_user_id} is already linked to {taken.user.email}.")
    link = existing or SlackMember(firm=firm, user=member)
    if existing is not None and (existing.slack_user_id, existing.source) == (
        slack_user_id,
        SlackMember.Source.MANUAL,
    ):
        return
    link.slack_user_id = slack_user_id
    link.source = SlackMember.Source.MANUAL
    link.updated_at = timezone.now()
    history_note(link, reason="Slack user set by hand", user=by)
    link.save()


@dataclass(frozen=True)
class LookupResult:
    found: int
    not_found: list[str]  # emails nobody in the workspace has


def slack_members_lookup(*, firm: Firm, by: User | None) -> LookupResult:
    """Find each member not linked by hand in the Slack workspace by their email
    (users.lookupByEmail, with the bot token). A link set by hand is never overwritten."""
    current = slack_settings_get(firm=firm)
    if current.method != Method.BOT or not current.bot_token:
        raise SlackSettingsError(
            "Looking people up by email needs a bot token (with the users:read.email scope); "
            "with a webhook, set each member's Slack user ID by hand."
        )
    manual = set(
        SlackMember.objects.for_firm(firm)
        .filter(source=SlackMember.Source.MANUAL)
        .values_list("user_id", flat=True)
    )
    found, missing = 0, []
    memberships = Membership.objects.for_firm(firm).select_related("user").order_by("user__email")
    for membership in memberships:
        member = membership.user
        if member.pk in manual:
            continue
        try:
            slack_user_id = slack_client.slack_user_lookup_by_email(
                token=current.bot_token, email=member.email
            )
        except SlackError as exc:
            raise SlackSettingsError(str(exc)) from exc
        if slack_user_id is None:
            missing.append(member.email)
            continue
        with transaction.atomic():
            link = SlackMember.objects.for_firm(firm).filter(user=member).first()
            if link is not None and link.slack_user_id == slack_user_id:
                found += 1
                continue
            # Someone else held this Slack ID (an old manual mistake): the workspace knows best.
            clash = SlackMember.objects.for_firm(firm).filter(slack_user_id=slack_user_id)
            for other in clash.exclude(user=member):
                history_note(other, reason="Slack user found for another member", user=by)
                other.delete()
            link = link or SlackMember(firm=firm, user=member)
            link.slack_user_id = slack_user_id
            link.source = SlackMember.Source.LOOKUP
            link.updated_at = timezone.now()
            history_note(link, reason="Slack user found by email", user=by)
            link.save()
            found += 1
    return LookupResult(found=found, not_found=missing)


# --- Sending -----------------------------------------------------------------------------------


def slack_message_send(
    *,
    firm: Firm,
    text: str,
    blocks: Blocks | None = None,
    channel: str = "",
    purpose: str = "",
    dedupe_key: str = "",
) -> SlackMessage | None:
    """Send a Block Kit message to the firm's Slack: `channel` (a bot token's; the default
    channel when empty; a webhook always posts into its own). `text` is the notification's
    fallback. Written in the caller's transaction and delivered by a task once it commits;
    with `dedupe_key`, a second call with the same key sends nothing more. None when the
    firm has not turned Slack on."""
    current = SlackSettings.objects.for_firm(firm).first()
    if current is None or not current.active:
        return None
    # A webhook posts into its own channel only.
    channel = (channel or current.default_channel) if current.method == Method.BOT else ""
    message = SlackMessage(
        firm=firm,
        purpose=(purpose or text)[:200],
        dedupe_key=dedupe_key[:200],
        channel=channel,
        text=text,
        blocks=blocks or [],
    )
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Sent (or being sent) already for this key.
        return SlackMessage.objects.for_firm(firm).filter(dedupe_key=message.dedupe_key).first()
    enqueue("integrations.slack.tasks.slack_message_deliver_task", firm.pk, message.pk)
    return message


class SlackDeliveryRetry(Exception):
    """Slack refused for a passing reason: the task tries again after `countdown` seconds."""

    def __init__(self, countdown: float, reason: str):
        super().__init__(reason)
        self.countdown = countdown


def _backoff(attempts: int, error: SlackError) -> float:
    # 30 s, 1, 2, 4, ... minutes with jitter (many firms' messages failing at once do not all
    # come back at once), never shorter than a 429's Retry-After.
    wait = min(30.0 * 2 ** (attempts - 1), float(settings.SLACK_DELIVERY_BACKOFF_MAX))
    wait = wait / 2 + random.uniform(0, wait / 2)
    if isinstance(error, SlackRateLimited):
        wait = max(wait, error.retry_after)
    return wait


def slack_message_deliver(*, firm: Firm, message_id: int) -> str:
    """Post one queued message. Claimed first (a task delivered twice posts once). Returns
    "sent", "failed" or "skipped"; raises SlackDeliveryRetry when it should be tried again."""
    now = timezone.now()
    claimed = (
        SlackMessage.objects.for_firm(firm)
        .filter(pk=message_id, status=Status.QUEUED)
        .update(status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    )
    if not claimed:
        return "skipped"
    message = SlackMessage.objects.for_firm(firm).get(pk=message_id)
    current = SlackSettings.objects.for_firm(firm).first()
    try:
        if current is None or not current.active:
            raise SlackError(
                "slack_off", "Slack is turned off for this firm; turn it on and send again"
            )
        blocks = message.blocks or None
        ts = ""
        if current.method == Method.WEBHOOK:
            slack_client.slack_webhook_post(
                webhook_url=current.webhook_url, text=message.text, blocks=blocks
            )
        else:
            posted = slack_client.slack_message_post(
                token=current.bot_token,
                channel=message.channel or current.default_channel,
                text=message.text,
                blocks=blocks,
            )
            ts = posted.ts
    except (SlackRateLimited, SlackUnavailable) as exc:
        if message.attempts > settings.SLACK_DELIVERY_RETRIES:
            _failed(firm, message, f"{exc} (gave up after {message.attempts} attempts)")
            return "failed"
        wait = _backoff(message.attempts, exc)
        SlackMessage.objects.for_firm(firm).filter(pk=message.pk).update(
            status=Status.QUEUED,
            last_error=str(exc),
            next_attempt_at=timezone.now() + dt.timedelta(seconds=wait),
        )
        raise SlackDeliveryRetry(wait, str(exc)) from exc
    except SlackError as exc:
        # Wrong token, missing channel, a message Slack will never take: a person must act.
        _failed(firm, message, str(exc))
        return "failed"
    SlackMessage.objects.for_firm(firm).filter(pk=message.pk).update(
        status=Status.SENT, sent_at=timezone.now(), slack_ts=ts, last_error=""
    )
    return "sent"


def _failed(firm: Firm, message: SlackMessage, reason: str) -> None:
    logger.warning("Slack message %s of firm %s failed: %s", message.pk, firm.pk, reason)
    SlackMessage.objects.for_firm(firm).filter(pk=message.pk).update(
        status=Status.FAILED, last_error=reason
    )


def slack_message_resend(*, firm: Firm, message_id: int) -> bool:
    """Queue a failed message again (the settings screen's "Send again")."""
    queued = (
        SlackMessage.objects.for_firm(firm)
        .filter(pk=message_id, status=Status.FAILED)
        .update(status=Status.QUEUED, attempts=0, next_attempt_at=timezone.now())
    )
    if queued:
        enqueue("integrations.slack.tasks.slack_message_deliver_task", firm.pk, message_id)
    return bool(queued)


def slack_messages_recover(*, firm: Firm, now: dt.datetime | None = None) -> int:
    """Beat: queue again every message whose task was lost: queued and long past its next
    attempt, or claimed by a worker that died mid-send (it may have arrived: Slack takes no
    idempotency key, so a lost send is tried again rather than dropped). Returns how many."""
    now = now or timezone.now()
    lost_before = now - dt.timedelta(seconds=settings.SLACK_DELIVERY_LOST_SECONDS)
    messages = SlackMessage.objects.for_firm(firm)
    stuck = list(
        messages.filter(status=Status.SENDING, claimed_at__lte=lost_before).values_list(
            "pk", flat=True
        )
    )
    for pk in stuck:
        messages.filter(pk=pk, status=Status.SENDING).update(status=Status.QUEUED)
    due = list(
        messages.filter(status=Status.QUEUED, next_attempt_at__lte=lost_before).values_list(
            "pk", flat=True
        )
    )
    for pk in sorted(set(due) | set(stuck)):
        enqueue("integrations.slack.tasks.slack_message_deliver_task", firm.pk, pk)
    return len(set(due) | set(stuck))
