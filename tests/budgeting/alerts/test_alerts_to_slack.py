"""An alert whose rule names a Slack channel is posted there through the firm's Slack outbox,
once, over real HTTP to the Slack imitation; a firm without Slack keeps it waiting as "not set
up" (no failed retries) and sends it once an owner turns Slack on. Its Acknowledge and Snooze
buttons act as the Slack user's linked member (nobody else); a message Slack refuses shows on
the alert, its CSV and the API with Slack's reason."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from budgeting.alerts import services
from budgeting.alerts.models import Alert, AlertDelivery
from budgeting.alerts.slack import button_read
from integrations.slack.imitation.app import TEAM_ID
from integrations.slack.imitation.interactions import interaction_request
from integrations.slack.models import SlackMessage
from integrations.slack.services import slack_member_set
from tenants.roles import Role
from tests.api import bearer
from tests.budgeting.alert_data import alert_create
from tests.factories import api_key_create
from tests.slack import slack_served, slack_turn_on


@pytest.fixture
def imitation(settings):
    settings.SLACK_RETRY_ATTEMPTS = 1
    with slack_served(settings) as served_imitation:
        yield served_imitation


def _slack_delivery(cast):
    alert = alert_create(cast)
    return AlertDelivery.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        alert=alert,
        channel=AlertDelivery.Channel.SLACK,
        recipient="#budget-alerts",
    )


def test_an_alert_goes_to_the_rules_slack_channel_once(
    firm_a, firm_b, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm, channel="C0APPROVALS")
    ours, theirs = _slack_delivery(firm_a), _slack_delivery(firm_b)

    with django_capture_on_commit_callbacks(execute=True):
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=ours.alert_id)
    with django_capture_on_commit_callbacks(execute=True):
        # Sent again (a redelivered task): nothing more is posted.
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=ours.alert_id)

    [posted] = imitation.messages_in("C0ALERTS")  # "#budget-alerts", not the default channel
    text = str(posted.payload["blocks"])
    assert "Telephone" in text and "over its limit of NZ$500.00 (alder)" in text
    assert "provisional" in text and f"#alert-{ours.alert_id}" in text
    ours.refresh_from_db()
    assert ours.state == AlertDelivery.State.SENT
    assert SlackMessage.objects.for_firm(firm_a.firm).get().status == "sent"
    # Firm B's alert was not touched by firm A's sending, and nothing of it reached Slack.
    theirs.refresh_from_db()
    assert theirs.state == AlertDelivery.State.PENDING
    assert "birch" not in str([m.payload for m in imitation.messages])


def test_without_slack_an_alert_waits_as_not_set_up_and_goes_once_slack_is_on(
    firm_a, imitation, celery_eager, django_capture_on_commit_callbacks
):
    delivery = _slack_delivery(firm_a)

    for _ in range(3):  # the hourly check finds Slack still off: no attempt is used up
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id)
        AlertDelivery.objects.for_firm(firm_a.firm).filter(pk=delivery.pk).update(
            due_at=timezone.now() - dt.timedelta(seconds=1)
        )

    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.UNSUPPORTED and delivery.attempts == 0
    assert "Slack is not turned on for the firm" in delivery.last_error
    assert delivery.history.filter(history_change_reason="Channel not set up").count() == 1

    slack_turn_on(firm_a.firm, channel="C0APPROVALS")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id) == 1

    delivery.refresh_from_db()
    assert delivery.state == AlertDelivery.State.SENT
    assert len(imitation.messages_in("C0ALERTS")) == 1


INTERACTIONS = "/integrations/slack/interactions/"


def _click(client, imitation, message, action_id, user_id, **options):
    request = interaction_request(
        imitation, message=message, action_id=action_id, user_id=user_id, **options
    )
    headers = {k: v for k, v in request.headers.items() if k.startswith("X-Slack")}
    return client.post(
        INTERACTIONS,
        request.body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def _replies(imitation, user_id):
    return [
        m.text
        for m in imitation.messages
        if m.via == "response_url:ephemeral" and m.user == user_id
    ]


@pytest.fixture
def posted(firm_a, imitation, celery_eager, django_capture_on_commit_callbacks):
    """Firm A's alert posted into #budget-alerts, its approver linked to U0APPROVER."""
    slack_turn_on(firm_a.firm, channel="C0APPROVALS", team_id=TEAM_ID)
    slack_member_set(
        firm=firm_a.firm, member=firm_a.member("approver").user, slack_user_id="U0APPROVER", by=None
    )
    delivery = _slack_delivery(firm_a)
    with django_capture_on_commit_callbacks(execute=True):
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id)
    [message] = imitation.messages_in("C0ALERTS")
    return delivery.alert, message


def test_acknowledge_in_slack_acts_as_the_linked_member(client, firm_a, imitation, posted):
    alert, message = posted

    assert _click(client, imitation, message, "alert_acknowledge", "U0APPROVER").status_code == 200

    alert.refresh_from_db()
    approver = firm_a.member("approver").user
    assert alert.state == Alert.State.ACKNOWLEDGED and alert.acknowledged_by == approver
    assert alert.history.first().history_user == approver
    [reply] = _replies(imitation, "U0APPROVER")
    assert reply.startswith(f"Acknowledged as {approver.display_name}: ")
    # A second click (another person, or the same one) says who did it; nothing changes.
    _click(client, imitation, message, "alert_snooze_day", "U0APPROVER")
    assert "acknowledged this alert already" in _replies(imitation, "U0APPROVER")[-1]
    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED and alert.snoozed_until is None


def test_snooze_in_slack_holds_the_accounts_next_alert_for_a_day(client, firm_a, imitation, posted):
    alert, message = posted
    # A delivery still waiting (its quiet hours, say) waits for the snooze too.
    pending = AlertDelivery.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        alert=alert,
        channel=AlertDelivery.Channel.EMAIL,
        recipient="later@example.com",
        due_at=timezone.now() + dt.timedelta(hours=2),
    )
    before = timezone.now()

    _click(client, imitation, message, "alert_snooze_day", "U0APPROVER")

    alert.refresh_from_db()
    pending.refresh_from_db()
    assert alert.state == Alert.State.SNOOZED
    assert (
        dt.timedelta(hours=23, minutes=59)
        < alert.snoozed_until - before
        < dt.timedelta(days=1, minutes=1)
    )
    assert pending.due_at == alert.snoozed_until
    assert "Snoozed for a day as" in _replies(imitation, "U0APPROVER")[0]


def test_slack_clicks_that_cannot_act_are_told_why_and_change_nothing(
    client, firm_a, firm_b, imitation, posted
):
    alert, message = posted
    # Firm B's member, linked in firm B, clicks firm A's message: not a member of firm A.
    slack_turn_on(firm_b.firm, channel="C0APPROVALS", team_id=TEAM_ID)
    imitation.users["U0BIRCH"] = {"name": "birch", "email": firm_b.member("owner").user.email}
    slack_member_set(
        firm=firm_b.firm, member=firm_b.member("owner").user, slack_user_id="U0BIRCH", by=None
    )
    _click(client, imitation, message, "alert_acknowledge", "U0BIRCH")
    assert "not linked to a member of Alder & Partners" in _replies(imitation, "U0BIRCH")[0]

    # Another workspace's click on firm A's button.
    slack_turn_on(firm_a.firm, channel="C0APPROVALS", team_id="T0ELSEWHERE")
    _click(client, imitation, message, "alert_acknowledge", "U0APPROVER")
    assert "belongs to Alder & Partners's Slack workspace" in _replies(imitation, "U0APPROVER")[0]

    # A forged signature never reaches the alert.
    slack_turn_on(firm_a.firm, channel="C0APPROVALS", team_id=TEAM_ID)
    forged = _click(
        client, imitation, message, "alert_acknowledge", "U0APPROVER", signing_secret="guess"
    )
    assert forged.status_code == 401

    alert.refresh_from_db()
    assert alert.state == Alert.State.OPEN and not alert.history.filter(history_user__isnull=False)
    # The button's value is signed: changed, it names nothing.
    [value] = {
        e["value"]
        for b in message.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if "value" in e
    }
    assert button_read(value) == {"f": firm_a.firm.pk, "a": alert.pk}
    assert button_read(value[:-2] + "xx") is None


def test_a_slack_message_that_fails_shows_on_the_alert_screen_csv_and_api(
    client, firm_a, firm_b, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm, channel="C0APPROVALS")
    delivery = _slack_delivery(firm_a)
    AlertDelivery.objects.for_firm(firm_a.firm).filter(pk=delivery.pk).update(
        recipient="#gone-channel"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.alert_deliveries_send(firm=firm_a.firm, alert_id=delivery.alert_id)

    delivery.refresh_from_db()
    assert delivery.slack_message.status == SlackMessage.Status.FAILED
    assert delivery.outcome == "Slack: failed" and "channel_not_found" in delivery.outcome_error

    client.force_login(firm_a.member(Role.VIEWER).user)
    url = reverse("alert_list", args=[firm_a.firm.slug, firm_a.organisation.pk])
    page = client.get(url).content.decode()
    assert "Slack: failed" in page and "channel_not_found" in page
    csv_url = reverse("alert_list_csv", args=[firm_a.firm.slug, firm_a.organisation.pk])
    export = b"".join(client.get(csv_url).streaming_content).decode()
    assert "Slack: failed" in export and "channel_not_found" in export

    _key, secret = api_key_create(firm=firm_a.firm, scopes=("read",))
    api = f"/api/v1/organisations/{firm_a.organisation.public_id}/alerts/"
    [slack] = [
        d
        for a in client.get(api, headers=bearer(secret)).json()["results"]
        for d in a["deliveries"]
        if d["channel"] == "slack"
    ]
    assert slack["outcome"] == "Slack: failed" and "channel_not_found" in slack["outcome_error"]

    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url).status_code == 404
