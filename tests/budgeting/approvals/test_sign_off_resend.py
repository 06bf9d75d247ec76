"""The first sign-off email of a step is sent exactly once, even when its task was lost (a Redis
restart between the submission and a worker taking it) or delivered twice."""

import datetime as dt

from django.core import mail
from django.utils import timezone

from budgeting.approvals.reminders import approval_notifications_resend
from budgeting.approvals.tasks import approval_step_notify_task
from tests.budgeting.approval_data import _pending, _steps, _submit


def test_a_lost_sign_off_email_is_sent_again_once_and_only_once(
    chain, firm_b, settings, django_capture_on_commit_callbacks
):
    # The submission commits, but its task never reaches a worker.
    with django_capture_on_commit_callbacks(execute=False) as lost:
        _submit(chain)
    assert len(lost) == 1
    step = _steps(_pending(chain)).get(position=1)
    assert step.notified_at is None and mail.outbox == []
    wait = dt.timedelta(seconds=settings.APPROVAL_NOTIFY_RESEND_SECONDS)

    # Too soon: its task may simply not have run yet.
    assert approval_notifications_resend(firm=chain.firm, now=timezone.now() + wait / 2) == 0
    # Firm B has no step of firm A's to send.
    assert approval_notifications_resend(firm=firm_b.firm, now=timezone.now() + 2 * wait) == 0

    later = timezone.now() + wait + dt.timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert approval_notifications_resend(firm=chain.firm, now=later) == 1
    assert [m.to for m in mail.outbox] == [[chain.member("approver").user.email]]
    step.refresh_from_db()
    assert step.notified_at is not None

    # The lost message turns up after all, and the beat job runs again: nothing more is sent.
    assert approval_step_notify_task(chain.firm.pk, step.pk) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert approval_notifications_resend(firm=chain.firm, now=later) == 0
    assert len(mail.outbox) == 1
