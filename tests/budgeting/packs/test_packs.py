"""Report packs as the firm and its clients rely on them: a real PDF with the organisation's
figures, kept once per month, branded by the firm, sent on the schedule once, retried when the
mail server fails, and nothing of another firm's on any screen or in the API."""

import datetime as dt
import struct
import zlib

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgeting.models import PackBranding, PackDelivery, PackSchedule, ReportPack
from budgeting.packs import services
from budgeting.packs.selectors import PackUnavailable, quarter_ends
from budgeting.packs.tasks import pack_delivery_send_task
from budgeting.variance.services import organisation_variance_refresh
from tenants.roles import Role
from tests.api import bearer
from tests.budgeting.flaky_mail import (
    flaky_mail_fixture,  # noqa: F401 - a fixture, used by name
    worker_retries,
)
from tests.budgeting.packs.pack_data import pack_organisation_create, pdf_text, png
from tests.budgeting.variance_data import OCTOBER
from tests.factories import api_key_create

# The sixth of November in Auckland: October's scheduled pack is due (send day 5).
NOV_6 = dt.datetime(2026, 11, 6, 1, tzinfo=dt.UTC)


@pytest.fixture
def pack_org(firm_a):
    data = pack_organisation_create(firm_a)
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    return data


def _build(cast):
    return services.report_pack_build(
        firm=cast.firm, organisation=cast.organisation, period=OCTOBER
    )


def _schedule(cast, *, frequency="monthly", after_close=True, external=("owner@client.example",)):
    return services.pack_schedule_update(
        firm=cast.firm,
        organisation=cast.organisation,
        frequency=frequency,
        send_day=5,
        after_close=after_close,
        member_ids=[cast.member(Role.PREPARER).user.pk],
        external_emails=list(external),
        user=None,
    )


def test_the_pack_is_a_real_pdf_with_the_organisations_figures(firm_a, pack_org):
    pack = _build(firm_a)

    assert pack.state == ReportPack.State.READY
    pdf = bytes(pack.pdf)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert "Harbour Lane Café" in text and "October 2026" in text
    # The P&L against budget with its subtotals: Sales' actual and budget, Gross Profit.
    assert "NZ$50,000.00" in text and "NZ$48,000.00" in text
    for label in ("Total Income", "Gross Profit", "Total Operating Expenses", "Net Profit"):
        assert label in text
    # The material lines' narratives, the forecast with its ranges, the draft's approval.
    assert "Why the material lines moved" in text and "Advertising" in text
    assert "NZ$51,235.00" in text and "NZ$47,000.00 to NZ$55,500.00" in text
    assert "Partner review" in text and "Submitted for approval" in text
    assert pack.figures["currency"] == "NZD" and pack.figures["material"] >= 1
    # The email's HTML is the same pack, with charts as inline SVG and no script.
    assert "<svg" in pack.html and "<script" not in pack.html


def test_building_again_replaces_the_months_pack_and_keeps_its_history(firm_a, pack_org):
    first = _build(firm_a)
    second = _build(firm_a)

    assert second.pk == first.pk
    assert ReportPack.objects.for_firm(firm_a.firm).count() == 1
    reasons = list(
        ReportPack.history.filter(id=first.pk).values_list("history_change_reason", flat=True)
    )
    assert reasons.count("Built") == 2


def test_an_organisation_never_synced_gets_a_clear_failure(firm_a):
    with pytest.raises(PackUnavailable, match="has not been synced"):
        _build(firm_a)
    pack = ReportPack.objects.for_firm(firm_a.firm).get()
    assert pack.state == ReportPack.State.FAILED and "sync it" in pack.error


def test_the_firms_branding_is_on_its_packs(firm_a, firm_b, pack_org):
    services.pack_branding_update(
        firm=firm_a.firm,
        display_name="Alder Advisory",
        colour="#aa3300",
        logo=png(),
        remove_logo=False,
        user=None,
    )

    pack = _build(firm_a)

    assert "Alder Advisory" in pdf_text(bytes(pack.pdf))
    assert "#AA3300" in pack.html and "data:image/png;base64," in pack.html
    assert not PackBranding.objects.for_firm(firm_b.firm).exists()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb's trick)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "PNG or JPEG"),
        (b"GIF89a" + b"\x00" * 40, "PNG or JPEG"),
        (b"MZ\x90\x00 not an image at all", "PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n truncated", "PNG or JPEG"),
        (_png_claiming(100_000, 100_000), "at most 2000"),
        (png(3000, 20), "at most 2000"),
        (png(8, 8), "at least 16"),
        (b"\x89PNG" + b"\x00" * (600 * 1024), "at most 512 KB"),
    ],
)
def test_hostile_or_unfit_logos_are_refused_with_a_clear_error(client, firm_a, content, message):
    client.force_login(firm_a.member(Role.OWNER).user)
    url = reverse("pack_branding_edit", args=[firm_a.firm.slug])

    response = client.post(
        url,
        {"colour": "#1F4E79", "logo": SimpleUploadedFile("logo.png", content, "image/png")},
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PackBranding.objects.for_firm(firm_a.firm).exists()


def test_the_branding_screen_saves_a_logo_and_refuses_a_colour_that_is_not_hex(
    client, firm_a, firm_b
):
    client.force_login(firm_a.member(Role.ADMIN).user)
    url = reverse("pack_branding_edit", args=[firm_a.firm.slug])

    refused = client.post(url, {"colour": "red; background:url(x)"})
    saved = client.post(
        url,
        {
            "display_name": "Alder",
            "colour": "#123abc",
            "logo": SimpleUploadedFile("logo.jpg", png(), "image/jpeg"),
        },
    )

    assert refused.status_code == 400 and "hex colour" in refused.content.decode()
    assert saved.status_code == 302
    branding = PackBranding.objects.for_firm(firm_a.firm).get()
    assert branding.colour == "#123ABC" and branding.logo_width == 64
    assert bytes(branding.logo).startswith(b"\x89PNG")  # stored re-encoded, never as uploaded
    # Firm B's people cannot see or change firm A's branding; a viewer cannot change it.
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url).status_code == 404
    assert client.get(reverse("pack_branding_logo", args=[firm_a.firm.slug])).status_code == 404
    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.post(url, {"colour": "#000000"}).status_code == 403


def test_members_list_and_download_their_packs_and_another_firm_sees_none(
    client, firm_a, firm_b, pack_org
):
    pack = _build(firm_a)
    list_url = reverse("report_pack_list", args=[firm_a.firm.slug, firm_a.organisation.pk])
    pdf_url = reverse(
        "report_pack_download", args=[firm_a.firm.slug, firm_a.organisation.pk, pack.pk]
    )
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(list_url)
    download = client.get(pdf_url)
    listing = client.get(
        reverse("report_pack_list_csv", args=[firm_a.firm.slug, firm_a.organisation.pk])
    )

    assert page.status_code == 200 and "October 2026" in page.content.decode()
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download.content == bytes(pack.pdf)
    assert 'filename="harbour-lane-cafe-pack-2026-10.pdf"' in download["Content-Disposition"]
    assert b"2026-10" in listing.content
    # Firm B: its own slug with firm A's ids, and firm A's slug, are both 404.
    client.force_login(firm_b.member(Role.OWNER).user)
    for url in (
        list_url,
        pdf_url,
        reverse("report_pack_list", args=[firm_b.firm.slug, firm_a.organisation.pk]),
        reverse("report_pack_download", args=[firm_b.firm.slug, firm_b.organisation.pk, pack.pk]),
    ):
        assert client.get(url).status_code == 404, url


def test_a_preparer_builds_a_pack_now_and_a_viewer_cannot(client, firm_a, firm_b, pack_org):
    url = reverse("report_pack_build", args=[firm_a.firm.slug, firm_a.organisation.pk])

    client.force_login(firm_a.member(Role.VIEWER).user)
    assert client.post(url).status_code == 403
    client.force_login(firm_b.member(Role.PREPARER).user)
    assert client.post(url).status_code == 404
    client.force_login(firm_a.member(Role.PREPARER).user)
    refused = client.post(url, {"period": "2099-01"}, follow=True)
    built = client.post(url, {"period": "2026-10"}, follow=True)

    assert "a later month is not complete" in refused.content.decode()
    assert "The pack for October 2026 is built." in built.content.decode()
    assert ReportPack.objects.for_firm(firm_a.firm).get().period == OCTOBER
    assert not ReportPack.objects.for_firm(firm_b.firm).exists()


def test_the_schedule_takes_members_and_client_emails_and_refuses_bad_ones(
    client, firm_a, firm_b, pack_org
):
    url = reverse("pack_schedule_edit", args=[firm_a.firm.slug, firm_a.organisation.pk])
    client.force_login(firm_a.member(Role.OWNER).user)
    outsider = firm_b.member(Role.OWNER).user.pk

    bad_email = client.post(
        url, {"frequency": "monthly", "send_day": 5, "external_emails": "not-an-email"}
    )
    outsider_member = client.post(
        url, {"frequency": "monthly", "send_day": 5, "members": [outsider]}
    )
    bad_day = client.post(url, {"frequency": "monthly", "send_day": 31})
    saved = client.post(
        url,
        {
            "frequency": "quarterly",
            "send_day": 7,
            "after_close": "on",
            "members": [firm_a.member(Role.PREPARER).user.pk],
            "external_emails": "cfo@client.example, owner@client.example",
        },
    )

    assert bad_email.status_code == 400 and "is not an email address" in bad_email.content.decode()
    assert outsider_member.status_code == 400
    assert bad_day.status_code == 400
    assert saved.status_code == 302
    schedule = PackSchedule.objects.for_firm(firm_a.firm).get()
    assert schedule.frequency == "quarterly" and schedule.send_day == 7
    assert schedule.external_emails == ["cfo@client.example", "owner@client.example"]
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.post(url, {"frequency": "off", "send_day": 5}).status_code == 404


def test_the_api_lists_packs_and_downloads_the_pdf_for_its_firm_only(
    client, firm_a, firm_b, pack_org
):
    pack = _build(firm_a)
    _, key_a = api_key_create(firm=firm_a.firm)
    _, key_b = api_key_create(firm=firm_b.firm)
    base = f"/api/v1/organisations/{firm_a.organisation.public_id}/packs/"

    listed = client.get(base, headers=bearer(key_a))
    pdf = client.get(f"{base}{pack.pk}/pdf/", headers=bearer(key_a))

    assert listed.status_code == 200
    row = listed.json()["results"][0]
    assert row["period"] == "2026-10-01" and row["state"] == "ready"
    assert row["net_profit_actual"] == pack.figures["net_profit"]["actual"]
    assert row["download_url"].endswith(f"/packs/{pack.pk}/pdf/")
    assert pdf.status_code == 200 and pdf.content == bytes(pack.pdf)
    assert client.get(base, headers=bearer(key_b)).status_code == 404
    assert client.get(f"{base}{pack.pk}/pdf/", headers=bearer(key_b)).status_code == 404


def test_a_scheduled_pack_goes_out_once_however_often_the_beat_and_the_task_run(
    firm_a, firm_b, pack_org, celery_eager, django_capture_on_commit_callbacks
):
    _schedule(firm_a)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.packs_due_queue(firm=firm_a.firm, now=NOV_6)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.packs_due_queue(firm=firm_a.firm, now=NOV_6)
    delivery = PackDelivery.objects.for_firm(firm_a.firm).get()
    redelivered = pack_delivery_send_task.delay(firm_a.firm.pk, delivery.pk).get()

    assert (first, again, redelivered) == (1, 0, "not claimed")
    delivery.refresh_from_db()
    assert delivery.state == PackDelivery.State.SENT and delivery.pack.period == OCTOBER
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [firm_a.member(Role.PREPARER).user.email, "owner@client.example"]
    )
    message = mail.outbox[0]
    assert message.subject == "Harbour Lane Café: report pack, October 2026"
    _name, content, mimetype = message.attachments[0]
    assert mimetype == "application/pdf" and content.startswith(b"%PDF-")
    html = message.alternatives[0][0]
    assert "NZ$50,000.00" in html
    assert services.packs_due_queue(firm=firm_b.firm, now=NOV_6) == 0


def test_nothing_is_due_before_the_send_day_or_outside_a_quarter(firm_a, pack_org):
    _schedule(firm_a, frequency="quarterly")

    # October does not end a quarter of a year ending 31 March; December does.
    assert quarter_ends(3) == {3, 6, 9, 12}
    assert services.packs_due_queue(firm=firm_a.firm, now=NOV_6) == 0
    _schedule(firm_a, frequency="monthly")
    assert services.packs_due_queue(firm=firm_a.firm, now=NOV_6 - dt.timedelta(days=2)) == 0


def test_a_mail_server_failure_is_retried_with_backoff_and_shown(
    firm_a, pack_org, celery_eager, flaky_mail, django_capture_on_commit_callbacks
):
    _schedule(firm_a, external=())
    flaky_mail.failures = 100  # down for good

    with pytest.raises(Retry) as retry, django_capture_on_commit_callbacks(execute=True):
        services.packs_due_queue(firm=firm_a.firm, now=NOV_6)
    countdowns, raised = worker_retries(retry.value)

    assert raised is None and len(countdowns) == 6
    delivery = PackDelivery.objects.for_firm(firm_a.firm).get()
    assert delivery.state == PackDelivery.State.FAILED and delivery.attempts == 7
    assert "Connection unexpectedly closed" in delivery.error
    assert mail.outbox == []


def test_after_a_close_the_pack_is_built_and_sent_once(
    firm_a, pack_org, celery_eager, django_capture_on_commit_callbacks
):
    _schedule(firm_a, frequency="off")

    for _ in range(2):  # a redelivered task
        with django_capture_on_commit_callbacks(execute=True):
            services.report_pack_after_close(firm=firm_a.firm, organisation=firm_a.organisation)

    pack = ReportPack.objects.for_firm(firm_a.firm).get()
    assert pack.period == OCTOBER and pack.state == ReportPack.State.READY
    delivery = PackDelivery.objects.for_firm(firm_a.firm).get()
    assert delivery.reason == PackDelivery.Reason.CLOSE and delivery.state == "sent"
    assert len(mail.outbox) == 2


def test_a_sending_whose_message_was_lost_is_sent_by_the_next_beat(
    firm_a, pack_org, celery_eager, django_capture_on_commit_callbacks
):
    _schedule(firm_a, external=())
    # The beat queued it, but the message never reached a worker (nothing ran on commit).
    services.packs_due_queue(firm=firm_a.firm, now=NOV_6)
    delivery = PackDelivery.objects.for_firm(firm_a.firm).get()
    assert delivery.state == PackDelivery.State.QUEUED and mail.outbox == []
    PackDelivery.objects.for_firm(firm_a.firm).update(created_at=NOV_6)  # queued on the 6th

    with django_capture_on_commit_callbacks(execute=True):
        services.packs_due_queue(firm=firm_a.firm, now=NOV_6 + dt.timedelta(hours=1))

    delivery.refresh_from_db()
    assert delivery.state == PackDelivery.State.SENT and len(mail.outbox) == 1


def test_a_packs_history_and_its_schedule_are_in_the_organisations_audit_log(
    client, firm_a, firm_b, pack_org
):
    _schedule(firm_a)
    _build(firm_a)
    url = reverse("audit_log", args=[firm_a.firm.slug, firm_a.organisation.pk])
    client.force_login(firm_a.member(Role.VIEWER).user)

    page = client.get(url).content.decode()

    assert "created the report pack #" in page and "Oct 2026" in page
    assert "Pack schedule changed" in page and "Pack deliveries" in page
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url).status_code == 404
