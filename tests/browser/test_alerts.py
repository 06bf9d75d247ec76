"""A budget-to-actual alert end to end, in a real browser at 1024 px (every page checked by
axe-core): an owner sets a fixed-limit rule on one expense account of the café on the alert
rules screen, telling an email address and a Slack channel; a bill is posted in the Xero sandbox
and its webhook reaches the product; a real Celery worker thread fetches the changed documents,
raises the alert and posts it to the Slack imitation. The owner sees it on the alerts screen
(provisional, the bill as its largest document); an approver acknowledges it from Slack, and
the screen says so. Firm B's member finds nothing at firm A's alerts. And the screen says which
changed documents a lost Xero connection kept from the figures."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from budgeting.alerts import services
from budgeting.alerts.models import DISCONNECTED_WAIT, Alert, AlertDelivery, DocumentChange
from budgeting.ledger.models import Account, SyncRun, XeroOrganisation
from core.clock import today as organisation_today
from integrations.models import XeroConnection
from integrations.slack.imitation.app import TEAM_ID
from integrations.slack.imitation.interactions import interaction_send
from integrations.slack.services import slack_member_set
from tests.browser.helpers import fits_width, wait_for, wait_for_mail
from tests.budgeting.alerts.test_webhook_alerts import CAFE, _bill, deliver_to_product  # noqa: F401
from tests.budgeting.screens import connected
from tests.sandbox import sync
from tests.slack import slack_served, slack_turn_on

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.mutable_sandbox,
]


def test_a_rule_set_on_screen_alerts_in_the_app_and_in_slack_and_is_acknowledged_there(
    settings,
    connected_firm,
    firm_b,
    xero_sandbox,
    deliver_to_product,  # noqa: F811
    page_for,
    live_server,
    celery_worker_thread,
):
    cast = connected_firm
    firm = cast.firm
    cafe = cast.linked[CAFE]
    assert sync(cast, CAFE).state == SyncRun.State.SUCCEEDED
    account = (
        Account.objects.for_firm(firm)
        .filter(organisation=cafe, account_class="EXPENSE", type="EXPENSE")
        .exclude(code="")
        .order_by("code")
        .first()
    )
    today = organisation_today(
        XeroOrganisation.objects.for_firm(firm).get(organisation=cafe).timezone
    )
    so_far = services.month_to_date_amount(
        firm=firm, account=account, option_id=None, period=today.replace(day=1), until=today
    )
    approver = cast.member("approver").user
    alerts_url = reverse("alert_list", args=[firm.slug, cafe.pk])

    with slack_served(settings) as imitation:
        imitation.users["U0ALDER"] = {"name": "ana", "email": approver.email}
        slack_turn_on(firm, channel="C0APPROVALS", team_id=TEAM_ID)
        slack_member_set(firm=firm, member=approver, slack_user_id="U0ALDER", by=None)

        # --- The owner sets the rule on the alert rules screen. -----------------------------
        page = page_for(cast.member("owner").user)
        page.set_viewport_size({"width": 1024, "height": 768})
        page.goto(alerts_url)
        page.get_by_role("link", name="Alert rules (0)").click()
        page.get_by_label("Name").fill("Repairs watch")
        page.get_by_label("Threshold").select_option("limit")
        page.get_by_label("Accounts").select_option(str(account.pk))
        page.get_by_label("Limit").fill(f"{so_far + 1000:.2f}")
        page.get_by_label("Emails").fill("owner@harbourlane.example")
        page.get_by_label("Slack channel").fill("#budget-alerts")
        page.get_by_role("button", name="Save the rule").click()
        rules = page.locator("main table.data")
        expect(rules).to_contain_text("Repairs watch")
        expect(rules).to_contain_text("#budget-alerts")
        assert fits_width(page)

        # --- A bill is posted in Xero; its webhook reaches the product; the worker does the
        # rest: one batched fetch, the alert, the email and the Slack message. ----------------
        bill = _bill(xero_sandbox, code=account.code, amount="500000.00", date=today)
        assert deliver_to_product.deliver().status == 200
        [posted] = wait_for(lambda: imitation.messages_in("C0ALERTS"), "alert in Slack", timeout=30)
        text = str(posted.payload["blocks"])
        assert account.name in text and "over its limit" in text and "provisional" in text
        [email] = wait_for_mail(lambda m: m.to == ["owner@harbourlane.example"])
        assert account.name in email.subject
        alert = Alert.objects.for_firm(firm).get()
        assert alert.drivers[0]["document_id"] == bill["InvoiceID"]
        wait_for(
            lambda: (
                AlertDelivery.objects.for_firm(firm)
                .filter(alert=alert, state=AlertDelivery.State.SENT)
                .count()
                == 2
            ),
            "both deliveries recorded as sent",
        )

        # --- The owner sees it on the alerts screen. -----------------------------------------
        page.goto(alerts_url)
        expect(page.locator("#mtd-title")).to_contain_text("provisional")
        card = page.locator(f"#alert-{alert.pk}")
        expect(card).to_contain_text(alert.summary)
        expect(card).to_contain_text("Open")
        largest = card.locator("table", has_text="Largest documents").locator("tbody tr").first
        expect(largest).to_contain_text("Quayside Fitouts Ltd")
        expect(largest).to_contain_text("500,000.00")
        expect(card.locator("table", has_text="Sent")).to_contain_text("#budget-alerts")
        assert fits_width(page)

        # --- The approver presses Acknowledge in Slack. --------------------------------------
        response = interaction_send(
            imitation,
            url=live_server.url + reverse("slack_interactions"),
            message=posted,
            action_id="alert_acknowledge",
            user_id="U0ALDER",
        )
        assert response.status_code == 200
        [reply] = [m for m in imitation.messages if m.user == "U0ALDER"]
        assert reply.text.startswith(f"Acknowledged as {approver.display_name}")

    page.reload()
    card = page.locator(f"#alert-{alert.pk}")
    expect(card).to_contain_text(f"acknowledged by {approver.display_name}")
    expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)
    alert.refresh_from_db()
    assert alert.state == Alert.State.ACKNOWLEDGED and alert.acknowledged_by == approver

    # --- Firm B's member finds nothing at firm A's alerts, by firm A's address or its own. ---
    other = page_for(firm_b.member("owner").user)
    assert other.goto(alerts_url).status == 404
    theirs = reverse("alert_list", args=[firm_b.firm.slug, cafe.pk])
    assert other.goto(theirs).status == 404


def test_changes_not_fetched_while_xero_is_disconnected_are_shown_on_the_alerts_screen(
    firm_a, firm_b, page_for
):
    organisation = firm_a.organisation
    connected(firm_a, organisation, status=XeroConnection.Status.REVOKED)
    hours = DISCONNECTED_WAIT.total_seconds() / 3600
    for document_id, hours_ago in (("inv-1", hours + 1), ("inv-2", hours + 2), ("inv-3", 1)):
        DocumentChange.objects.for_firm(firm_a.firm).create(
            firm=firm_a.firm,
            organisation=organisation,
            endpoint="Invoices",
            document_id=document_id,
            received_at=timezone.now() - dt.timedelta(hours=hours_ago),
        )
    services.polls_enqueue()  # the beat's sweep gives the two old ones up

    page = page_for(firm_a.member("viewer").user)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(reverse("alert_list", args=[firm_a.firm.slug, organisation.pk]))
    panel = page.get_by_role("status").filter(has_text="Changes in Xero not fetched")
    expect(panel).to_contain_text(
        "Xero disconnected: 2 changed documents not fetched; reconnect and sync."
    )
    expect(panel).to_contain_text("Xero disconnected: 1 changed document waits to be fetched.")
    assert fits_width(page)
    other = page_for(firm_b.member("viewer").user)
    assert other.goto(reverse("alert_list", args=[firm_a.firm.slug, organisation.pk])).status == 404
