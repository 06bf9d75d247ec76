"""Posting to Slack through the product's client, against the Slack imitation in-process."""

import time

import pytest

from integrations.slack.client import SlackPosted, slack_message_post, slack_webhook_post
from integrations.slack.errors import (
    SlackAuthError,
    SlackChannelNotFound,
    SlackForbidden,
    SlackMessageInvalid,
    SlackRateLimited,
    SlackUnavailable,
)
from integrations.slack.imitation.app import BOT_TOKEN, SlackImitation
from tests.served import served

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Harbour Lane Café: Rent"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Rent* is NZ$1,240.00 over budget (12.4%)."},
    },
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve…"},
                "value": "step-1",
                "style": "primary",
            }
        ],
    },
]


def test_a_webhook_message_arrives_with_the_exact_payload(slack):
    url = slack.webhook_add("C0ALERTS")

    slack_webhook_post(webhook_url=url, text="Rent is over budget", blocks=BLOCKS)

    [message] = slack.messages
    assert (message.via, message.channel) == ("webhook", "C0ALERTS")
    assert message.payload == {"text": "Rent is over budget", "blocks": BLOCKS}


def test_chat_post_message_arrives_with_the_exact_payload_and_names_it(slack):
    posted = slack_message_post(
        token=BOT_TOKEN, channel="#budget-alerts", text="Rent is over budget", blocks=BLOCKS
    )

    [message] = slack.messages_in("C0ALERTS")
    assert posted == SlackPosted(channel="C0ALERTS", ts=message.ts)
    assert message.via == "chat.postMessage"
    assert message.payload == {
        "channel": "#budget-alerts",
        "text": "Rent is over budget",
        "blocks": BLOCKS,
    }


def test_a_message_of_text_alone_arrives(slack):
    slack_message_post(token=BOT_TOKEN, channel="C0APPROVALS", text="Two drafts await you")

    assert [(m.channel, m.text, m.blocks) for m in slack.messages] == [
        ("C0APPROVALS", "Two drafts await you", None)
    ]


def _removed_webhook(slack: SlackImitation) -> str:
    url = slack.webhook_add("C0ALERTS")
    slack.webhook_remove(url)
    return url


def _deleted_channel(slack: SlackImitation) -> str:
    url = slack.webhook_add("C0ALERTS")
    del slack.channels["C0ALERTS"]
    return url


def _archived_channel(slack: SlackImitation) -> str:
    slack.channels["C0ALERTS"].is_archived = True
    return slack.webhook_add("C0ALERTS")


TOO_LONG = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]


@pytest.mark.parametrize(
    ("make_url", "text", "blocks", "error", "code"),
    [
        (_removed_webhook, "hi", None, SlackAuthError, "no_service"),
        (_deleted_channel, "hi", None, SlackChannelNotFound, "channel_not_found"),
        (_archived_channel, "hi", None, SlackForbidden, "channel_is_archived"),
        (lambda s: s.webhook_add("C0ALERTS"), "", None, SlackMessageInvalid, "no_text"),
        (
            lambda s: s.webhook_add("C0ALERTS"),
            "hi",
            TOO_LONG,
            SlackMessageInvalid,
            "invalid_blocks",
        ),
    ],
)
def test_each_webhook_error_is_its_own_exception_saying_what_to_do(
    slack, make_url, text, blocks, error, code
):
    url = make_url(slack)

    with pytest.raises(error) as raised:
        slack_webhook_post(webhook_url=url, text=text, blocks=blocks)

    assert raised.value.code == code
    assert raised.value.advice in str(raised.value)
    assert slack.messages == []


@pytest.mark.parametrize(
    ("token", "channel", "blocks", "error", "code"),
    [
        ("", "C0ALERTS", None, SlackAuthError, "not_authed"),
        ("xoxb-revoked", "C0ALERTS", None, SlackAuthError, "invalid_auth"),
        (BOT_TOKEN, "#no-such-channel", None, SlackChannelNotFound, "channel_not_found"),
        (BOT_TOKEN, "#partners", None, SlackForbidden, "not_in_channel"),
        (BOT_TOKEN, "C0ALERTS", TOO_LONG, SlackMessageInvalid, "invalid_blocks"),
        (BOT_TOKEN, "C0ALERTS", [{"type": "table"}], SlackMessageInvalid, "invalid_blocks"),
    ],
)
def test_each_web_api_error_is_its_own_exception(slack, token, channel, blocks, error, code):
    with pytest.raises(error) as raised:
        slack_message_post(token=token, channel=channel, text="hi", blocks=blocks)

    assert raised.value.code == code
    assert slack.messages == []


def test_invalid_blocks_name_the_block_and_the_limit(slack):
    with pytest.raises(SlackMessageInvalid) as raised:
        slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="hi", blocks=TOO_LONG)

    assert "must be less than 3001 characters [json-pointer:/blocks/0/text/text]" in str(
        raised.value
    )


def test_a_429_is_waited_out_for_its_retry_after_then_sent_once(slack):
    url = slack.webhook_add("C0ALERTS")
    slack.fault_add(kind="rate_limit", endpoint="webhook", retry_after=1)

    started = time.perf_counter()
    slack_webhook_post(webhook_url=url, text="Rent is over budget")

    assert time.perf_counter() - started >= 1.0
    assert [m.text for m in slack.messages] == ["Rent is over budget"]


def test_a_429_on_chat_post_message_is_waited_out_too(slack):
    slack.fault_add(kind="rate_limit", endpoint="chat.postMessage", retry_after=1)

    started = time.perf_counter()
    posted = slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="hi")

    assert time.perf_counter() - started >= 1.0
    assert [m.ts for m in slack.messages] == [posted.ts]


def test_a_retry_after_longer_than_the_bound_is_not_waited_for(slack, settings):
    settings.SLACK_RETRY_AFTER_MAX = 5
    slack.fault_add(kind="rate_limit", retry_after=60)

    started = time.perf_counter()
    with pytest.raises(SlackRateLimited) as raised:
        slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="hi")

    assert time.perf_counter() - started < 5
    assert raised.value.retry_after == 60
    assert slack.messages == []


def test_rate_limited_past_every_attempt_raises_rate_limited(slack, settings):
    settings.SLACK_RETRY_ATTEMPTS = 3
    fault = slack.fault_add(kind="rate_limit", retry_after=0, count=10)

    with pytest.raises(SlackRateLimited):
        slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="hi")

    assert fault.count == 7  # three attempts, then it stops
    assert slack.messages == []


def test_a_500_is_retried_and_the_message_arrives_once(slack):
    url = slack.webhook_add("C0ALERTS")
    slack.fault_add(kind="status", status=500)

    slack_webhook_post(webhook_url=url, text="hi")

    assert len(slack.messages) == 1


def test_slack_failing_every_attempt_raises_unavailable(slack, settings):
    settings.SLACK_RETRY_ATTEMPTS = 2
    slack.fault_add(kind="status", status=503, count=5)

    with pytest.raises(SlackUnavailable) as raised:
        slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="hi")

    assert raised.value.code == "http_503"
    assert slack.messages == []


def test_a_timeout_is_not_retried_since_slack_may_have_posted_it(settings):
    imitation = SlackImitation()
    fault = imitation.fault_add(kind="timeout", delay=1.0, count=2)
    settings.SLACK_TIMEOUT_SECONDS = 0.2
    settings.SLACK_RETRY_ATTEMPTS = 3

    with served(imitation) as base_url:
        settings.SLACK_URL_PREFIXES = [f"{base_url}/"]  # the imitation stands in for Slack
        url = imitation.webhook_add("C0ALERTS", base_url=base_url)
        with pytest.raises(SlackUnavailable, match="may have arrived") as raised:
            slack_webhook_post(webhook_url=url, text="hi")

    assert raised.value.code == "timeout"
    assert fault.count == 1  # one request, no retry
    assert imitation.messages == []


def test_a_refused_connection_is_retried_then_raises_unavailable(settings):
    settings.SLACK_RETRY_ATTEMPTS = 2
    with served(SlackImitation()) as base_url:
        settings.SLACK_URL_PREFIXES = [f"{base_url}/"]
    # The port is closed now: nothing listens there.

    with pytest.raises(SlackUnavailable) as raised:
        slack_webhook_post(webhook_url=f"{base_url}/services/T0/B0/x", text="hi")

    assert raised.value.code == "connection_error"
