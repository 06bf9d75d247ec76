"""Reminders for approval steps left open, and a daily digest per approver, with unsubscribe.

Both run from Celery beat (budgeting.tasks), one firm at a time. Each send is claimed with a
conditional write before any email goes out, so a beat task delivered twice mails once.

Who gets what is the same as for the step's first email (approvals.approval_step_recipients):
nobody is reminded of a step segregation of duties stops them deciding. The digest lists every
open step a person could decide; opting out of digests leaves the step emails and reminders on,
because those carry the decision itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from budgeting.approvals.models import (
    ApprovalDigestOptOut,
    ApprovalDigestSent,
    ApprovalRequest,
    ApprovalStep,
)
from budgeting.approvals.services import (
    Approver,
    approval_link_create,
    approval_step_notify,
    approval_step_recipients,
    draft_summary,
    link_lifetime,
)
from budgeting.approvals.slack import approval_digest_slack_post, approvals_to_slack
from core.email import email_send
from core.history import history_note
from core.tasks import enqueue
from tenants.models import Firm

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "budgeting.approvals.digest-unsubscribe"


def _open_steps(firm: Firm):
    return (
        ApprovalStep.objects.for_firm(firm)
        .filter(status=ApprovalStep.Status.OPEN, request__status=ApprovalRequest.Status.PENDING)
        .select_related("request", "request__draft", "request__organisation")
    )


# --- Sign-off emails whose message was lost ---------------------------------------------------


def approval_notifications_resend(*, firm: Firm, now: dt.datetime | None = None) -> int:
    """Beat: the first email of a step is queued again when its message was lost.

    The step row is the outbox: it is opened (opened_at) in the transaction of the decision or
    submission that opened it, with notified_at empty until approval_step_notify has sent its
    email and marked it in one transaction. A step still unmarked APPROVAL_NOTIFY_RESEND_SECONDS
    after it opened had its task lost (a Redis restart, a worker killed mid-send): its task is
    queued again. The notify task claims the step under a row lock and skips it once marked, so
    a message delivered twice mails once. Returns the steps queued again."""
    now = now or timezone.now()
    due = _open_steps(firm).filter(
        notified_at__isnull=True,
        opened_at__lte=now - dt.timedelta(seconds=settings.APPROVAL_NOTIFY_RESEND_SECONDS),
    )
    step_ids = list(due.values_list("pk", flat=True))
    for step_id in step_ids:
        enqueue("budgeting.tasks.approval_step_notify_task", firm.pk, step_id)
    return len(step_ids)


# --- Reminders -------------------------------------------------------------------------------


def approval_reminders_send(*, firm: Firm, now: dt.datetime | None = None) -> int:
    """Remind the approvers of every step open longer than APPROVAL_REMINDER_DAYS since its
    email or its last reminder, up to APPROVAL_REMINDERS_MAX times. Returns the emails sent."""
    now = now or timezone.now()
    due_before = now - dt.timedelta(days=settings.APPROVAL_REMINDER_DAYS)
    due = (
        _open_steps(firm)
        .annotate(last_emailed=Coalesce("reminded_at", "notified_at", "opened_at"))
        .filter(last_emailed__lte=due_before, reminders_sent__lt=settings.APPROVAL_REMINDERS_MAX)
        .order_by("pk")
    )
    sent = 0
    for step in due:
        try:
            # The claim and the send commit together: a send the mail server refuses takes the
            # claim back, so the next run reminds again instead of counting a reminder that
            # never went out.
            with transaction.atomic():
                # Claimed on the value read: a second run (or worker) finds it moved and skips.
                claimed = (
                    ApprovalStep.objects.for_firm(firm)
                    .filter(
                        pk=step.pk, reminded_at=step.reminded_at, reminders_sent=step.reminders_sent
                    )
                    .update(reminded_at=now, reminders_sent=F("reminders_sent") + 1)
                )
                if claimed:
                    sent += approval_step_notify(firm=firm, step_id=step.pk, reminder=True)
        except (smtplib.SMTPException, OSError):
            # The other steps' approvers still get theirs; this one is due again next run.
            logger.warning("Reminder of approval step %s not sent: mail server error", step.pk)
    return sent


# --- Daily digest ------------------------------------------------------------------------------


@dataclass
class DigestItem:
    step: ApprovalStep
    summary: dict
    url: str
    waiting_days: int


def digest_unsubscribe_token(*, firm: Firm, email: str) -> str:
    return signing.dumps({"f": firm.pk, "e": email.lower()}, salt=UNSUBSCRIBE_SALT)


def digest_unsubscribe_read(token: str) -> tuple[Firm, str] | None:
    """The firm and email an unsubscribe token names, or None when it is not one of ours. It
    does not expire: an unsubscribe link in an old email must still work."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    firm = Firm.objects.filter(pk=payload.get("f")).first()
    email = str(payload.get("e", ""))
    if firm is None or not email:
        return None
    return firm, email


def digest_subscription_set(*, firm: Firm, email: str, subscribed: bool) -> None:
    email = email.lower()
    rows = ApprovalDigestOptOut.objects.for_firm(firm).filter(email=email)
    if subscribed:
        for row in rows:
            history_note(row, reason="Subscribed to the daily digest again")
            row.delete()
    elif not rows.exists():
        row = ApprovalDigestOptOut(firm=firm, email=email)
        history_note(row, reason="Unsubscribed from the daily digest")
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:  # unsubscribed twice at once: once is enough
            pass


def digest_subscribed(*, firm: Firm, email: str) -> bool:
    return not ApprovalDigestOptOut.objects.for_firm(firm).filter(email=email.lower()).exists()


def approval_digests_collect(*, firm: Firm) -> dict:
    """{email: (Approver, [open steps they could decide])}, oldest step first."""
    waiting: dict[str, tuple[Approver, list[ApprovalStep]]] = {}
    for step in _open_steps(firm).order_by("opened_at", "pk"):
        for approver in approval_step_recipients(firm=firm, step=step):
            waiting.setdefault(approver.email, (approver, []))[1].append(step)
    return waiting


def _item_url(firm: Firm, step: ApprovalStep, approver: Approver) -> str:
    # Members open the approval screen (signed in); an external approver has only links.
    if approver.user is not None:
        path = reverse(
            "draft_approval",
            args=[firm.slug, step.request.organisation_id, step.request.draft_id],
        )
        return settings.SITE_URL + path
    _link, token = approval_link_create(firm=firm, step=step, approver=approver)
    return settings.SITE_URL + reverse("approval_link", args=[token])


def approval_digests_send(*, firm: Firm, now: dt.datetime | None = None) -> int:
    """One email per approver listing every open step they could decide, once a day, unless
    they unsubscribed. Returns the digests sent."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    opted_out = set(ApprovalDigestOptOut.objects.for_firm(firm).values_list("email", flat=True))
    summaries: dict[int, dict] = {}
    sent = 0
    for email, (approver, steps) in approval_digests_collect(firm=firm).items():
        if email in opted_out:
            continue
        try:
            with transaction.atomic():
                ApprovalDigestSent.objects.for_firm(firm).create(
                    firm=firm, email=email, day=day, steps=len(steps)
                )
        except IntegrityError:  # already sent today
            continue
        items = []
        for step in steps:
            draft = step.request.draft
            if draft.pk not in summaries:
                summaries[draft.pk] = draft_summary(firm=firm, draft=draft)
            items.append(
                DigestItem(
                    step=step,
                    summary=summaries[draft.pk],
                    url=_item_url(firm, step, approver),
                    waiting_days=(now - (step.opened_at or now)).days,
                )
            )
        unsubscribe_url = settings.SITE_URL + reverse(
            "approval_digest_unsubscribe",
            args=[digest_unsubscribe_token(firm=firm, email=email)],
        )
        context = {
            "approver": approver,
            "firm": firm,
            "items": items,
            "unsubscribe_url": unsubscribe_url,
            "expires_days": link_lifetime().days,
            "site_name": settings.SITE_NAME,
        }
        count = len(items)
        email_send(
            template="approval_digest",
            to=[email],
            subject=f"{count} forecast draft{'s' if count != 1 else ''} waiting for your approval",
            context=context,
            # One-click unsubscribe (RFC 8058): mail clients POST to the same address.
            headers={
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        sent += 1
    _digest_slack(firm, day, summaries)
    return sent


def _digest_slack(firm: Firm, day: dt.date, summaries: dict[int, dict]) -> None:
    """The day's digest in the firm's Slack channel too, when it asked: every open step with
    whom it waits for (once a day: the message is keyed by the day)."""
    if not approvals_to_slack(firm=firm):
        return
    steps = []
    for step in _open_steps(firm).order_by("opened_at", "pk"):
        draft = step.request.draft
        if draft.pk not in summaries:
            summaries[draft.pk] = draft_summary(firm=firm, draft=draft)
        recipients = approval_step_recipients(firm=firm, step=step)
        steps.append((step, summaries[draft.pk], recipients))
    with transaction.atomic():
        approval_digest_slack_post(firm=firm, day=day, steps=steps)
