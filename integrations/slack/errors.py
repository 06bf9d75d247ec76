"""Errors of the Slack integration, one class per thing the sender can do about it.

Slack answers in two ways (the codes below are Slack's own):

- An incoming webhook answers a rejected message with a 4xx status and the error code as plain
  text: `invalid_payload`, `no_text`, `invalid_blocks` (400), `channel_not_found`, `no_service`,
  `no_team` (404), `action_prohibited`, `posting_to_general_channel_denied`, `invalid_token`
  (403), `channel_is_archived`, `team_disabled` (410)
  (api.slack.com/messaging/webhooks, "Handling errors").
- The Web API (chat.postMessage) answers HTTP 200 with `{"ok": false, "error": "..."}`:
  `not_authed`, `invalid_auth`, `token_revoked`, `account_inactive`, `channel_not_found`,
  `not_in_channel`, `is_archived`, `no_text`, `invalid_blocks`, `msg_too_long`, ...
  (api.slack.com/methods/chat.postMessage, "Errors").
- Both answer 429 with `Retry-After` (seconds) when over the rate limit, about one message per
  second per channel (api.slack.com/apis/rate-limits).
"""

from __future__ import annotations


class SlackError(Exception):
    """Base of every Slack integration error. `code` is Slack's error code, when it gave one."""

    advice = "Try again later."

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        text = f"Slack refused the message ({code})"
        if detail:
            text += f": {detail}"
        super().__init__(f"{text}. {self.advice}")


class SlackAuthError(SlackError):
    """The webhook URL or bot token no longer works: someone must connect Slack again."""

    advice = (
        "The Slack webhook URL or bot token is wrong, revoked or its workspace is gone: "
        "connect Slack again (a new incoming webhook, or reinstall the Slack app)."
    )


class SlackChannelNotFound(SlackError):
    advice = (
        "The channel does not exist, or the app cannot see it: check the channel's name "
        "or ID, and for a private channel invite the app to it (/invite @app)."
    )


class SlackForbidden(SlackError):
    """The channel exists but the app may not post there (not a member, archived, restricted)."""

    advice = (
        "The app may not post in this channel: invite it to the channel, unarchive the "
        "channel, or choose another one."
    )


class SlackMessageInvalid(SlackError):
    """The message itself is wrong (no text, bad blocks, too long): a bug on our side."""

    advice = "The message breaks Slack's Block Kit rules; it will not pass by retrying."


class SlackRateLimited(SlackError):
    def __init__(self, retry_after: float, detail: str = ""):
        self.retry_after = retry_after
        super().__init__("rate_limited", detail or f"Retry-After {retry_after:g} seconds")

    advice = "Slack allows about one message per second per channel: send it again later."


class SlackUnavailable(SlackError):
    """Slack kept failing (5xx, timeouts) after the retries."""

    advice = "Slack did not answer in time or failed; the message can be sent again later."


_AUTH = {
    "not_authed",
    "invalid_auth",
    "invalid_token",
    "token_revoked",
    "token_expired",
    "account_inactive",
    "no_service",
    "no_service_id",
    "no_team",
    "team_disabled",
    "missing_scope",
    "not_allowed_token_type",
}
_CHANNEL = {"channel_not_found", "user_not_found", "users_not_found"}
_FORBIDDEN = {
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
    "action_prohibited",
    "posting_to_general_channel_denied",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
    "ekm_access_denied",
}
_MESSAGE = {
    "invalid_payload",
    "no_text",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "msg_blocks_too_long",
    "too_many_attachments",
    "invalid_arguments",
    "invalid_form_data",
    "invalid_json",
    "json_not_object",
}


def slack_error(code: str, detail: str = "") -> SlackError:
    """The typed error for one of Slack's error codes; an unknown code is taken as a passing
    failure, so it is retried rather than lost."""
    for codes, kind in (
        (_AUTH, SlackAuthError),
        (_CHANNEL, SlackChannelNotFound),
        (_FORBIDDEN, SlackForbidden),
        (_MESSAGE, SlackMessageInvalid),
    ):
        if code in codes:
            return kind(code, detail)
    return SlackUnavailable(code, detail)
