"""Approvals in Slack: a step's request arrives in the firm's channel (beside the email), and
its buttons open the SAME confirmation as the email link, for a member linked to the Slack user
who clicked and allowed by every segregation-of-duties rule; anyone else is told why, in Slack.
Slack's signature is checked, a stale or replayed request refused. The imitation is served over
real HTTP: the app posts to it and answers the click through its response URL."""

import datetime as dt
import re
import secrets
import time

import pytest
from django.utils import timezone

from budgeting.approvals import reminders
from budgeting.approvals.slack import button_read
from budgeting.models import ApprovalDecision, ApprovalLink
from integrations.slack.imitation.app import TEAM_ID
from integrations.slack.imitation.interactions import interaction_request
from integrations.slack.services import slack_member_set
from tests.budgeting.approval_data import _pending, _statuses, _submit
from tests.slack import slack_served, slack_turn_on

URL = "/integrations/slack/interactions/"


@pytest.fixture
def client(client):
    # Sign-off links are rate limited per client address: one of its own for each test.
    client.defaults["REMOTE_ADDR"] = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9"
    return client


@pytest.fixture
def imitation(settings):
    with slack_served(settings) as served_imitation:
        yield served_imitation


@pytest.fixture
def in_slack(chain, imitation, django_capture_on_commit_callbacks):
    """Firm A's chain with Slack on (the imitation's workspace), its approver linked to
    U0APPROVER and its owner (who prepared the draft) to U0PREPARER; the draft submitted."""
    slack_turn_on(chain.firm, channel="C0APPROVALS", team_id=TEAM_ID)
    slack_member_set(
        firm=chain.firm, member=chain.member("approver").user, slack_user_id="U0APPROVER", by=None
    )
    slack_member_set(
        firm=chain.firm, member=chain.member("owner").user, slack_user_id="U0PREPARER", by=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    chain.imitation = imitation
    return chain


def _click(client, imitation, message, action_id, user_id, **options):
    request = interaction_request(
        imitation, message=message, action_id=action_id, user_id=user_id, **options
    )
    headers = {k: v for k, v in request.headers.items() if k.startswith("X-Slack")}
    return client.post(
        URL, request.body, content_type="application/x-www-form-urlencoded", headers=headers
    )


def _replies(imitation, user_id):
    return [
        m for m in imitation.messages if m.via == "response_url:ephemeral" and m.user == user_id
    ]


def _posted(imitation):
    """The messages the app posted into the channel (not the answers to clicks)."""
    return [m for m in imitation.messages_in("C0APPROVALS") if m.via == "chat.postMessage"]


def _link_url(reply) -> str:
    [button] = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
    return button["url"]


def _slack_links(cast):
    return ApprovalLink.objects.for_firm(cast.firm).filter(channel="slack")


def test_a_step_request_arrives_in_the_channel_with_its_approvers_and_buttons(in_slack):
    [message] = _posted(in_slack.imitation)
    assert in_slack.organisation.name in message.text
    body = " ".join(
        b["text"]["text"] for b in message.blocks if b["type"] == "section" and "text" in b
    )
    assert "<@U0APPROVER>" in body  # the linked approver is mentioned
    assert "Step 1: *Manager*" in body
    actions = [
        e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == ["approval_approve", "approval_request_changes", "approval_view"]


def test_an_approver_clicks_approve_confirms_on_the_link_page_and_the_decision_is_slacks(
    client, in_slack
):
    imitation = in_slack.imitation
    [message] = _posted(imitation)

    response = _click(client, imitation, message, "approval_approve", "U0APPROVER")

    assert response.status_code == 200
    [reply] = _replies(imitation, "U0APPROVER")
    assert "confirm on the sign-off page" in reply.text
    # A click decides nothing.
    assert _statuses(_pending(in_slack)) == ["open", "waiting", "skipped"]
    url = _link_url(reply)
    path = url.removeprefix("http://testserver")
    page = client.get(path)
    assert page.status_code == 200
    assert "You came from Slack, choosing <strong>Approve</strong>" in page.content.decode()
    assert "Nothing is decided until you press a button." in page.content.decode()

    done = client.post(path, {"decision": "approve"})

    assert done.status_code == 200
    decision = ApprovalDecision.objects.for_firm(in_slack.firm).get()
    assert (decision.channel, decision.user, decision.step.position) == (
        "slack",
        in_slack.member("approver").user,
        1,
    )
    # The link is single use, like an emailed one.
    assert client.post(path, {"decision": "approve"}).status_code == 410


def test_request_changes_needs_a_comment_on_the_same_page(client, in_slack):
    imitation = in_slack.imitation
    [message] = _posted(imitation)
    _click(client, imitation, message, "approval_request_changes", "U0APPROVER")
    path = _link_url(_replies(imitation, "U0APPROVER")[0]).removeprefix("http://testserver")

    assert "choosing <strong>Request changes</strong>" in client.get(path).content.decode()
    refused = client.post(path, {"decision": "request_changes", "comment": ""})
    assert refused.status_code == 409
    assert b"Say why in a comment" in refused.content
    client.post(path, {"decision": "request_changes", "comment": "Rent is too high"})
    assert ApprovalDecision.objects.for_firm(in_slack.firm).get().decision == "request_changes"


def test_the_preparer_and_an_unlinked_user_are_told_why_and_get_no_link(client, in_slack):
    imitation = in_slack.imitation
    imitation.users["U0STRANGER"] = {"name": "stranger", "email": "someone@else.example"}
    [message] = _posted(imitation)

    _click(client, imitation, message, "approval_approve", "U0PREPARER")
    _click(client, imitation, message, "approval_approve", "U0STRANGER")

    [preparer] = _replies(imitation, "U0PREPARER")
    assert "You prepared or edited this draft" in preparer.text
    [stranger] = _replies(imitation, "U0STRANGER")
    assert "not linked to a member of Alder & Partners" in stranger.text
    assert not _slack_links(in_slack).exists()
    assert not ApprovalDecision.objects.for_firm(in_slack.firm).exists()


def test_one_person_approves_one_step_and_a_decided_step_says_so(
    client, in_slack, django_capture_on_commit_callbacks
):
    imitation = in_slack.imitation
    admin = in_slack.member("admin").user
    [first] = _posted(imitation)
    _click(client, imitation, first, "approval_approve", "U0APPROVER")
    path = _link_url(_replies(imitation, "U0APPROVER")[0]).removeprefix("http://testserver")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"decision": "approve"})
    # Step 2 names the admin (and the owner role): the admin is linked in Slack too.
    slack_member_set(firm=in_slack.firm, member=admin, slack_user_id="U0ADMIN", by=None)
    imitation.users["U0ADMIN"] = {"name": "admin", "email": admin.email}
    _first_again, second = _posted(imitation)
    assert "Step 2: *Partner*" in second.blocks[1]["text"]["text"]

    _click(client, imitation, second, "approval_approve", "U0APPROVER")
    _click(client, imitation, first, "approval_approve", "U0ADMIN")

    told = _replies(imitation, "U0APPROVER")[-1]
    assert "You are not an approver of step 2" in told.text
    [old] = _replies(imitation, "U0ADMIN")
    assert "Step 1 (Manager) is not open for a decision any more" in old.text

    _click(client, imitation, second, "approval_approve", "U0ADMIN")
    assert "confirm on the sign-off page" in _replies(imitation, "U0ADMIN")[-1].text


def test_a_forged_stale_or_replayed_click_is_refused_and_does_nothing(client, in_slack):
    imitation = in_slack.imitation
    [message] = _posted(imitation)

    forged = _click(
        client, imitation, message, "approval_approve", "U0APPROVER", signing_secret="guess"
    )
    stale = _click(
        client,
        imitation,
        message,
        "approval_approve",
        "U0APPROVER",
        timestamp=int(time.time()) - 6 * 60,
    )
    assert (forged.status_code, stale.status_code) == (401, 401)

    request = interaction_request(
        imitation, message=message, action_id="approval_approve", user_id="U0APPROVER"
    )
    headers = {k: v for k, v in request.headers.items() if k.startswith("X-Slack")}
    post = lambda: client.post(  # noqa: E731
        URL, request.body, content_type="application/x-www-form-urlencoded", headers=headers
    )
    assert post().status_code == 200
    assert post().status_code == 401  # the same signed request again: a replay
    assert len(_replies(imitation, "U0APPROVER")) == 1
    assert _slack_links(in_slack).count() == 1


def test_firm_b_cannot_act_on_firm_a_and_another_workspace_is_refused(client, in_slack, firm_b):
    imitation = in_slack.imitation
    # Firm B links its own approver to a Slack user of the same workspace.
    slack_turn_on(firm_b.firm, channel="C0APPROVALS", team_id=TEAM_ID)
    slack_member_set(
        firm=firm_b.firm, member=firm_b.member("approver").user, slack_user_id="U0BIRCH", by=None
    )
    imitation.users["U0BIRCH"] = {"name": "birch", "email": firm_b.member("approver").user.email}
    [message] = _posted(imitation)

    _click(client, imitation, message, "approval_approve", "U0BIRCH")

    [told] = _replies(imitation, "U0BIRCH")
    assert "not linked to a member of Alder & Partners" in told.text

    # Firm A's Slack is another workspace than the imitation's: its buttons work only there.
    current = slack_turn_on(in_slack.firm, channel="C0APPROVALS", team_id="T0ELSEWHERE")
    assert current.team_id == "T0ELSEWHERE"
    _click(client, imitation, message, "approval_approve", "U0APPROVER")
    [elsewhere] = _replies(imitation, "U0APPROVER")
    assert "belongs to Alder & Partners's Slack workspace" in elsewhere.text
    assert not _slack_links(in_slack).exists()

    # A button's value is signed: changed, it names nothing.
    value = message.blocks[-2]["elements"][0]["value"]
    assert button_read(value)["f"] == in_slack.firm.pk
    assert button_read(value[:-2] + "xx") is None


def test_the_daily_digest_goes_to_the_channel_once(
    in_slack, imitation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reminders.approval_digests_send(firm=in_slack.firm)
        reminders.approval_digests_send(firm=in_slack.firm)

    digests = [m for m in _posted(imitation) if "waiting for approval" in m.text]
    assert len(digests) == 1
    assert digests[0].text == "1 forecast draft waiting for approval"
    assert re.search(r"<@U0APPROVER>", str(digests[0].blocks))


def test_with_slack_off_approvals_go_by_email_only(
    chain, imitation, django_capture_on_commit_callbacks
):
    slack_turn_on(chain.firm, approvals=False)
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    assert imitation.messages == []


def test_a_reminder_goes_to_slack_too_once(
    settings, in_slack, imitation, django_capture_on_commit_callbacks
):
    later = timezone.now() + dt.timedelta(days=settings.APPROVAL_REMINDER_DAYS, hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders.approval_reminders_send(firm=in_slack.firm, now=later) == 1
        assert reminders.approval_reminders_send(firm=in_slack.firm, now=later) == 0

    texts = [m.text for m in _posted(imitation)]
    assert len(texts) == 2
    assert texts[1].startswith("Reminder: approval needed for the forecast draft of")
