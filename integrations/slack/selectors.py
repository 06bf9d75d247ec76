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


class SlackClickRefused(Exception):
    """A click that cannot act for anyone of the firm; the message says why, for the person."""


def slack_click_member(
    *, firm_id: int | None, slack_user_id: str, team_id: str, fallback: str
) -> tuple[Firm, User]:
    """The firm a button's signed value names (None: the value was not ours) and the member of
    it a click acts as: the firm's Slack is on, the click came from its workspace, and the Slack
    user is linked to a member still in the firm. Otherwise raises SlackClickRefused saying
    why, with `fallback` (where else the person can act)."""
    firm = Firm.objects.filter(pk=firm_id).first() if firm_id is not None else None
    if firm is None:
        raise SlackClickRefused(f"This button is not valid any more: {fallback}.")
    connection = slack_settings_for(firm=firm)
    if connection is None or not connection.active:
        raise SlackClickRefused(f"{firm.name} has turned Slack off: {fallback}.")
    if connection.team_id and team_id != connection.team_id:
        raise SlackClickRefused(
            f"This message belongs to {firm.name}'s Slack workspace, not this one."
        )
    user = slack_member_user(firm=firm, slack_user_id=slack_user_id)
    if user is None:
        raise SlackClickRefused(
            f"Your Slack account is not linked to a member of {firm.name}, so we cannot tell "
            "who is clicking. Ask an owner to link it (Settings, Slack: find people by email, "
            f"or set your Slack member ID), or {fallback}."
        )
    return firm, user


def slack_user_ids(*, firm: Firm, user_ids: list[int]) -> dict[int, str]:
    """{member's user id: Slack user ID} for those linked, to mention them in a message."""
    return dict(
        SlackMember.objects.for_firm(firm)
        .filter(user_id__in=user_ids)
        .values_list("user_id", "slack_user_id")
    )


def slack_messages_recent(*, firm: Firm, limit: int = 30) -> list[SlackMessage]:
    return list(SlackMessage.objects.for_firm(firm).order_by("-created_at", "-pk")[:limit])
