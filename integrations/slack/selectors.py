"""Reads of a firm's Slack: its settings, who is who, and the messages sent or failing."""

from __future__ import annotations

from integrations.slack.models import SlackMember, SlackMessage, SlackSettings
from tenants.models import Firm, Membership, User


def slack_settings_for(*, firm: Firm) -> SlackSettings | None:
    return SlackSettings.objects.for_firm(firm).first()


def slack_member_user(*, firm: Firm, slack_user_id: str) -> User | None:
    """The member a Slack user is, while they are still a member of the firm; None when nobody
    linked that Slack user (or the member left)."""
    link = (
        SlackMember.objects.for_firm(firm)
        .filter(slack_user_id=slack_user_id)
        .select_related("user")
        .first()
    )
    if link is None:
        return None
    if not Membership.objects.for_firm(firm).filter(user=link.user).exists():
        return None
    return link.user


def slack_user_ids(*, firm: Firm, user_ids: list[int]) -> dict[int, str]:
    """{member's user id: Slack user ID} for those linked, to mention them in a message."""
    return dict(
        SlackMember.objects.for_firm(firm)
        .filter(user_id__in=user_ids)
        .values_list("user_id", "slack_user_id")
    )


def slack_messages_recent(*, firm: Firm, limit: int = 30) -> list[SlackMessage]:
    return list(SlackMessage.objects.for_firm(firm).order_by("-created_at", "-pk")[:limit])
