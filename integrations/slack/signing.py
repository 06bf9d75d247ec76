"""Checking that an interactive request (a button clicked in Slack) really comes from Slack.

Slack's v0 scheme (api.slack.com/authentication/verifying-requests-from-slack): the request
carries `X-Slack-Request-Timestamp` (Unix seconds) and `X-Slack-Signature`, which is "v0=" and
the hex HMAC-SHA256, keyed with the app's signing secret, of "v0:<timestamp>:<raw body>". Slack
asks to reject a timestamp more than five minutes from now (a replayed request) and to compare
signatures in constant time. The raw body is the one that arrived, before any form parsing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.utils import timezone

# Slack's replay window.
MAX_AGE = dt.timedelta(minutes=5)


class SlackSignatureInvalid(Exception):
    """The request is not Slack's, or not any more: answer 401 and do nothing."""


def slack_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_request_verify(
    *,
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: dt.datetime | None = None,
) -> None:
    """Raise SlackSignatureInvalid unless Slack signed this body, within five minutes of `now`
    (the app's clock by default). Says why, for the log; the caller answers 401 whatever it is."""
    if not secret:
        raise SlackSignatureInvalid("no signing secret is configured (SLACK_SIGNING_SECRET)")
    if not timestamp or not signature:
        raise SlackSignatureInvalid("X-Slack-Request-Timestamp or X-Slack-Signature is missing")
    try:
        sent = dt.datetime.fromtimestamp(int(timestamp), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise SlackSignatureInvalid(
            f"X-Slack-Request-Timestamp {timestamp!r} is not a time"
        ) from None
    moment = now or timezone.now()
    if abs(moment - sent) > MAX_AGE:
        raise SlackSignatureInvalid(
            f"X-Slack-Request-Timestamp is {abs(moment - sent)} away from now (at most 5 minutes)"
        )
    expected = slack_signature(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SlackSignatureInvalid("X-Slack-Signature does not match the body")
