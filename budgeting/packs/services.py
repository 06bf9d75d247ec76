"""Writes of report packs: build an organisation's pack for a period (HTML and PDF, kept on the
pack row: building again replaces it), send it, set the schedule and the firm's branding.

Services never import tasks: `core.tasks.enqueue` starts them by name once the transaction
commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from budgeting.drafts.models import ForecastRun
from budgeting.packs.models import PackBranding, PackDelivery, PackSchedule, ReportPack
from budgeting.packs.pdf import html_to_pdf
from budgeting.packs.selectors import (
    PackUnavailable,
    pack_recipients,
    pack_schedule_get,
    report_pack_content,
    report_pack_period,
)
from core.email import email_message
from core.history import history_note
from core.months import Period, month_start
from core.tasks import enqueue
from tenants.models import ClientOrganisation, Firm, Membership, User

logger = logging.getLogger(__name__)

# A delivery claimed this long ago by a worker that never finished lost its worker.
DELIVERY_STALE = dt.timedelta(minutes=15)
# The longest backoff between two attempts is an hour (budgeting/packs/tasks.py): a delivery
# waiting for a retry much longer than that lost its message.
RETRY_LOST = dt.timedelta(minutes=90)


class PackError(Exception):
    """A refused change (a schedule or a branding): the message says what to do."""


def report_pack_build(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    period: Period,
    user: User | None = None,
    reason: str = "Built",
) -> ReportPack:
    """Build the pack of `period` and keep it: one row per organisation and period, so building
    again (a redelivered task, a click) replaces the file instead of adding one. A failure is
    kept on the row with its message, and raised."""
    period = month_start(period)
    with transaction.atomic():
        pack, _ = ReportPack.objects.for_firm(firm).get_or_create(
            firm=firm, organisation=organisation, period=period
        )
    try:
        content = report_pack_content(firm=firm, organisation=organisation, period=period)
        html = render_to_string("budgeting/packs/pack.html", {"pack": content})
        pdf = html_to_pdf(html)
    except Exception as exc:
        pack.state = ReportPack.State.FAILED
        pack.error = str(exc) if isinstance(exc, PackUnavailable) else f"Building failed: {exc}"
        history_note(pack, reason="Building the pack failed", user=user)
        pack.save(update_fields=["state", "error"])
        raise
    pack.state = ReportPack.State.READY
    pack.pdf = pdf
    pack.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    pack.html = html
    pack.figures = content.figures
    pack.error = ""
    pack.built_at = timezone.now()
    pack.built_by = user
    history_note(pack, reason=reason, user=user)
    pack.save()
    logger.info("Report pack of %s for %s built (%d bytes)", organisation, period, len(pdf))
    return pack


def report_pack_after_close(*, firm: Firm, organisation: ClientOrganisation) -> None:
    """For the post-close pipeline: build the closed month's pack once the close's forecast
    and draft are made (the task waits for the forecast run), then send it if the schedule
    says so."""
    period = report_pack_period(firm=firm, organisation=organisation)
    if period is not None:
        enqueue(
            "budgeting.tasks.report_pack_after_close_task",
            firm.pk,
            organisation.pk,
            period.isoformat(),
        )


def forecast_run_active(*, firm: Firm, organisation: ClientOrganisation) -> bool:
    return (
        ForecastRun.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            state__in=(ForecastRun.State.QUEUED, ForecastRun.State.RUNNING),
        )
        .exists()
    )


def pack_delivery_queue(
    *,
    firm: Firm,
    pack: ReportPack,
    reason: str,
    recipients: list[str],
    user: User | None = None,
) -> PackDelivery | None:
    """Queue one sending of a pack; an automatic one (after a close, on the schedule) at most
    once per pack. None when there is nobody to send to, or it was queued already."""
    if not recipients:
        return None
    with transaction.atomic():
        if reason != PackDelivery.Reason.MANUAL:
            existing = PackDelivery.objects.for_firm(firm).filter(pack=pack, reason=reason)
            if existing.exists():
                return None
        delivery = PackDelivery(
            firm=firm,
            organisation=pack.organisation,
            pack=pack,
            reason=reason,
            recipients=recipients,
            requested_by=user,
        )
        history_note(delivery, reason=f"Pack queued to {len(recipients)} recipient(s)", user=user)
        delivery.save()
        enqueue("budgeting.tasks.pack_delivery_send_task", firm.pk, delivery.pk)
    return delivery


def report_pack_after_close_run(
    *, firm: Firm, organisation: ClientOrganisation, period: Period
) -> ReportPack:
    pack = report_pack_build(
        firm=firm, organisation=organisation, period=period, user=None, reason="Built after close"
    )
    schedule = pack_schedule_get(firm=firm, organisation=organisation)
    if schedule is not None and schedule.after_close:
        pack_delivery_queue(
            firm=firm,
            pack=pack,
            reason=PackDelivery.Reason.CLOSE,
            recipients=pack_recipients(firm=firm, schedule=schedule),
        )
    return pack


def pack_deliveries_recover(*, firm: Firm, now: dt.datetime) -> int:
    """Sendings whose Celery message was lost (a Redis restart without persistence) are sent
    again: queued and not taken up within FORECAST_RUN_QUEUED_SECONDS, or waiting for a retry
    well past the longest backoff. A duplicate message finds the delivery claimed or sent."""
    lost = PackDelivery.objects.for_firm(firm).filter(
        Q(
            state=PackDelivery.State.QUEUED,
            created_at__lt=now - dt.timedelta(seconds=settings.FORECAST_RUN_QUEUED_SECONDS),
        )
        | Q(state=PackDelivery.State.RETRYING, claimed_at__lt=now - RETRY_LOST)
    )
    ids = list(lost.values_list("pk", flat=True))
    for delivery_id in ids:
        enqueue("budgeting.tasks.pack_delivery_send_task", firm.pk, delivery_id)
    return len(ids)


def packs_due_queue(*, firm: Firm, now: dt.datetime | None = None) -> int:
    """Beat: queue the scheduled packs due now, each period once, and send again the sendings
    whose message was lost. Returns how many were newly queued."""
    from budgeting.packs.selectors import deliveries_due

    now = now or timezone.now()
    pack_deliveries_recover(firm=firm, now=now)
    queued = 0
    for schedule, period in deliveries_due(firm=firm, now=now):
        with transaction.atomic():
            pack, _ = ReportPack.objects.for_firm(firm).get_or_create(
                firm=firm, organisation=schedule.organisation, period=period
            )
            delivery = pack_delivery_queue(
                firm=firm,
                pack=pack,
                reason=PackDelivery.Reason.SCHEDULE,
                recipients=pack_recipients(firm=firm, schedule=schedule),
            )
        queued += delivery is not None
    return queued


def pack_delivery_claim(*, firm: Firm, delivery_id: int) -> PackDelivery | None:
    """Take a delivery for this worker (a conditional update): None when another worker has it,
    or it was sent already, so a task delivered twice sends once."""
    now = timezone.now()
    claimable = Q(state__in=(PackDelivery.State.QUEUED, PackDelivery.State.RETRYING)) | Q(
        state=PackDelivery.State.SENDING, claimed_at__lt=now - DELIVERY_STALE
    )
    claimed = (
        PackDelivery.objects.for_firm(firm)
        .filter(claimable, pk=delivery_id)
        .update(state=PackDelivery.State.SENDING, claimed_at=now)
    )
    if not claimed:
        return None
    return (
        PackDelivery.objects.for_firm(firm)
        .select_related("pack", "organisation", "firm")
        .get(pk=delivery_id)
    )


def pack_delivery_send(*, firm: Firm, delivery: PackDelivery) -> PackDelivery:
    """Send a claimed delivery: a scheduled one rebuilds its pack first (the drafts' approval
    moves between close and send day), then one email per recipient not yet sent to, each
    with the PDF attached. Raises on a mail server's refusal, with what was sent kept."""
    pack = delivery.pack
    if delivery.reason == PackDelivery.Reason.SCHEDULE or pack.state != ReportPack.State.READY:
        pack = report_pack_build(
            firm=firm,
            organisation=delivery.organisation,
            period=pack.period,
            reason="Built for its scheduled sending",
        )
    download = settings.SITE_URL + reverse(
        "report_pack_download", args=[firm.slug, delivery.organisation_id, pack.pk]
    )
    for email in [e for e in delivery.recipients if e not in delivery.sent_to]:
        message = email_message(
            template="report_pack",
            to=[email],
            subject=f"{delivery.organisation.name}: report pack, {pack.period:%B %Y}",
            context={
                "pack": pack,
                "organisation": delivery.organisation,
                "pack_html": pack.html,
                "download_url": download,
                "site_name": settings.SITE_NAME,
            },
            attachments=[(pack.file_name, bytes(pack.pdf), "application/pdf")],
        )
        message.send()
        delivery.sent_to = [*delivery.sent_to, email]
        delivery.save(update_fields=["sent_to"])
    delivery.state = PackDelivery.State.SENT
    delivery.sent_at = timezone.now()
    delivery.error = ""
    history_note(delivery, reason=f"Pack sent to {len(delivery.sent_to)} recipient(s)", user=None)
    delivery.save()
    return delivery


def pack_delivery_failed(
    *, firm: Firm, delivery_id: int, error: str, final: bool
) -> PackDelivery | None:
    """Record a failed attempt, shown on the packs screen: retrying, or failed for good."""
    delivery = PackDelivery.objects.for_firm(firm).filter(pk=delivery_id).first()
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.error = error[:2000]
    delivery.state = PackDelivery.State.FAILED if final else PackDelivery.State.RETRYING
    history_note(
        delivery,
        reason="Sending the pack failed" + ("" if final else ", retrying"),
        user=None,
    )
    delivery.save()
    return delivery


def pack_schedule_update(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    frequency: str,
    send_day: int,
    after_close: bool,
    member_ids: list[int],
    external_emails: list[str],
    user: User | None,
) -> PackSchedule:
    if frequency not in PackSchedule.Frequency.values:
        raise PackError("Choose monthly, quarterly or not scheduled.")
    if not 1 <= send_day <= 28:
        raise PackError("The day of the month must be between 1 and 28 (every month has it).")
    members = set(
        Membership.objects.for_firm(firm)
        .filter(user_id__in=member_ids)
        .values_list("user_id", flat=True)
    )
    unknown = sorted(set(member_ids) - members)
    if unknown:
        raise PackError("Recipients must be members of the firm.")
    cleaned = []
    for email in external_emails:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise PackError(f"“{email[:80]}” is not an email address.") from exc
        if email.lower() not in {e.lower() for e in cleaned}:
            cleaned.append(email)
    if len(cleaned) > 50:
        raise PackError("At most 50 external addresses.")
    with transaction.atomic():
        schedule = pack_schedule_get(firm=firm, organisation=organisation) or PackSchedule(
            firm=firm, organisation=organisation
        )
        schedule.frequency = frequency
        schedule.send_day = send_day
        schedule.after_close = after_close
        schedule.member_ids = sorted(members)
        schedule.external_emails = cleaned
        schedule.updated_by = user
        schedule.updated_at = timezone.now()
        history_note(schedule, reason="Pack schedule changed", user=user)
        schedule.save()
    return schedule


# Branding: a logo is an image a worker renders into every pack of the firm, so it is checked
# strictly and stored re-encoded (PNG), never as uploaded.
LOGO_MAX_BYTES = 512 * 1024
LOGO_MAX_SIDE = 2000
LOGO_MIN_SIDE = 16
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def logo_check(data: bytes) -> tuple[bytes, int, int]:
    """The logo re-encoded as PNG with its width and height; PackError when it is not a PNG or
    JPEG image of a sensible size."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > LOGO_MAX_BYTES:
        raise PackError(f"The logo is {len(data) // 1024} KB; upload one of at most 512 KB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            if kind not in LOGO_TYPES:
                raise PackError("The logo must be a PNG or JPEG image.")
            # Checked before the pixels are decoded: a small file can claim a huge image.
            if width > LOGO_MAX_SIDE or height > LOGO_MAX_SIDE:
                raise PackError(
                    f"The logo is {width} by {height} pixels; at most {LOGO_MAX_SIDE} on each side."
                )
            if width < LOGO_MIN_SIDE or height < LOGO_MIN_SIDE:
                raise PackError(
                    f"The logo is {width} by {height} pixels; at least 16 on each side."
                )
            image.load()
            converted = image.convert("RGBA")
    except PackError:
        raise
    except Image.DecompressionBombError as exc:
        raise PackError(
            f"The logo claims a huge image; upload one of at most {LOGO_MAX_SIDE} pixels on "
            "each side."
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise PackError("The logo is not a PNG or JPEG image that can be read.") from exc
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    return out.getvalue(), width, height


def pack_branding_update(
    *,
    firm: Firm,
    display_name: str,
    colour: str,
    logo: bytes | None,
    remove_logo: bool,
    user: User | None,
) -> PackBranding:
    display_name = display_name.strip()
    if len(display_name) > 120:
        raise PackError("The name is at most 120 characters.")
    if not COLOUR.match(colour or ""):
        raise PackError("The colour is a hex colour such as #1F4E79.")
    checked = logo_check(logo) if logo else None
    with transaction.atomic():
        branding = PackBranding.objects.for_firm(firm).filter(firm=firm).first() or PackBranding(
            firm=firm
        )
        branding.display_name = display_name
        branding.colour = colour.upper()
        if checked is not None:
            png, width, height = checked
            branding.logo = png
            branding.logo_content_type = "image/png"
            branding.logo_width, branding.logo_height = width, height
            branding.logo_sha256 = hashlib.sha256(png).hexdigest()
        elif remove_logo:
            branding.logo = b""
            branding.logo_content_type = ""
            branding.logo_width = branding.logo_height = None
            branding.logo_sha256 = ""
        branding.updated_by = user
        branding.updated_at = timezone.now()
        history_note(branding, reason="Pack branding changed", user=user)
        branding.save()
    return branding
