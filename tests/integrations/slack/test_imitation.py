"""The Slack imitation checks messages as Slack does and clicks buttons as Slack would."""

import json
from urllib.parse import parse_qs

import httpx
import pytest

from integrations.slack.client import slack_message_post, slack_webhook_post
from integrations.slack.imitation.app import BOT_TOKEN, TEAM_ID, SlackImitation
from integrations.slack.imitation.blocks import message_problems
from integrations.slack.imitation.interactions import interaction_request, interaction_send
from integrations.slack.signing import SlackSignatureInvalid, slack_request_verify
from tests.served import served


def _section(length: int) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": "x" * length}}


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        ([_section(3000)], None),
        ([_section(3001)], "invalid_blocks"),
        ([{"type": "divider"}] * 50, None),
        ([{"type": "divider"}] * 51, "invalid_blocks"),
        ([{"type": "table"}], "invalid_blocks"),
        ([{"type": "section"}], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "Rent"}}], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "invalid_blocks"),
        ([{"type": "actions", "elements": []}], "invalid_blocks"),
        ({"type": "divider"}, "invalid_blocks_format"),
    ],
)
def test_blocks_are_checked_against_slacks_limits(blocks, problem):
    found = message_problems({"text": "fallback", "blocks": blocks})

    assert (found and found[0]) == problem


def test_a_message_needs_text_or_blocks():
    assert message_problems({})[0] == "no_text"
    assert message_problems({"blocks": [{"type": "divider"}]}) is None


def test_a_webhook_body_that_is_not_json_is_an_invalid_payload():
    imitation = SlackImitation()
    url = imitation.webhook_add("C0ALERTS")

    with httpx.Client(transport=httpx.WSGITransport(app=imitation)) as client:
        response = client.post(url, content=b"text=hello", headers={"Content-Type": "text/plain"})

    assert (response.status_code, response.text) == (400, "invalid_payload")
    assert imitation.messages == []


APPROVAL = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Harbour Lane Café's forecast"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve…"},
                "value": "step-41",
                "style": "primary",
            },
            {
                "type": "button",
                "action_id": "reject",
                "text": {"type": "plain_text", "text": "Ask for changes…"},
                "value": "step-41",
            },
        ],
    },
]


def test_a_click_is_a_signed_block_actions_payload_of_the_button_and_the_person(slack, settings):
    posted = slack_message_post(
        token=BOT_TOKEN, channel="#approvals", text="Approve?", blocks=APPROVAL
    )
    [message] = slack.messages

    request = interaction_request(slack, message=message, action_id="reject", user_id="U0APPROVER")

    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    [raw] = parse_qs(request.body.decode())["payload"]
    payload = json.loads(raw)
    assert payload == request.payload
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": "U0APPROVER",
        "username": "approver",
        "name": "approver",
        "team_id": TEAM_ID,
    }
    assert payload["container"]["message_ts"] == posted.ts
    assert payload["channel"] == {"id": "C0APPROVALS", "name": "approvals"}
    [action] = payload["actions"]
    assert (action["type"], action["action_id"], action["block_id"], action["value"]) == (
        "button",
        "reject",
        "decision",
        "step-41",
    )
    slack_request_verify(
        secret=settings.SLACK_SIGNING_SECRET,
        timestamp=request.headers["X-Slack-Request-Timestamp"],
        signature=request.headers["X-Slack-Signature"],
        body=request.body,
    )


def test_only_a_button_the_message_has_can_be_clicked_by_a_person_slack_knows(slack):
    slack_message_post(token=BOT_TOKEN, channel="#approvals", text="Approve?", blocks=APPROVAL)
    [message] = slack.messages

    with pytest.raises(LookupError, match="no button 'delete'"):
        interaction_request(slack, message=message, action_id="delete", user_id="U0APPROVER")
    with pytest.raises(LookupError, match="no user"):
        interaction_request(slack, message=message, action_id="approve", user_id="U0STRANGER")


def _receiver(secret: str, seen: list):
    """An app's Request URL: verifies as the product will, answers 401 or 200."""

    def app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            slack_request_verify(
                secret=secret,
                timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
                signature=environ.get("HTTP_X_SLACK_SIGNATURE"),
                body=body,
            )
        except SlackSignatureInvalid:
            start_response("401 Unauthorized", [("Content-Type", "text/plain")])
            return [b""]
        seen.append((environ["PATH_INFO"], body))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    return app


@pytest.mark.parametrize(("secret", "status"), [("imitation-signing-secret", 200), ("other", 401)])
def test_a_click_is_sent_to_the_apps_url(slack, secret, status):
    slack_message_post(token=BOT_TOKEN, channel="#approvals", text="Approve?", blocks=APPROVAL)
    [message] = slack.messages
    seen: list = []

    response = interaction_send(
        slack,
        url="http://testserver/slack/interactions/",
        message=message,
        action_id="approve",
        user_id="U0APPROVER",
        transport=httpx.WSGITransport(app=_receiver(secret, seen)),
    )

    assert response.status_code == status
    assert [path for path, _ in seen] == (["/slack/interactions/"] if status == 200 else [])


def test_a_product_in_another_process_drives_the_imitation_over_http(settings):
    imitation = SlackImitation()

    with served(imitation) as base_url, httpx.Client(base_url=base_url, timeout=5) as control:
        settings.SLACK_URL_PREFIXES = [f"{base_url}/"]  # the imitation stands in for Slack
        made = control.post(
            "/_imitation/webhooks", json={"channel": "C0ALERTS", "base_url": base_url}
        )
        fault = control.post("/_imitation/faults", json={"kind": "rate_limit", "retry_after": 0})
        slack_webhook_post(webhook_url=made.json()["url"], text="Rent is over budget")
        settings.SLACK_API_URL = f"{base_url}/api"
        slack_message_post(token=BOT_TOKEN, channel="C0ALERTS", text="Two drafts await you")
        listed = control.get("/_imitation/messages").json()["messages"]

    assert (made.status_code, fault.status_code) == (201, 201)
    assert [(m["via"], m["channel"], m["text"]) for m in listed] == [
        ("webhook", "C0ALERTS", "Rent is over budget"),
        ("chat.postMessage", "C0ALERTS", "Two drafts await you"),
    ]


def test_the_demo_posts_to_its_in_process_imitation(settings):
    from integrations.slack.http import slack_imitation_inprocess

    settings.SLACK_TRANSPORT = "inprocess"
    before = len(slack_imitation_inprocess().messages)

    posted = slack_message_post(
        token=BOT_TOKEN, channel="#budget-alerts", text="Hello from the demo"
    )

    assert [m.ts for m in slack_imitation_inprocess().messages[before:]] == [posted.ts]
