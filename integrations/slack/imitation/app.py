"""The Slack imitation as a WSGI application: incoming webhooks (`/services/T.../B.../secret`),
the Web API's chat.postMessage (`/api/chat.postMessage`), what it received, and its faults.

It answers as Slack documents:
- a webhook: 200 "ok" (text/html); a refusal is a 4xx with the code as plain text:
  400 invalid_payload (not JSON), no_text, invalid_blocks; 404 no_service (unknown or removed
  webhook), channel_not_found (its channel is gone); 410 channel_is_archived
  (api.slack.com/messaging/webhooks, "Handling errors");
- chat.postMessage: always 200 with {"ok": ...}: not_authed (no token), invalid_auth (unknown
  token), channel_not_found, not_in_channel (the bot is not a member), is_archived, no_text,
  invalid_blocks with `response_metadata.messages`, msg_too_long; success gives the channel's
  ID, the message's `ts` and the message (api.slack.com/methods/chat.postMessage);
- a 429 carries Retry-After in seconds (api.slack.com/apis/rate-limits).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from integrations.slack.imitation.blocks import message_problems

TEAM_ID = "T0IMITATE"
TEAM_DOMAIN = "ledgerline-imitation"
BOT_ID = "B0BUDGETS"
BOT_TOKEN = "xoxb-imitation-bot-token"
SIGNING_SECRET = "imitation-signing-secret"

StartResponse = Callable[..., Any]


@dataclass
class Channel:
    id: str
    name: str
    # A bot posts only where it is a member (private channels: after /invite).
    is_member: bool = True
    is_archived: bool = False


@dataclass(frozen=True)
class RecordedMessage:
    """One message as the imitation received it: `payload` is the JSON exactly as sent."""

    via: str  # "webhook" or "chat.postMessage"
    channel: str  # the channel's ID
    ts: str
    text: str | None
    blocks: list | None
    payload: dict
    # An ephemeral answer is shown to this one Slack user only.
    user: str | None = None


@dataclass
class Fault:
    kind: str  # "status", "rate_limit" or "timeout"
    endpoint: str = "*"  # "webhook", "chat.postMessage" or "*"
    count: int = 1
    status: int = 500
    retry_after: int = 1
    delay: float = 1.0  # "timeout": how long the imitation keeps the request before a 504

    def __post_init__(self) -> None:
        if self.kind not in ("status", "rate_limit", "timeout"):
            raise ValueError(f"unknown fault kind {self.kind!r}")


@dataclass
class SlackImitation:
    signing_secret: str = SIGNING_SECRET
    channels: dict[str, Channel] = field(
        default_factory=lambda: {
            c.id: c
            for c in (
                Channel("C0ALERTS", "budget-alerts"),
                Channel("C0APPROVALS", "approvals"),
                Channel("C0PARTNERS", "partners", is_member=False),
            )
        }
    )
    bot_tokens: set[str] = field(default_factory=lambda: {BOT_TOKEN})
    # Slack user ID -> profile, for interactive payloads (and later, mapping people to members).
    users: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "U0APPROVER": {"name": "approver", "email": "approver@example.com"},
            "U0PREPARER": {"name": "preparer", "email": "preparer@example.com"},
        }
    )

    # Where the imitation is reached: the base of its response URLs (as Slack's are on
    # hooks.slack.com), so the app's answer to a click comes back here.
    base_url: str = "http://slack-imitation.test"

    def __post_init__(self) -> None:
        self.webhooks: dict[str, str] = {}  # path -> channel ID
        # Response URLs handed out with interactions: path -> (channel ID, user ID).
        self.response_urls: dict[str, tuple[str, str]] = {}
        self.messages: list[RecordedMessage] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self._sequence = itertools.count(1)

    # --- set-up and inspection (tests and the demo call these directly) ---

    def webhook_add(self, channel_id: str, *, base_url: str = "http://slack-imitation.test") -> str:
        """A new incoming webhook into the channel; its URL, as Slack shows it once."""
        with self.lock:
            number = next(self._sequence)
            path = f"/services/{TEAM_ID}/B{number:08d}/imitation{number:016d}"
            self.webhooks[path] = channel_id
        return base_url.rstrip("/") + path

    def webhook_remove(self, url: str) -> None:
        with self.lock:
            self.webhooks = {p: c for p, c in self.webhooks.items() if not url.endswith(p)}

    def fault_add(self, **spec: Any) -> Fault:
        fault = Fault(**spec)
        with self.lock:
            self.faults.append(fault)
        return fault

    def messages_in(self, channel_id: str) -> list[RecordedMessage]:
        with self.lock:
            return [m for m in self.messages if m.channel == channel_id]

    # --- WSGI ---

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        if path.startswith("/_imitation/"):
            return self._control(method, path, body, start_response)
        if path.startswith("/services/"):
            endpoint = "webhook"
        elif path == "/api/chat.postMessage":
            endpoint = "chat.postMessage"
        elif path in ("/api/auth.test", "/api/users.lookupByEmail"):
            return self._web_api(path.removeprefix("/api/"), environ, body, start_response)
        elif path.startswith("/actions/"):
            return self._response_url(path, environ, body, start_response)
        else:
            return _json(start_response, 404, {"ok": False, "error": "unknown_method"})
        if method != "POST":
            return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
        fault = self._fault_for(endpoint)
        if fault is not None:
            return self._fault_answer(fault, endpoint, start_response)
        if endpoint == "webhook":
            return self._webhook(path, environ, body, start_response)
        return self._post_message(environ, body, start_response)

    def _control(self, method: str, path: str, body: bytes, start_response: StartResponse):
        """The control API, for a product in another process (a worker, the demo's server):
        GET /_imitation/messages, POST /_imitation/faults (a Fault as JSON),
        POST /_imitation/webhooks ({"channel": id}: the new webhook's URL)."""
        try:
            data = json.loads(body or b"{}")
            if method == "GET" and path == "/_imitation/messages":
                with self.lock:
                    listed = [dataclasses.asdict(m) for m in self.messages]
                return _json(start_response, 200, {"messages": listed})
            if method == "POST" and path == "/_imitation/faults":
                return _json(start_response, 201, dataclasses.asdict(self.fault_add(**data)))
            if method == "POST" and path == "/_imitation/users":
                with self.lock:
                    self.users[str(data["id"])] = {
                        "name": str(data["name"]),
                        "email": str(data["email"]),
                    }
                return _json(start_response, 201, {"ok": True})
            if method == "POST" and path == "/_imitation/webhooks":
                url = self.webhook_add(str(data["channel"]), base_url=data.get("base_url", ""))
                return _json(start_response, 201, {"url": url})
        except (ValueError, TypeError, KeyError) as exc:
            return _json(start_response, 400, {"ok": False, "error": str(exc)})
        return _json(start_response, 404, {"ok": False, "error": "unknown_control"})

    def _fault_for(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.endpoint in ("*", endpoint):
                    fault.count -= 1
                    return fault
        return None

    def _fault_answer(self, fault: Fault, endpoint: str, start_response: StartResponse):
        if fault.kind == "rate_limit":
            headers = [("Retry-After", str(fault.retry_after))]
            if endpoint == "webhook":
                return _text(start_response, 429, "rate_limited", headers)
            return _json(start_response, 429, {"ok": False, "error": "ratelimited"}, headers)
        if fault.kind == "timeout":
            # Served over HTTP, a client with a shorter timeout gives up first (a real timeout).
            time.sleep(fault.delay)
            return _text(start_response, 504, "upstream_timeout")
        return _text(start_response, fault.status, "internal_error")

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._sequence):06d}"

    def _record(self, via: str, channel: Channel, payload: dict) -> RecordedMessage:
        message = RecordedMessage(
            via=via,
            channel=channel.id,
            ts=self._ts(),
            text=payload.get("text"),
            blocks=payload.get("blocks"),
            payload=payload,
        )
        self.messages.append(message)
        return message

    def _webhook(self, path: str, environ: dict, body: bytes, start_response: StartResponse):
        payload = _payload(environ, body)
        with self.lock:
            channel_id = self.webhooks.get(path)
            if channel_id is None:
                return _text(start_response, 404, "no_service")
            channel = self.channels.get(channel_id)
            if channel is None:
                return _text(start_response, 404, "channel_not_found")
            if channel.is_archived:
                return _text(start_response, 410, "channel_is_archived")
            if not isinstance(payload, dict):
                return _text(start_response, 400, "invalid_payload")
            problem = message_problems(payload)
            if problem is not None:
                return _text(start_response, 400, problem[0])
            self._record("webhook", channel, payload)
        return _text(start_response, 200, "ok")

    def _post_message(self, environ: dict, body: bytes, start_response: StartResponse):
        payload = _payload(environ, body)
        if not isinstance(payload, dict):
            return _json(start_response, 200, {"ok": False, "error": "invalid_json"})
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        token = token or str(payload.get("token") or "")
        with self.lock:
            if not token:
                return _json(start_response, 200, {"ok": False, "error": "not_authed"})
            if token not in self.bot_tokens:
                return _json(start_response, 200, {"ok": False, "error": "invalid_auth"})
            channel = self._channel(str(payload.get("channel") or ""))
            if channel is None:
                return _json(start_response, 200, {"ok": False, "error": "channel_not_found"})
            if channel.is_archived:
                return _json(start_response, 200, {"ok": False, "error": "is_archived"})
            if not channel.is_member:
                return _json(start_response, 200, {"ok": False, "error": "not_in_channel"})
            problem = message_problems(payload)
            if problem is not None:
                answer: dict[str, Any] = {"ok": False, "error": problem[0]}
                if problem[1]:
                    answer["response_metadata"] = {"messages": problem[1]}
                return _json(start_response, 200, answer)
            message = self._record("chat.postMessage", channel, payload)
        return _json(
            start_response,
            200,
            {
                "ok": True,
                "channel": channel.id,
                "ts": message.ts,
                "message": {
                    "type": "message",
                    "subtype": "bot_message",
                    "bot_id": BOT_ID,
                    "text": message.text or "",
                    "ts": message.ts,
                    **({"blocks": message.blocks} if message.blocks else {}),
                },
            },
        )

    def _web_api(self, method: str, environ: dict, body: bytes, start_response: StartResponse):
        """auth.test (who the token is: its team) and users.lookupByEmail (a person by their
        Slack profile's email; needs users:read.email), both with the bot token, answering
        200 {"ok": ...} as the Web API does (api.slack.com/methods/auth.test,
        .../users.lookupByEmail). Arguments come as a form or JSON, or in the query string."""
        payload = _payload(environ, body) or {}
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        arguments = {**query, **(payload if isinstance(payload, dict) else {})}
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        token = token or str(arguments.get("token") or "")
        if not token:
            return _json(start_response, 200, {"ok": False, "error": "not_authed"})
        if token not in self.bot_tokens:
            return _json(start_response, 200, {"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return _json(
                start_response,
                200,
                {
                    "ok": True,
                    "url": f"https://{TEAM_DOMAIN}.slack.com/",
                    "team": "Ledgerline imitation",
                    "user": "budgets",
                    "team_id": TEAM_ID,
                    "user_id": "U0BUDGETSBOT",
                    "bot_id": BOT_ID,
                },
            )
        email = str(arguments.get("email") or "").strip().lower()
        if not email:
            return _json(start_response, 200, {"ok": False, "error": "invalid_arguments"})
        with self.lock:
            found = next(
                (
                    (uid, profile)
                    for uid, profile in self.users.items()
                    if profile.get("email", "").lower() == email
                ),
                None,
            )
        if found is None:
            return _json(start_response, 200, {"ok": False, "error": "users_not_found"})
        uid, profile = found
        return _json(
            start_response,
            200,
            {
                "ok": True,
                "user": {
                    "id": uid,
                    "team_id": TEAM_ID,
                    "name": profile["name"],
                    "deleted": False,
                    "is_bot": False,
                    "profile": {
                        "email": profile["email"],
                        "real_name": profile.get("real_name", profile["name"]),
                        "display_name": profile["name"],
                    },
                },
            },
        )

    def response_url_add(self, channel_id: str, user_id: str) -> str:
        """A response URL for one interaction, as Slack hands out with each click."""
        with self.lock:
            number = next(self._sequence)
            path = f"/actions/{TEAM_ID}/{number:010d}/imitation{number:012d}"
            self.response_urls[path] = (channel_id, user_id)
        return self.base_url.rstrip("/") + path

    def _response_url(self, path: str, environ: dict, body: bytes, start_response):
        """The app answering a click through its response_url: a JSON message, "ephemeral"
        (only the person who clicked sees it) or "in_channel"; Slack answers 200 "ok"
        (api.slack.com/interactivity/handling#message_responses)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return _text(start_response, 405, "method_not_allowed")
        payload = _payload(environ, body)
        with self.lock:
            target = self.response_urls.get(path)
            if target is None:
                return _text(start_response, 404, "no_service")
            if not isinstance(payload, dict):
                return _text(start_response, 400, "invalid_payload")
            problem = message_problems(payload)
            if problem is not None:
                return _text(start_response, 400, problem[0])
            channel_id, user_id = target
            kind = payload.get("response_type") or "ephemeral"
            message = RecordedMessage(
                via=f"response_url:{kind}",
                channel=channel_id,
                ts=self._ts(),
                text=payload.get("text"),
                blocks=payload.get("blocks"),
                payload=payload,
                user=user_id if kind == "ephemeral" else None,
            )
            self.messages.append(message)
        return _text(start_response, 200, "ok")

    def _channel(self, wanted: str) -> Channel | None:
        """A channel by ID or by name ("#budget-alerts" or "budget-alerts"), as Slack accepts."""
        if wanted in self.channels:
            return self.channels[wanted]
        name = wanted.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name), None)


def _payload(environ: dict, body: bytes) -> Any:
    """The message as Slack reads it: a JSON body, or a form with a JSON `payload` (webhooks) or
    plain fields whose `blocks` is JSON text (the Web API)."""
    content_type = environ.get("CONTENT_TYPE", "")
    try:
        if "application/x-www-form-urlencoded" in content_type:
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if "payload" in form:
                return json.loads(form["payload"])
            if "blocks" in form:
                form["blocks"] = json.loads(form["blocks"])
            return form
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None


def _text(start_response: StartResponse, status: int, text: str, headers=()) -> list[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "text/html"), *headers],
    )
    return [text.encode()]


def _json(start_response: StartResponse, status: int, body: dict, headers=()) -> list[bytes]:
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "application/json; charset=utf-8"), *headers],
    )
    return [json.dumps(body).encode()]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
