"""slack_message_send: the one way a job posts to a firm's Slack. Written to the outbox in the
caller's transaction, delivered by a task over real HTTP to the imitation, retried with backoff
when Slack fails for a passing reason, failed (and shown, and sendable again) when a person
must act, and never lost: a message whose task vanished is queued again by the beat."""

import datetime as dt

import pytest
from celery.exceptions import Retry
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.slack import services as slack
from integrations.slack.models import SlackMessage
from integrations.slack.tasks import slack_message_deliver_task
from tests.budgeting.flaky_mail import worker_retries
from tests.slack import slack_served, slack_turn_on

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Rent* is over budget."}}]


@pytest.fixture
def imitation(settings):
    # No waiting between attempts in these tests: the backoff itself is checked on the row.
    settings.SLACK_RETRY_ATTEMPTS = 1
    with slack_served(settings) as served_imitation:
        yield served_imitation


def _send(firm, **fields):
    return slack.slack_message_send(
        firm=firm, text="Rent is over budget", blocks=BLOCKS, purpose="Alert: Rent", **fields
    )


def _status(firm):
    return list(SlackMessage.objects.for_firm(firm).values_list("status", "attempts"))


def test_a_message_goes_out_once_its_transaction_commits(
    firm_a, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm, channel="C0ALERTS")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = _send(firm_a.firm)
        assert imitation.messages == []  # nothing before the commit

    [posted] = imitation.messages_in("C0ALERTS")
    assert posted.payload["blocks"] == BLOCKS
    message.refresh_from_db()
    assert (message.status, message.attempts, message.slack_ts) == ("sent", 1, posted.ts)


def test_a_rolled_back_transaction_sends_nothing(
    firm_a, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _send(firm_a.firm)
        raise RuntimeError("the alert was not saved")
    assert imitation.messages == []
    assert not SlackMessage.objects.for_firm(firm_a.firm).exists()


def test_a_key_sends_once_and_slack_off_sends_nothing(firm_a, firm_b, imitation, celery_eager):
    slack_turn_on(firm_a.firm)
    first = _send(firm_a.firm, dedupe_key="alert:469:2026-11:1")
    again = _send(firm_a.firm, dedupe_key="alert:469:2026-11:1")

    assert first.pk == again.pk
    assert SlackMessage.objects.for_firm(firm_a.firm).count() == 1
    assert _send(firm_b.firm) is None  # firm B never turned Slack on


def test_a_passing_failure_is_retried_with_growing_waits_then_sent(firm_a, imitation):
    slack_turn_on(firm_a.firm, channel="C0ALERTS")
    imitation.fault_add(kind="status", status=503, count=2)
    message = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm, purpose="Alert", text="Rent", channel="C0ALERTS"
    )
    waits = []
    for _attempt in range(2):
        with pytest.raises(slack.SlackDeliveryRetry) as retry:
            slack.slack_message_deliver(firm=firm_a.firm, message_id=message.pk)
        waits.append(retry.value.countdown)
        message.refresh_from_db()
        assert message.status == "queued"
        assert "http_503" in message.last_error
        assert message.next_attempt_at > timezone.now()

    assert slack.slack_message_deliver(firm=firm_a.firm, message_id=message.pk) == "sent"
    # 30 s then 60 s, each with jitter down to half.
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60
    assert len(imitation.messages_in("C0ALERTS")) == 1


def test_the_task_retries_through_celery_until_slack_takes_it(firm_a, imitation, celery_eager):
    slack_turn_on(firm_a.firm, channel="C0ALERTS")
    imitation.fault_add(kind="status", status=500, count=2)
    message = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm, purpose="Alert", text="Rent", channel="C0ALERTS"
    )

    with pytest.raises(Retry) as retry:
        slack_message_deliver_task.delay(firm_a.firm.pk, message.pk)
    countdowns, raised = worker_retries(retry.value)

    assert raised is None
    assert len(countdowns) == 2
    assert _status(firm_a.firm) == [("sent", 3)]
    assert len(imitation.messages_in("C0ALERTS")) == 1


def test_a_failure_a_person_must_fix_is_shown_and_can_be_sent_again(
    client, firm_a, firm_b, imitation, celery_eager, django_capture_on_commit_callbacks
):
    settings_row = slack_turn_on(firm_a.firm, channel="#partners")  # the bot is not a member
    with django_capture_on_commit_callbacks(execute=True):
        message = _send(firm_a.firm)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)  # not retried: it cannot pass
    assert "not_in_channel" in message.last_error
    assert "invite it to the channel" in message.last_error

    client.force_login(firm_a.member("owner").user)
    page = client.get(reverse("slack_settings", args=[firm_a.firm.slug])).content.decode()
    assert "Failed" in page and "not_in_channel" in page

    # Firm B's owner cannot send firm A's message again.
    client.force_login(firm_b.member("owner").user)
    other = client.post(reverse("slack_message_resend", args=[firm_b.firm.slug, message.pk]))
    assert other.status_code == 404

    settings_row.default_channel = "#approvals"
    settings_row.save()
    # Sent again to the channel it was written for: the bot was invited meanwhile.
    imitation.channels["C0PARTNERS"].is_member = True
    client.force_login(firm_a.member("owner").user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("slack_message_resend", args=[firm_a.firm.slug, message.pk]))
    assert _status(firm_a.firm) == [("sent", 1)]
    assert len(imitation.messages_in("C0PARTNERS")) == 1


def test_after_the_last_retry_the_message_is_failed_not_dropped(settings, firm_a, imitation):
    settings.SLACK_DELIVERY_RETRIES = 1
    slack_turn_on(firm_a.firm, channel="C0ALERTS")
    imitation.fault_add(kind="status", status=500, count=5)
    message = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm, purpose="Alert", text="Rent", channel="C0ALERTS"
    )
    with pytest.raises(slack.SlackDeliveryRetry):
        slack.slack_message_deliver(firm=firm_a.firm, message_id=message.pk)

    assert slack.slack_message_deliver(firm=firm_a.firm, message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed"
    assert "gave up after 2 attempts" in message.last_error


def test_a_message_whose_task_was_lost_is_queued_again_and_sent_once(
    settings, firm_a, firm_b, imitation, celery_eager, django_capture_on_commit_callbacks
):
    slack_turn_on(firm_a.firm, channel="C0ALERTS")
    slack_turn_on(firm_b.firm, channel="C0ALERTS")
    long_ago = timezone.now() - dt.timedelta(seconds=settings.SLACK_DELIVERY_LOST_SECONDS + 60)
    lost = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm, purpose="Lost", text="Lost", next_attempt_at=long_ago
    )
    # A worker died after claiming this one: it may have posted; tried again rather than lost.
    died = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm,
        purpose="Died",
        text="Died",
        status="sending",
        attempts=1,
        claimed_at=long_ago,
    )
    # Waiting for its retry: not lost, left alone.
    waiting = SlackMessage.objects.for_firm(firm_a.firm).create(
        firm=firm_a.firm, purpose="Waiting", text="Waiting", attempts=1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert slack.slack_messages_recover(firm=firm_a.firm) == 2
        assert slack.slack_messages_recover(firm=firm_b.firm) == 0

    statuses = dict(SlackMessage.objects.for_firm(firm_a.firm).values_list("pk", "status"))
    assert statuses == {lost.pk: "sent", died.pk: "sent", waiting.pk: "queued"}
    assert sorted(m.text for m in imitation.messages) == ["Died", "Lost"]
