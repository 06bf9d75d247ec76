"""A person clicking a button of a message in Slack, as Slack tells the app about it.

Slack POSTs to the app's Request URL a form-encoded body with one field, `payload`, holding the
JSON of a `block_actions` interaction: who clicked (`user.id`, `user.team_id`), where
(`container`, `channel`), the message itself, and the button (`actions[0].action_id`,
`block_id`, `value`) (api.slack.com/reference/interaction-payloads/block-actions-payload). The
request is signed with the app's signing secret: `X-Slack-Request-Timestamp` and
`X-Slack-Signature` = "v0=" + hex HMAC-SHA256 of "v0:<timestamp>:<body>"
(api.slack.com/authentication/verifying-requests-from-slack). This is Slack's side, written
independently of the product's check (integrations/slack/signing.py) so each tests the other.
The app must answer within 3 seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from integrations.slack.imitation.app import (
    TEAM_DOMAIN,
    TEAM_ID,
    RecordedMessage,
    SlackImitation,
)
from integrations.slack.imitation.blocks import buttons


@dataclass(frozen=True)
class InteractiveRequest:
    """What Slack sends: the raw body and its headers."""

    body: bytes
    headers: dict[str, str]
    payload: dict


def interaction_request(
    imitation: SlackImitation,
    *,
    message: RecordedMessage,
    action_id: str,
    user_id: str,
    timestamp: int | None = None,
    signing_secret: str | None = None,
) -> InteractiveRequest:
    """The signed block_actions request of `user_id` clicking the button `action_id` of a message
    the imitation received. Only a button the message really has can be clicked (LookupError).
    `timestamp` and `signing_secret` let a test send a stale or wrongly signed request."""
    found = [(b, e) for b, e in buttons(message.blocks) if e.get("action_id") == action_id]
    if not found:
        raise LookupError(f"the message {message.ts} has no button {action_id!r}")
    block_id, button = found[0]
    if user_id not in imitation.users:
        raise LookupError(f"the imitation's workspace has no user {user_id!r}")
    channel = imitation.channels[message.channel]
    now = time.time()
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id,
        "text": button.get("text"),
        "action_ts": f"{now:.6f}",
        **({"value": button["value"]} if "value" in button else {}),
        **({"style": button["style"]} if "style" in button else {}),
    }
    payload = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": imitation.users[user_id]["name"],
            "name": imitation.users[user_id]["name"],
            "team_id": TEAM_ID,
        },
        "api_app_id": "A0IMITATE",
        "token": "imitation-verification-token",  # deprecated by Slack; never to be trusted
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(now)}.{uuid.uuid4().hex[:12]}",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": {
            "type": "message",
            "subtype": "bot_message",
            "text": message.text or "",
            "ts": message.ts,
            "blocks": message.blocks or [],
        },
        "state": {"values": {}},
        "response_url": imitation.response_url_add(channel.id, user_id),
        "actions": [action],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    stamp = str(int(now) if timestamp is None else timestamp)
    secret = imitation.signing_secret if signing_secret is None else signing_secret
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return InteractiveRequest(body=body, headers=headers, payload=payload)


def interaction_send(
    imitation: SlackImitation,
    *,
    url: str,
    message: RecordedMessage,
    action_id: str,
    user_id: str,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Response:
    """Click: POST the signed request to the app's URL, with Slack's 3-second patience."""
    request = interaction_request(imitation, message=message, action_id=action_id, user_id=user_id)
    with httpx.Client(transport=transport, timeout=3.0) as client:
        return client.post(url, content=request.body, headers=request.headers)
