"""What the Slack integration tells the jobs above it (connected at start-up, in their apps'
ready()): the integration checks that a click came from Slack; what it means is theirs."""

from dataclasses import dataclass
from typing import Any

from django.dispatch import Signal

# A person clicked a button of one of our messages, in a request whose signature checked out.
# Sent with action_id, value (the button's, as we set it), slack_user_id, team_id and the
# whole block_actions payload. A receiver that owns the action returns a SlackReply (shown to
# the person who clicked, only), or None.
slack_action_clicked = Signal()


@dataclass(frozen=True)
class SlackReply:
    text: str
    blocks: list[dict[str, Any]] | None = None

    @classmethod
    def told(cls, text: str) -> "SlackReply":
        """A reply that only says something (why a click did nothing, what it did)."""
        return cls(
            text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        )
