"""Reminders for open approval steps and the daily digest per approver, with unsubscribe: sent
by Celery beat, once each however often the task runs, only to people who could decide."""

import datetime as dt
import smtplib

import pytest
from celery.exceptions import Retry
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from budgeting.approvals import reminders as approval_reminders
from budgeting.models import ApprovalDigestOptOut, ApprovalStep
from tests.budgeting.approval_data import _decide, _draft, _member, _pending, _steps, _submit
from tests.budgeting.flaky_mail import (
    flaky_mail_fixture,  # noqa: F401 - a fixture, used by name
    worker_retries,
)

DAY = dt.timedelta(days=1)


def _later(days: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(days=days)


def _recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# --- Reminders ---------------------------------------------------------------------------------


def test_a_step_left_open_is_reminded_every_interval_up_to_the_limit(
    chain, settings, django_capture_on_commit_callbacks
):
    settings.APPROVAL_REMINDER_DAYS = 2
    settings.APPROVAL_REMINDERS_MAX = 2
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    assert _recipients() == [chain.member("approver").user.email]
    mail.outbox.clear()

    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(1)) == 0
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(2.01)) == 1
    message = mail.outbox[0]
    assert message.subject.startswith("Reminder: Approve the forecast draft of")
    assert "still waits for you" in message.body
    assert "/approvals/" in message.body  # a fresh link
    # The same run again (a beat task delivered twice) sends nothing more.
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(2.01)) == 0
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(3)) == 0
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(4.02)) == 1
    # The limit: no third reminder.
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(9)) == 0
    assert len(mail.outbox) == 2
    step = _steps(_pending(chain)).get(position=1)
    assert step.reminders_sent == 2


def test_a_first_email_the_mail_server_never_takes_is_retried_a_few_times_then_reminded(
    chain, settings, flaky_mail, django_capture_on_commit_callbacks
):
    settings.APPROVAL_REMINDER_DAYS = 2
    flaky_mail.failures = 100  # down for good
    with pytest.raises(Retry) as retry, django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    countdowns, raised = worker_retries(retry.value)
    # Six retries, each waiting up to twice as long as the one before; then the task gives up.
    assert isinstance(raised, smtplib.SMTPException)
    assert len(countdowns) == 6
    assert all(0 <= c <= 60 * 2**n for n, c in enumerate(countdowns)), countdowns
    assert flaky_mail.attempts == 7
    step = _steps(_pending(chain)).get(position=1)
    assert step.notified_at is None
    assert mail.outbox == []

    # The server is back: the step was never marked emailed, so its reminder still goes out.
    flaky_mail.failures = 0
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(2.01)) == 1
    assert _recipients() == [chain.member("approver").user.email]


def test_a_reminder_the_mail_server_refuses_is_not_counted_and_goes_out_next_run(
    chain, settings, flaky_mail, django_capture_on_commit_callbacks
):
    settings.APPROVAL_REMINDER_DAYS = 2
    settings.APPROVAL_REMINDERS_MAX = 2
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    mail.outbox.clear()
    step = _steps(_pending(chain)).get(position=1)

    flaky_mail.failures = 1
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(2.01)) == 0
    step.refresh_from_db()
    assert step.reminders_sent == 0 and step.reminded_at is None  # the claim was taken back
    assert mail.outbox == []

    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(2.02)) == 1
    step.refresh_from_db()
    assert step.reminders_sent == 1
    assert _recipients() == [chain.member("approver").user.email]


def test_reminders_go_only_to_people_who_could_still_decide(chain, settings):
    settings.APPROVAL_REMINDER_DAYS = 1
    _submit(chain)
    _decide(chain, _member(chain, "approver"))
    mail.outbox.clear()
    # Step 2 names the owner role and the admin; the owner prepared the draft, so only the
    # admin is reminded, and the manager who approved step 1 is not reminded of anything.
    approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(1.01))
    assert _recipients() == [chain.member("admin").user.email]


def test_decided_steps_and_withdrawn_rounds_are_not_reminded(chain):
    _submit(chain)
    _decide(chain, _member(chain, "approver"), "reject", comment="Rent is wrong")
    mail.outbox.clear()
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(30)) == 0
    assert mail.outbox == []


def test_reminders_of_one_firm_leave_another_firm_alone(chain, firm_b):
    _submit(chain)
    _draft(firm_b, prepared_by=firm_b.member("owner").user)
    mail.outbox.clear()
    assert approval_reminders.approval_reminders_send(firm=firm_b.firm, now=_later(30)) == 0
    assert ApprovalStep.objects.for_firm(chain.firm).get(position=1).reminders_sent == 0


# --- The daily digest --------------------------------------------------------------------------


@pytest.fixture
def two_waiting(chain):
    """Two submitted drafts of the organisation; the second changes enough lines (6,000 a month)
    to need the client's budget owner too."""
    _submit(chain)
    second = _draft(chain, prepared_by=chain.member("owner").user, change="6000.00")
    chain.draft, first = second, chain.draft
    _submit(chain)
    chain.draft = first
    chain.second = second
    mail.outbox.clear()
    return chain


def _digest_to(email: str):
    return next(m for m in mail.outbox if m.to == [email])


def test_each_approver_gets_one_digest_of_the_steps_they_could_decide(two_waiting):
    chain = two_waiting
    approver = chain.member("approver").user
    assert approval_reminders.approval_digests_send(firm=chain.firm) == 1
    message = _digest_to(approver.email)
    assert message.subject == "2 forecast drafts waiting for your approval"
    assert message.body.count(chain.organisation.name + ": draft from") == 2
    # A member is sent to the approval screen, where they are signed in.
    for draft in (chain.draft, chain.second):
        path = reverse("draft_approval", args=[chain.firm.slug, chain.organisation.pk, draft.pk])
        assert settings.SITE_URL + path in message.body
    assert "/approvals/" not in message.body.split("To stop it")[0]
    html = message.alternatives[0][0]
    assert "Unsubscribe from the digest" in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Run twice in a day: no second digest.
    mail.outbox.clear()
    assert approval_reminders.approval_digests_send(firm=chain.firm) == 0
    assert mail.outbox == []
    # The next day it comes again while the steps wait.
    assert approval_reminders.approval_digests_send(firm=chain.firm, now=_later(1)) == 1


def test_an_external_approver_gets_sign_off_links_in_the_digest(two_waiting):
    chain = two_waiting
    _decide(chain, _member(chain, "approver"))  # first draft: step 2 opens (owner or admin)
    chain.draft = chain.second
    _decide(chain, _member(chain, "approver"))
    _decide(chain, _member(chain, "admin"))  # second draft: the client's step opens
    mail.outbox.clear()
    approval_reminders.approval_digests_send(firm=chain.firm)
    assert sorted(_recipients()) == sorted(
        [chain.member("admin").user.email, "budget.owner@client.example"]
    )
    external = _digest_to("budget.owner@client.example")
    assert external.subject == "1 forecast draft waiting for your approval"
    token = external.body.split("/approvals/")[1].split("/")[0]
    response = Client().get(reverse("approval_link", args=[token]))
    assert response.status_code == 200
    assert b"Approve" in response.content
    # The admin approved the second draft's step 2, so their digest lists only the first draft.
    admin = _digest_to(chain.member("admin").user.email)
    assert admin.subject == "1 forecast draft waiting for your approval"


def test_unsubscribe_asks_on_get_and_acts_on_post(two_waiting):
    chain = two_waiting
    approver = chain.member("approver").user
    approval_reminders.approval_digests_send(firm=chain.firm)
    url = _digest_to(approver.email).body.split("To stop it")[1].split(": ")[1].strip()
    path = url.removeprefix(settings.SITE_URL)
    client = Client(enforce_csrf_checks=True)
    response = client.get(path)
    assert response.status_code == 200
    assert b"Unsubscribe from the digest" in response.content
    assert not ApprovalDigestOptOut.objects.for_firm(chain.firm).exists()  # GET changes nothing

    # The one-click POST a mail client sends: no CSRF token, only this body.
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert b"no longer gets the daily digest" in response.content
    assert ApprovalDigestOptOut.objects.for_firm(chain.firm).filter(email=approver.email).exists()
    mail.outbox.clear()
    assert approval_reminders.approval_digests_send(firm=chain.firm, now=_later(1)) == 0
    # Step emails still come: reminders are not part of the digest.
    assert approval_reminders.approval_reminders_send(firm=chain.firm, now=_later(3)) == 2

    response = client.post(path, {"action": "subscribe"})
    assert b"You will get the daily digest again" in response.content
    assert approval_reminders.approval_digests_send(firm=chain.firm, now=_later(2)) == 1


def test_a_changed_unsubscribe_token_is_refused(client, chain):
    token = approval_reminders.digest_unsubscribe_token(firm=chain.firm, email="a@b.example")
    response = client.post(
        reverse("approval_digest_unsubscribe", args=[token[:-3] + "abc"]), {"action": "x"}
    )
    assert response.status_code == 404
    assert not ApprovalDigestOptOut.objects.for_firm(chain.firm).exists()


def test_unsubscribing_from_one_firm_keeps_another_firms_digest(chain, firm_b):
    email = chain.member("approver").user.email
    token = approval_reminders.digest_unsubscribe_token(firm=chain.firm, email=email)
    Client().post(reverse("approval_digest_unsubscribe", args=[token]))
    assert not approval_reminders.digest_subscribed(firm=chain.firm, email=email)
    assert approval_reminders.digest_subscribed(firm=firm_b.firm, email=email)
    assert not ApprovalDigestOptOut.objects.for_firm(firm_b.firm).exists()


def test_digests_of_one_firm_list_nothing_of_another(two_waiting, firm_b):
    assert approval_reminders.approval_digests_send(firm=firm_b.firm) == 0
    assert mail.outbox == []


# --- Beat --------------------------------------------------------------------------------------


def test_beat_runs_reminders_and_digests_for_every_firm(
    two_waiting, firm_b, celery_eager, settings
):
    from budgeting.approvals import tasks

    assert tasks.approval_digests_task.delay().get() == 2  # both firms
    assert _recipients() == [two_waiting.member("approver").user.email]
    celery_eager.loader.import_default_modules()  # what a worker loads at start
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_eager.tasks
    mail.outbox.clear()
    settings.APPROVAL_REMINDER_DAYS = 0
    assert tasks.approval_reminders_task.delay().get() == 2
    assert len(mail.outbox) == 2  # one reminder per waiting draft
