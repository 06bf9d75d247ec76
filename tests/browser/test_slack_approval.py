"""Approving a step from Slack, end to end: an owner sets Slack up on the settings screen (a
test message, people found by email), a draft is submitted, a real Celery worker posts the
request to the Slack imitation over HTTP, the imitation posts the approver's click to the app
as Slack would (signed), the app answers with a link only they see, and the approver confirms on
the sign-off page. Firm B's approver, in the same workspace, cannot use firm A's button or link."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from budgeting.approvals import services as approvals
from budgeting.models import ApprovalDecision, DraftLine
from integrations.slack.imitation.interactions import interaction_send
from integrations.slack.services import slack_member_set
from tests.browser.helpers import approval_chain, publishable_draft, wait_for
from tests.slack import slack_served, slack_turn_on

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_approver_approves_a_step_from_slack(
    settings, firm_a, firm_b, page_for, live_server, celery_worker_thread
):
    cast = firm_a
    owner = cast.member("owner").user
    preparer = cast.member("preparer").user
    approver = cast.member("approver").user
    birch = firm_b.member("approver").user
    with slack_served(settings) as imitation:
        imitation.users["U0ALDER"] = {"name": "ana", "email": approver.email}
        imitation.users["U0BIRCH"] = {"name": "bo", "email": birch.email}

        # --- The owner turns Slack on, tests it and finds people by email. -------------------
        page = page_for(owner)
        page.goto(reverse("slack_settings", args=[cast.firm.slug]))
        page.locator("input[name=method][value=bot]").check()
        page.locator("#id_bot_token").fill("xoxb-imitation-bot-token")
        page.locator("#id_default_channel").fill("#approvals")
        page.get_by_label("Post approval requests and the daily digest to Slack too").check()
        page.get_by_role("button", name="Save Slack settings").click()
        expect(page.locator("main ul.messages")).to_contain_text("Slack settings saved")
        page.get_by_role("button", name="Send a test message").click()
        expect(page.locator("#slack-test")).to_contain_text("Working")
        page.get_by_role("button", name="Find members in Slack by email").click()
        expect(page.locator(f"#slack-id-{approver.pk}")).to_have_value("U0ALDER")
        assert len(imitation.messages_in("C0APPROVALS")) == 1  # the test message
        # Firm B (same workspace) links its own approver.
        slack_turn_on(firm_b.firm, channel="C0APPROVALS")
        slack_member_set(firm=firm_b.firm, member=birch, slack_user_id="U0BIRCH", by=None)

        # --- A draft is submitted: the worker posts the request to the channel. --------------
        approval_chain(cast, [{"name": "Manager", "roles": ["approver"]}])
        draft = publishable_draft(cast, prepared_by=preparer)
        DraftLine.objects.for_firm(cast.firm).filter(draft=draft).update(accepted=True)
        approvals.draft_submit(firm=cast.firm, draft=draft, user=preparer)
        request_message = wait_for(
            lambda: [
                m for m in imitation.messages_in("C0APPROVALS") if "approval needed" in m.text
            ],
            "approval request in Slack",
        )[0]
        assert "<@U0ALDER>" in str(request_message.blocks)

        # --- Firm B's approver clicks Approve: told why, in Slack. --------------------------
        url = live_server.url + reverse("slack_interactions")
        response = interaction_send(
            imitation,
            url=url,
            message=request_message,
            action_id="approval_approve",
            user_id="U0BIRCH",
        )
        assert response.status_code == 200
        [told] = [m for m in imitation.messages if m.user == "U0BIRCH"]
        assert "not linked to a member of Alder & Partners" in told.text

        # --- Firm A's approver clicks Approve: a link only they see. -------------------------
        response = interaction_send(
            imitation,
            url=url,
            message=request_message,
            action_id="approval_approve",
            user_id="U0ALDER",
        )
        assert response.status_code == 200
        [reply] = [m for m in imitation.messages if m.user == "U0ALDER"]
        [button] = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
        path = button["url"].split("://", 1)[1].split("/", 1)[1]

    # Firm B's approver, signed in, cannot use the link: it is firm A's approver's.
    other = page_for(birch)
    response = other.goto("/" + path)
    assert response.status == 403
    expect(other.get_by_role("heading", level=1)).to_have_text("This link is for someone else")

    # --- The approver confirms on the sign-off page. ----------------------------------------
    page = page_for(approver)
    page.goto("/" + path)
    expect(page.locator("#from-slack")).to_contain_text("choosing Approve")
    expect(page.locator("main")).to_contain_text("Nothing is decided until you press a button.")
    assert not ApprovalDecision.objects.for_firm(cast.firm).exists()  # the click decided nothing
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", name="Decision recorded")).to_be_visible()

    decision = ApprovalDecision.objects.for_firm(cast.firm).get()
    assert (decision.channel, decision.user, decision.decision) == ("slack", approver, "approve")
    assert not ApprovalDecision.objects.for_firm(firm_b.firm).exists()
