"""Posting Block Kit messages to Slack: through an incoming webhook URL, or through the Web API's
chat.postMessage with a bot token (`Authorization: Bearer xoxb-...`).

What Slack documents and this relies on:
- A webhook takes a JSON body with `text` and/or `blocks` and answers 200 with the body "ok";
  a refusal is a 4xx with the error code as plain text (errors.py lists them)
  (api.slack.com/messaging/webhooks).
- chat.postMessage takes JSON (`Content-type: application/json; charset=utf-8`) with `channel`
  and `text` and/or `blocks`, and always answers 200 with `{"ok": ...}`; success carries the
  channel's ID and the message's `ts` (api.slack.com/methods/chat.postMessage).
- A 429 carries `Retry-After` in seconds; posting is limited to about one message per second per
  channel with short bursts (api.slack.com/apis/rate-limits). The client waits that long and tries
  again, at most SLACK_RETRY_ATTEMPTS times and never longer than SLACK_RETRY_AFTER_MAX seconds a
  wait: a longer wait belongs to a task's retry, not a held worker. A 5xx and a failed
  connection are retried the same way; a request Slack received but did not answer in time is
  not, since Slack has no idempotency key and a retry could post the message twice.
- With blocks, `text` is the fallback Slack shows in notifications and screen readers, so the
  client always sends one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from integrations.slack.errors import (
    SlackAuthError,
    SlackChannelNotFound,
    SlackError,
    SlackRateLimited,
    SlackUnavailable,
    slack_error,
)
from integrations.slack.http import slack_http_client

Blocks = list[dict[str, Any]]


def mrkdwn_escape(text: str) -> str:
    """Text of ours or a client's (an account's name) safe inside a Block Kit mrkdwn field:
    Slack's three control characters (api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class SlackPosted:
    """Where chat.postMessage put the message: the channel's ID and the message's timestamp,
    which later updates (chat.update) and threads name the message by."""

    channel: str
    ts: str


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0


def _send(request: Callable[[httpx.Client], httpx.Response]) -> httpx.Response:
    """Send, waiting out 429s (for their Retry-After) and retrying 5xx and timeouts, bounded."""
    attempts = settings.SLACK_RETRY_ATTEMPTS
    last: SlackError = SlackUnavailable("no_attempt")
    with slack_http_client() as client:
        for attempt in range(1, attempts + 1):
            try:
                response = request(client)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached Slack: trying again cannot post the message twice.
                last = SlackUnavailable("connection_error", str(exc) or type(exc).__name__)
            except httpx.TransportError as exc:
                # Slack has the request and may have posted it (Slack takes no idempotency
                # key): a retry here could post twice, so the caller decides.
                raise SlackUnavailable(
                    "timeout" if isinstance(exc, httpx.TimeoutException) else "no_answer",
                    f"{exc or type(exc).__name__}; the message may have arrived",
                ) from exc
            else:
                if response.status_code == 429:
                    wait = _retry_after(response)
                    last = SlackRateLimited(wait)
                    if wait > settings.SLACK_RETRY_AFTER_MAX or attempt == attempts:
                        raise last
                    time.sleep(wait)
                    continue
                if response.status_code >= 500:
                    last = SlackUnavailable(f"http_{response.status_code}", response.text[:200])
                else:
                    return response
            if attempt < attempts:
                # A short, growing pause: a 5xx or a timeout at Slack passes in seconds.
                time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
    raise last


def slack_url_allowed(url: str) -> bool:
    """Whether `url` is one of Slack's own (settings.SLACK_URL_PREFIXES): a firm's webhook or a
    click's response_url elsewhere would have the app post into its own network (SSRF)."""
    return any(url.startswith(prefix) for prefix in settings.SLACK_URL_PREFIXES)


def slack_webhook_post(*, webhook_url: str, text: str, blocks: Blocks | None = None) -> None:
    """Post a message through an incoming webhook (the channel is the webhook's own)."""
    if not slack_url_allowed(webhook_url):
        # Checked when it was saved too; checked again in case the allowed prefixes changed.
        raise SlackAuthError("not_a_slack_webhook", "the webhook URL is not one of Slack's")
    payload: dict[str, Any] = {"text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    response = _send(lambda client: client.post(webhook_url, json=payload))
    if response.status_code != 200:
        # Slack's webhook errors are a bare code ("channel_not_found") in a text body.
        code = response.text.strip() or f"http_{response.status_code}"
        raise slack_error(code, f"webhook answered {response.status_code}")


def slack_message_post(
    *, token: str, channel: str, text: str, blocks: Blocks | None = None
) -> SlackPosted:
    """Post a message with chat.postMessage as the bot whose token this is."""
    payload: dict[str, Any] = {"channel": channel, "text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    url = f"{settings.SLACK_API_URL.rstrip('/')}/chat.postMessage"
    headers = {"Authorization": f"Bearer {token}"}
    response = _send(lambda client: client.post(url, json=payload, headers=headers))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SlackUnavailable(f"http_{response.status_code}", "chat.postMessage sent no JSON")
    if not body.get("ok"):
        messages = (body.get("response_metadata") or {}).get("messages") or []
        raise slack_error(str(body.get("error") or "unknown_error"), "; ".join(messages))
    return SlackPosted(channel=str(body.get("channel", "")), ts=str(body.get("ts", "")))


def _web_api_call(*, token: str, method: str, arguments: dict[str, str]) -> dict:
    """A read method of the Web API (form-encoded, as Slack accepts for every method); the
    body when ok, else the typed error of Slack's code."""
    url = f"{settings.SLACK_API_URL.rstrip('/')}/{method}"
    headers = {"Authorization": f"Bearer {token}"}
    response = _send(lambda client: client.post(url, data=arguments, headers=headers))
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SlackUnavailable(f"http_{response.status_code}", f"{method} sent no JSON")
    if not body.get("ok"):
        raise slack_error(str(body.get("error") or "unknown_error"), method)
    return body


@dataclass(frozen=True)
class SlackIdentity:
    """Whom a bot token belongs to: its workspace (team) and the bot user."""

    team_id: str
    team: str
    user_id: str


def slack_auth_test(*, token: str) -> SlackIdentity:
    """auth.test: the token works, and in which workspace (api.slack.com/methods/auth.test)."""
    body = _web_api_call(token=token, method="auth.test", arguments={})
    return SlackIdentity(
        team_id=str(body.get("team_id", "")),
        team=str(body.get("team", "")),
        user_id=str(body.get("user_id", "")),
    )


def slack_user_lookup_by_email(*, token: str, email: str) -> str | None:
    """users.lookupByEmail: the Slack user ID of the person whose profile has this email, or
    None when nobody in the workspace has it (`users_not_found`). Needs the users:read.email
    scope (api.slack.com/methods/users.lookupByEmail)."""
    try:
        body = _web_api_call(token=token, method="users.lookupByEmail", arguments={"email": email})
    except SlackChannelNotFound as exc:
        if exc.code == "users_not_found":
            return None
        raise
    user = body.get("user") or {}
    return str(user.get("id") or "") or None


def slack_response_post(
    *, response_url: str, text: str, blocks: Blocks | None = None, ephemeral: bool = True
) -> None:
    """Answer a click through the response_url Slack sent with it: by default an ephemeral
    message, which only the person who clicked sees (api.slack.com/interactivity/handling,
    "Message responses"). Slack answers 200 "ok", or a 4xx with a code like a webhook."""
    payload: dict[str, Any] = {
        "response_type": "ephemeral" if ephemeral else "in_channel",
        "replace_original": False,
        "text": text,
    }
    if blocks is not None:
        payload["blocks"] = blocks
    response = _send(lambda client: client.post(response_url, json=payload))
    if response.status_code != 200:
        code = response.text.strip() or f"http_{response.status_code}"
        raise slack_error(code, f"response_url answered {response.status_code}")
