"""Slack's request signatures: only a request Slack signed, in the last five minutes, passes."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from integrations.slack.client import slack_message_post
from integrations.slack.imitation.app import BOT_TOKEN
from integrations.slack.imitation.interactions import interaction_request
from integrations.slack.signing import SlackSignatureInvalid, slack_request_verify

SECRET = "imitation-signing-secret"
BUTTON = [
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve…"},
                "value": "step-1",
            }
        ],
    }
]


@pytest.fixture
def click(slack):
    """A signed click on a real message of the imitation, made at `timestamp` if given."""
    slack_message_post(token=BOT_TOKEN, channel="C0APPROVALS", text="Approve?", blocks=BUTTON)
    [message] = slack.messages

    def make(**options):
        return interaction_request(
            slack, message=message, action_id="approve", user_id="U0APPROVER", **options
        )

    return make


def _verify(request, *, body=None, secret=SECRET, timestamp=..., signature=..., now=None):
    slack_request_verify(
        secret=secret,
        timestamp=request.headers["X-Slack-Request-Timestamp"] if timestamp is ... else timestamp,
        signature=request.headers["X-Slack-Signature"] if signature is ... else signature,
        body=request.body if body is None else body,
        now=now,
    )


def test_a_click_signed_by_slack_passes(click):
    _verify(click())


def test_a_click_at_the_edge_of_five_minutes_passes(click):
    now = timezone.now().replace(microsecond=0)
    stamp = int(now.timestamp())

    _verify(click(timestamp=stamp - 300), now=now)
    _verify(click(timestamp=stamp + 300), now=now)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b"payload=%7B%22type%22%3A%22block_actions%22%7D"}, "does not match"),
        ({"secret": "another-apps-secret"}, "does not match"),
        ({"signature": "v0=" + "0" * 64}, "does not match"),
        ({"signature": None}, "missing"),
        ({"timestamp": None}, "missing"),
        ({"timestamp": ""}, "missing"),
        ({"timestamp": "yesterday"}, "not a time"),
        ({"secret": ""}, "no signing secret"),
    ],
)
def test_a_tampered_or_unsigned_click_is_refused(click, change, reason):
    with pytest.raises(SlackSignatureInvalid, match=reason):
        _verify(click(), **change)


def test_a_signature_made_with_another_secret_is_refused(click):
    with pytest.raises(SlackSignatureInvalid, match="does not match"):
        _verify(click(signing_secret="another-apps-secret"))


def test_a_body_changed_by_one_byte_is_refused(click):
    request = click()
    tampered = request.body.replace(b"U0APPROVER", b"U0PREPARER")
    assert tampered != request.body

    with pytest.raises(SlackSignatureInvalid, match="does not match"):
        _verify(request, body=tampered)


@pytest.mark.parametrize("seconds", [-301, 301, -86400, 86400])
def test_a_stale_or_future_click_is_refused_even_when_signed(click, seconds):
    now = timezone.now().replace(microsecond=0)

    with pytest.raises(SlackSignatureInvalid, match="at most 5 minutes"):
        _verify(click(timestamp=int(now.timestamp()) + seconds), now=now)


def test_a_replay_is_refused_once_the_clock_has_moved_on(click):
    request = click()
    _verify(request)

    later = timezone.now() + dt.timedelta(minutes=6)
    with (
        time_machine.travel(later, tick=False),
        pytest.raises(SlackSignatureInvalid, match="at most 5 minutes"),
    ):
        _verify(request)
