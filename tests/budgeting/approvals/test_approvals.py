"""Approval chains: segregation of duties on every channel, steps in order, a changed draft goes
back to the first step, and email sign-off links that only a POST can use, once."""

import datetime as dt
import secrets
import smtplib

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from budgeting.approvals import services as approvals
from budgeting.approvals.tasks import approval_step_notify_task
from budgeting.drafts.services import draft_line_edit
from budgeting.models import (
    ApprovalDecision,
    ApprovalLink,
    ApprovalRequest,
    Draft,
    DraftLine,
    ExternalApprover,
)
from tests.budgeting.approval_data import (
    NOV,
    _decide,
    _draft,
    _link_token,
    _member,
    _pending,
    _statuses,
    _steps,
    _submit,
)
from tests.budgeting.flaky_mail import (
    flaky_mail_fixture,  # noqa: F401 - a fixture, used by name
    worker_retries,
)
from tests.factories import UserFactory, membership_create


@pytest.fixture
def client(client):
    # Links are rate limited per client address: each test gets an address of its own, so
    # tests running at the same time (pytest -n) do not share a budget.
    client.defaults["REMOTE_ADDR"] = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7"
    return client


# --- Policy ------------------------------------------------------------------------------------


def test_a_policy_names_only_people_who_may_approve(firm_a):
    def update(steps):
        return approvals.approval_chain_update(
            firm=firm_a.firm, organisation=firm_a.organisation, user=None, steps=steps
        )

    with pytest.raises(approvals.ApprovalError, match="cannot approve"):
        update([{"name": "Look", "roles": ["viewer"]}])
    with pytest.raises(approvals.ApprovalError, match="whose role may approve"):
        update([{"name": "Prep", "member_ids": [firm_a.member("preparer").user.pk]}])
    with pytest.raises(approvals.ApprovalError, match="always apply"):
        update([{"name": "Big", "roles": ["approver"], "condition": "capex"}])
    with pytest.raises(approvals.ApprovalError, match="names nobody"):
        update([{"name": "Empty"}])
    first = update([{"name": "Manager", "roles": ["approver"]}])
    second = update([{"name": "Manager", "roles": ["approver", "admin"]}])
    assert (first.version, second.version) == (1, 2)
    assert second.history.count() == 2


def test_a_draft_keeps_the_chain_it_was_submitted_under(chain, django_capture_on_commit_callbacks):
    request = _submit(chain)
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=None,
        steps=[{"name": "Only one", "roles": ["admin"]}],
    )
    assert request.chain_version == 1
    assert list(_steps(request).values_list("name", flat=True)) == ["Manager", "Partner", "Client"]


# --- Submitting and conditional steps ----------------------------------------------------------


def test_submit_opens_the_first_step_and_emails_its_approvers(
    chain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = _submit(chain)
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED
    # The change is 1,000 per line: the client's step is not needed.
    assert _statuses(request) == ["open", "waiting", "skipped"]
    (message,) = mail.outbox
    assert message.to == [chain.member("approver").user.email]
    assert "Net profit impact" in message.body
    assert "Net profit impact over the draft: \u2212NZ$2,000.00" in message.body  # 2 x 1,000
    assert message.alternatives[0][1] == "text/html"
    link = ApprovalLink.objects.for_firm(chain.firm).get()
    assert link.token_hash != _link_token(message)  # only a hash is stored
    assert len(link.token_hash) == 64


def test_a_failed_send_leaves_the_step_unnotified_and_the_next_try_mails_it_once(chain, flaky_mail):
    step = _steps(_submit(chain)).get(position=1)
    flaky_mail.failures = 1
    with pytest.raises(smtplib.SMTPException):
        approvals.approval_step_notify(firm=chain.firm, step_id=step.pk)
    step.refresh_from_db()
    assert step.notified_at is None  # still to be sent
    assert mail.outbox == []
    assert not ApprovalLink.objects.for_firm(chain.firm).exists()  # no link nobody got

    assert approvals.approval_step_notify(firm=chain.firm, step_id=step.pk) == 1
    # The task delivered again (acks_late) mails nothing more.
    assert approvals.approval_step_notify(firm=chain.firm, step_id=step.pk) == 0
    (message,) = mail.outbox
    assert message.to == [chain.member("approver").user.email]
    step.refresh_from_db()
    assert step.notified_at is not None
    # The link in the email that went out is the one that works.
    context = approvals.approval_link_check(token=_link_token(message))
    assert context.step == step


def test_a_mail_server_lost_after_one_of_a_steps_emails_mails_each_approver_once(chain, flaky_mail):
    # Found by bench/faults.py's SMTP server closing a session after one email: the step's
    # emails went over one connection in one transaction, so the retry mailed the first
    # approver a second time.
    admin = chain.member("admin").user
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=admin,
        steps=[{"name": "Manager", "roles": ["approver"], "member_ids": [admin.pk]}],
    )
    step = _steps(_submit(chain)).get(position=1)
    flaky_mail.delivered_before_failing = 1
    flaky_mail.failures = 1
    with pytest.raises(smtplib.SMTPException):
        approvals.approval_step_notify(firm=chain.firm, step_id=step.pk)
    step.refresh_from_db()
    assert step.notified_at is None and len(mail.outbox) == 1

    assert approvals.approval_step_notify(firm=chain.firm, step_id=step.pk) == 1
    assert approvals.approval_step_notify(firm=chain.firm, step_id=step.pk) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [chain.member("approver").user.email, admin.email]
    )
    step.refresh_from_db()
    assert step.notified_at is not None
    for message in mail.outbox:
        assert approvals.approval_link_check(token=_link_token(message)).step == step
    # Firm B's approvals are untouched.
    assert not ApprovalLink.objects.exclude(firm=chain.firm).exists()


def test_the_task_retries_a_failed_send_with_backoff_and_mails_once(
    chain, flaky_mail, django_capture_on_commit_callbacks
):
    flaky_mail.failures = 1
    with pytest.raises(Retry) as retry, django_capture_on_commit_callbacks(execute=True):
        request = _submit(chain)
    assert 0 <= retry.value.when <= 60  # the first, shortest, of the growing waits
    step = _steps(request).get(position=1)
    assert step.notified_at is None
    assert mail.outbox == []

    countdowns, raised = worker_retries(retry.value)
    assert (len(countdowns), raised) == (1, None)
    assert [m.to for m in mail.outbox] == [[chain.member("approver").user.email]]
    step.refresh_from_db()
    assert step.notified_at is not None
    # Delivered once more (acks_late): nothing more is mailed.
    assert approval_step_notify_task.delay(chain.firm.pk, step.pk).get() == 0
    assert len(mail.outbox) == 1
    assert flaky_mail.attempts == 2


def test_a_large_change_adds_the_conditional_step(firm_a, chain):
    chain.draft = _draft(chain, prepared_by=chain.member("owner").user, change="6000")
    request = _submit(chain)
    assert _statuses(request) == ["open", "waiting", "waiting"]


def test_a_draft_that_breaks_its_policy_or_has_no_chain_cannot_be_submitted(firm_a):
    draft = _draft(firm_a, prepared_by=firm_a.member("owner").user)
    with pytest.raises(approvals.ApprovalError, match="no approval chain"):
        approvals.draft_submit(firm=firm_a.firm, draft=draft, user=firm_a.member("owner").user)
    DraftLine.objects.for_firm(firm_a.firm).update(accepted=False)
    with pytest.raises(approvals.ApprovalError, match="accept or edit every line"):
        approvals.draft_submit(firm=firm_a.firm, draft=draft, user=firm_a.member("owner").user)


# --- Segregation of duties ---------------------------------------------------------------------


def test_the_preparer_cannot_approve_any_step(chain):
    _submit(chain)
    _decide(chain, _member(chain, "approver"))
    # The owner prepared the draft; step 2 names the owner role.
    with pytest.raises(approvals.ApprovalError, match="prepared or edited"):
        _decide(chain, _member(chain, "owner"))
    assert (
        not ApprovalDecision.objects.for_firm(chain.firm)
        .filter(email=chain.member("owner").user.email)
        .exists()
    )


def test_anyone_who_edited_the_draft_cannot_approve(chain):
    admin = chain.member("admin").user
    line = DraftLine.objects.for_firm(chain.firm).filter(draft=chain.draft).first()
    draft_line_edit(
        firm=chain.firm,
        draft=chain.draft,
        line=line,
        period=NOV,
        amount="5600",
        reason="The landlord confirmed",
        user=admin,
    )
    chain.draft.refresh_from_db()
    _submit(chain)
    _decide(chain, _member(chain, "approver"))
    with pytest.raises(approvals.ApprovalError, match="prepared or edited"):
        _decide(chain, _member(chain, "admin"))


def test_an_external_approver_with_an_editors_email_is_the_same_person(chain):
    external = approvals.external_approver_register(
        firm=chain.firm,
        organisation=chain.organisation,
        email=chain.member("owner").user.email.upper(),
        user=None,
    )
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=None,
        steps=[{"name": "Client", "external_approver_ids": [external.pk]}],
    )
    _submit(chain)
    with pytest.raises(approvals.ApprovalError, match="prepared or edited"):
        _decide(chain, approvals.approver_for_external(external=external), channel="email")


def test_one_person_approves_at_most_one_step(chain, django_capture_on_commit_callbacks):
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=None,
        steps=[
            {"name": "Manager", "roles": ["approver", "admin"]},
            {"name": "Partner", "roles": ["approver", "admin"]},
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        request = _submit(chain)
    with django_capture_on_commit_callbacks(execute=True):
        _decide(chain, _member(chain, "approver"))
    # Step 2's links go to the admin only: the approver could not use one.
    assert [m.to for m in mail.outbox[-1:]] == [[chain.member("admin").user.email]]
    assert len(mail.outbox) == 3  # step 1: approver and admin; step 2: admin
    with pytest.raises(approvals.ApprovalError, match="at most one step"):
        _decide(chain, _member(chain, "approver"))
    _decide(chain, _member(chain, "admin"))
    request.refresh_from_db()
    assert request.status == ApprovalRequest.Status.APPROVED


def test_steps_are_decided_in_order(chain):
    request = _submit(chain)
    second = _steps(request).get(position=2)
    with pytest.raises(approvals.ApprovalError, match="in order"):
        _decide(chain, _member(chain, "admin"), step_id=second.pk)
    # Without naming a step, the open one is the first, which the admin is not an approver of.
    with pytest.raises(approvals.ApprovalError, match="not an approver of step 1"):
        _decide(chain, _member(chain, "admin"))
    assert _statuses(request) == ["open", "waiting", "skipped"]


def test_a_member_whose_role_cannot_approve_is_refused_even_if_named(chain):
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=None,
        steps=[{"name": "Manager", "member_ids": [chain.member("approver").user.pk]}],
    )
    _submit(chain)
    membership = chain.member("approver")
    membership.role = "viewer"
    membership.save()
    with pytest.raises(approvals.ApprovalError, match="not an approver"):
        _decide(chain, _member(chain, "approver"))


def test_a_draft_that_changes_after_an_approval_goes_back_to_the_first_step(chain):
    first = _submit(chain)
    _decide(chain, _member(chain, "approver"))
    assert _statuses(first) == ["approved", "open", "skipped"]
    # The draft changes (a rollback, an edit through another channel): its revision moves.
    Draft.objects.for_firm(chain.firm).filter(pk=chain.draft.pk).update(revision=F("revision") + 1)
    with pytest.raises(approvals.ApprovalError, match="back to the first step"):
        _decide(chain, _member(chain, "admin"))
    first.refresh_from_db()
    assert first.status == ApprovalRequest.Status.WITHDRAWN
    again = _pending(chain)
    assert again.revision == first.revision + 1
    assert _statuses(again) == ["open", "waiting", "skipped"]
    # The earlier approval does not count: the manager decides step 1 again.
    _decide(chain, _member(chain, "approver"))
    _decide(chain, _member(chain, "admin"))
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED


def test_restart_if_changed_is_idempotent(chain):
    _submit(chain)
    assert (
        approvals.approval_request_restart_if_changed(firm=chain.firm, draft=chain.draft) is False
    )
    Draft.objects.for_firm(chain.firm).filter(pk=chain.draft.pk).update(revision=9)
    assert approvals.approval_request_restart_if_changed(firm=chain.firm, draft=chain.draft)
    assert not approvals.approval_request_restart_if_changed(firm=chain.firm, draft=chain.draft)
    assert _pending(chain).revision == 9


def test_reject_needs_a_comment_and_request_changes_returns_the_draft(chain):
    _submit(chain)
    with pytest.raises(approvals.ApprovalError, match="comment"):
        _decide(chain, _member(chain, "approver"), "reject")
    decision = _decide(
        chain, _member(chain, "approver"), "request_changes", comment="Rent looks high"
    )
    assert decision.channel == "screen"
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.DRAFT  # back to the preparer, editable
    request = ApprovalRequest.objects.for_firm(chain.firm).get(draft=chain.draft)
    assert request.status == ApprovalRequest.Status.CHANGES_REQUESTED


# --- The screen ------------------------------------------------------------------------------


def test_decide_on_the_screen_and_see_the_timeline(client, chain, firm_b):
    _submit(chain)
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    client.force_login(chain.member("approver").user)
    response = client.post(reverse("draft_approval_decide", args=args), {"decision": "approve"})
    assert response.status_code == 302
    decision = ApprovalDecision.objects.for_firm(chain.firm).get()
    assert (decision.channel, decision.user) == ("screen", chain.member("approver").user)
    page = client.get(reverse("draft_approval", args=args))
    assert page.status_code == 200
    assert "Approved by" in page.content.decode()
    # The preparer's role cannot decide at all; the owner who prepared it is refused by SoD.
    client.force_login(chain.member("preparer").user)
    assert client.post(reverse("draft_approval_decide", args=args)).status_code == 403
    client.force_login(chain.member("owner").user)
    client.post(reverse("draft_approval_decide", args=args), {"decision": "approve"})
    assert ApprovalDecision.objects.for_firm(chain.firm).count() == 1
    client.force_login(firm_b.member("owner").user)
    assert client.get(reverse("draft_approval", args=args)).status_code == 404


def test_submit_on_the_screen(client, chain, django_capture_on_commit_callbacks):
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    client.force_login(chain.member("viewer").user)
    assert client.post(reverse("draft_submit", args=args)).status_code == 403
    client.force_login(chain.member("owner").user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("draft_submit", args=args)).status_code == 302
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED


# --- Email links -------------------------------------------------------------------------------


@pytest.fixture
def emailed(chain, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    chain.token = _link_token(mail.outbox[0])
    chain.url = reverse("approval_link", args=[chain.token])
    return chain


def _nothing_decided(cast):
    assert not ApprovalDecision.objects.for_firm(cast.firm).exists()
    assert _statuses(_pending(cast))[0] == "open"


def test_get_shows_the_summary_and_decides_nothing(client, emailed):
    for _ in range(3):  # a mail scanner, a preview, the approver
        response = client.get(emailed.url)
        assert response.status_code == 200
    page = response.content.decode()
    assert "Approve" in page and "Reject" in page
    assert "Net profit impact" in page
    _nothing_decided(emailed)
    assert ApprovalLink.objects.for_firm(emailed.firm).get().used_at is None


def test_post_decides_once(client, emailed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(emailed.url, {"decision": "approve", "comment": "Fine"})
    assert response.status_code == 200
    assert "Decision recorded" in response.content.decode()
    assert "You approved step 1 (" in response.content.decode()
    decision = ApprovalDecision.objects.for_firm(emailed.firm).get()
    assert (decision.channel, decision.email, decision.comment) == (
        "email",
        emailed.member("approver").user.email.lower(),
        "Fine",
    )
    # The next step's approvers (the admin by name; the owner prepared it) got their links.
    assert [m.to for m in mail.outbox[1:]] == [[emailed.member("admin").user.email]]
    # Reused: refused, nothing more decided.
    again = client.post(emailed.url, {"decision": "reject", "comment": "Changed my mind"})
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert ApprovalDecision.objects.for_firm(emailed.firm).count() == 1


def test_a_tampered_link_is_refused(client, emailed):
    tampered = emailed.token[:-3] + ("abc" if not emailed.token.endswith("abc") else "xyz")
    url = reverse("approval_link", args=[tampered])
    for method in (client.get, client.post):
        response = method(url, {"decision": "approve"}) if method == client.post else method(url)
        assert response.status_code == 404
        assert "not valid" in response.content.decode()
    _nothing_decided(emailed)


def test_an_expired_link_is_refused(client, emailed):
    ApprovalLink.objects.for_firm(emailed.firm).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.post(emailed.url, {"decision": "approve"})
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    _nothing_decided(emailed)


def test_links_expire_after_the_configured_days(emailed, settings):
    link = ApprovalLink.objects.for_firm(emailed.firm).get()
    assert (
        dt.timedelta(days=6, hours=23) < link.expires_at - link.created_at <= dt.timedelta(days=7)
    )
    settings.APPROVAL_LINK_DAYS = 2
    assert approvals.link_lifetime() == dt.timedelta(days=2)


def test_a_stale_link_is_refused_when_the_draft_changed(client, emailed):
    Draft.objects.for_firm(emailed.firm).filter(pk=emailed.draft.pk).update(
        revision=F("revision") + 1
    )
    for response in (client.get(emailed.url), client.post(emailed.url, {"decision": "approve"})):
        assert response.status_code == 410
        assert "moved on" in response.content.decode()
    assert not ApprovalDecision.objects.for_firm(emailed.firm).exists()


def test_a_stale_link_is_refused_when_the_step_was_decided_elsewhere(client, emailed):
    other = UserFactory()
    membership_create(firm=emailed.firm, user=other, role="approver")
    _decide(emailed, approvals.approver_for_member(firm=emailed.firm, user=other))
    response = client.post(emailed.url, {"decision": "approve"})
    assert response.status_code == 410
    assert ApprovalDecision.objects.for_firm(emailed.firm).count() == 1


def test_a_link_opened_by_someone_else_signed_in_is_refused(client, emailed):
    client.force_login(emailed.member("admin").user)
    for response in (client.get(emailed.url), client.post(emailed.url, {"decision": "approve"})):
        assert response.status_code == 403
        assert "someone else" in response.content.decode()
    _nothing_decided(emailed)


def test_a_link_of_someone_segregation_forbids_decides_nothing_and_stays_unspent(client, chain):
    request = _submit(chain)
    # A link for the preparer (the owner) should never be sent; if it exists it cannot decide.
    _link, token = approvals.approval_link_create(
        firm=chain.firm,
        step=_steps(request).get(position=1),
        approver=_member(chain, "owner"),
    )
    response = client.post(reverse("approval_link", args=[token]), {"decision": "approve"})
    assert response.status_code == 409
    assert "prepared or edited" in response.content.decode()
    _nothing_decided(chain)
    assert ApprovalLink.objects.for_firm(chain.firm).get(pk=_link.pk).used_at is None


def test_an_external_approver_signs_off_the_conditional_step_by_link(
    client, chain, django_capture_on_commit_callbacks
):
    chain.draft = _draft(chain, prepared_by=chain.member("owner").user, change="6000")
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
        _decide(chain, _member(chain, "approver"))
        _decide(chain, _member(chain, "admin"))
    client_email = next(m for m in mail.outbox if m.to == ["budget.owner@client.example"])
    url = reverse("approval_link", args=[_link_token(client_email)])
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"decision": "approve"}).status_code == 200
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.APPROVED
    decision = ApprovalDecision.objects.for_firm(chain.firm).get(step__position=3)
    assert decision.external_approver == chain.client_owner
    assert decision.channel == "email"


def test_links_are_rate_limited(client, emailed):
    statuses = [client.get(emailed.url).status_code for _ in range(approvals_rate() + 1)]
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {200}
    _nothing_decided(emailed)


def _address() -> str:
    # Made up for each test, so tests running at the same time do not share a budget.
    return f"203.0.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def test_behind_a_trusted_proxy_each_client_has_its_own_link_budget(client, emailed, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # every request arrives from the proxy's one address
    alice, bob = _address(), _address()
    statuses = [
        client.get(emailed.url, HTTP_X_FORWARDED_FOR=alice).status_code
        for _ in range(approvals_rate() + 1)
    ]
    assert statuses[-1] == 429
    assert client.get(emailed.url, HTTP_X_FORWARDED_FOR=bob).status_code == 200
    # Bob claiming to be someone else: the proxy appends his own address, which is what counts.
    forged = f"{_address()}, {bob}"
    assert client.get(emailed.url, HTTP_X_FORWARDED_FOR=forged).status_code == 200
    assert client.get(emailed.url, HTTP_X_FORWARDED_FOR=f"{bob}, {alice}").status_code == 429


def test_without_a_trusted_proxy_a_forged_forwarded_for_buys_no_more_tries(
    client, emailed, settings
):
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [
        client.get(emailed.url, HTTP_X_FORWARDED_FOR=_address()).status_code
        for _ in range(approvals_rate() + 1)
    ]
    assert statuses[-1] == 429


def approvals_rate() -> int:
    from budgeting.approvals.views import LINK_RATE

    return LINK_RATE


# --- The approval chain screen ----------------------------------------------------------------


def _chain_form(steps):
    data = {
        "form-TOTAL_FORMS": str(len(steps)),
        "form-INITIAL_FORMS": "0",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "10",
        "reason": "Partner sign-off for big changes",
    }
    for index, step in enumerate(steps):
        for key, value in step.items():
            data[f"form-{index}-{key}"] = value
    return data


def test_the_chain_is_edited_on_its_screen_by_policy_managers_only(client, firm_a, firm_b):
    url = reverse("approval_chain_edit", args=[firm_a.firm.slug, firm_a.organisation.pk])
    client.force_login(firm_a.member("preparer").user)
    assert client.get(url).status_code == 403
    client.force_login(firm_a.member("admin").user)
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"external-email": "Owner@Client.example", "external-name": "Olive"}
    )
    assert response.status_code == 302
    olive = ExternalApprover.objects.for_firm(firm_a.firm).get()
    assert olive.email == "owner@client.example"
    response = client.post(
        url,
        _chain_form(
            [
                {"name": "Manager", "roles": ["approver"], "condition": "always"},
                {
                    "name": "Client",
                    "external_approver_ids": [str(olive.pk)],
                    "condition": "change_above",
                    "change_above": "10000",
                },
                {"name": "", "condition": "always"},  # a blank row is skipped
            ]
        ),
    )
    assert response.status_code == 302
    policy = firm_a.organisation.approval_chain
    assert [s["name"] for s in policy.steps] == ["Manager", "Client"]
    assert policy.steps[1]["change_above"] == "10000.00"
    assert policy.history.first().history_change_reason == "Partner sign-off for big changes"
    # The service's refusals show on the form; nothing is saved.
    response = client.post(url, _chain_form([{"name": "Nobody", "condition": "always"}]))
    assert response.status_code == 400
    assert "names nobody" in response.content.decode()
    policy.refresh_from_db()
    assert policy.version == 1
    client.force_login(firm_b.member("owner").user)
    assert client.get(url).status_code == 404


# --- Changes while the draft waits for approval --------------------------------------------------


def _rent(cast):
    return DraftLine.objects.for_firm(cast.firm).filter(draft=cast.draft, account__code="469").get()


def test_editing_a_submitted_draft_restarts_approval_and_bars_the_editor(
    chain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _submit(chain)
    _decide(chain, _member(chain, "approver"))
    mail.outbox.clear()
    admin = chain.member("admin").user
    with django_capture_on_commit_callbacks(execute=True):
        draft_line_edit(
            firm=chain.firm,
            draft=chain.draft,
            line=_rent(chain),
            period=NOV,
            amount="5700",
            reason="The landlord's letter",
            user=admin,
        )
    first.refresh_from_db()
    assert first.status == ApprovalRequest.Status.WITHDRAWN
    again = _pending(chain)
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.SUBMITTED
    assert again.revision == chain.draft.revision == first.revision + 1
    assert _statuses(again) == ["open", "waiting", "skipped"]
    # Step 1's approvers are emailed again: their earlier approval was of other figures.
    assert [m.to for m in mail.outbox] == [[chain.member("approver").user.email]]
    _decide(chain, _member(chain, "approver"))
    # The admin edited the draft, so cannot approve step 2 any more.
    with pytest.raises(approvals.ApprovalError, match="prepared or edited"):
        _decide(chain, _member(chain, "admin"))


def test_a_submitted_draft_is_edited_on_its_screen_which_says_what_that_does(client, chain, firm_b):
    _submit(chain)
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    client.force_login(chain.member("preparer").user)
    page = client.get(reverse("draft_detail", args=args)).content.decode()
    assert "Changing a figure now sends the draft back to the first approval step" in page
    assert "Not ready to submit" not in page
    line = _rent(chain)
    response = client.post(
        reverse("draft_line_edit", args=[*args, line.pk]),
        {"period": "2026-11", "amount": "5650", "reason": "New lease"},
    )
    assert response.status_code == 302
    round_ = _pending(chain)
    assert round_.revision == 2
    assert ApprovalRequest.objects.for_firm(chain.firm).filter(status="withdrawn").count() == 1
    # Firm B's member cannot reach it.
    client.force_login(firm_b.member("owner").user)
    assert client.get(reverse("draft_detail", args=args)).status_code == 404


def test_the_approval_screen_says_who_the_open_step_waits_for(client, chain):
    _submit(chain)
    _decide(chain, _member(chain, "approver"))
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    client.force_login(chain.member("viewer").user)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    # Step 2 names the owner role (the preparer: excluded) and the admin.
    waiting = page.split("Waiting for: ")[1].split("</p>")[0]
    assert chain.member("admin").user.display_name in waiting
    assert chain.member("owner").user.display_name not in waiting
    assert "\u2212NZ$2,000.00" in page  # the net profit impact in the draft's currency


def test_changes_are_requested_on_lines_from_the_screen_and_shown_on_the_draft(
    client, chain, firm_b
):
    _submit(chain)
    args = [chain.firm.slug, chain.organisation.pk, chain.draft.pk]
    rent = _rent(chain)
    client.force_login(chain.member("approver").user)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert f'name="lines" value="{rent.pk}"' in page
    response = client.post(
        reverse("draft_approval_decide", args=args),
        {
            "decision": "request_changes",
            "comment": "Rent: use the new lease",
            "lines": [str(rent.pk)],
            "revision": str(chain.draft.revision),
        },
    )
    assert response.status_code == 302
    decision = ApprovalDecision.objects.for_firm(chain.firm).get()
    assert (decision.decision, decision.line_ids) == ("request_changes", [rent.pk])
    chain.draft.refresh_from_db()
    assert chain.draft.status == Draft.Status.DRAFT
    timeline = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Lines: Rent (469)" in timeline
    client.force_login(chain.member("owner").user)
    draft = client.get(reverse("draft_detail", args=args)).content.decode()
    assert "Rent: use the new lease" in draft
    assert draft.count('<br><span class="badge warn">changes requested</span>') == 1
    # Firm B cannot decide on firm A's draft.
    client.force_login(firm_b.member("approver").user)
    response = client.post(reverse("draft_approval_decide", args=args), {"decision": "approve"})
    assert response.status_code == 404


def test_changes_are_requested_on_lines_from_the_email_link(
    client, chain, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(chain)
    token = _link_token(mail.outbox[0])
    rent = _rent(chain)
    url = reverse("approval_link", args=[token])
    assert f'name="lines" value="{rent.pk}"' in client.get(url).content.decode()
    response = client.post(
        url, {"decision": "request_changes", "comment": "Rent?", "lines": [str(rent.pk)]}
    )
    assert response.status_code == 200
    assert "You asked for changes on step 1 (" in response.content.decode()  # not "You changes"
    decision = ApprovalDecision.objects.for_firm(chain.firm).get()
    assert (decision.channel, decision.line_ids) == ("email", [rent.pk])
    assert ApprovalLink.objects.for_firm(chain.firm).get().used_at is not None


# --- Every segregation-of-duties rule, on the screen and through the email link ------------------
# (The API's are in tests/budgeting/test_api_approvals.py.)


def _decide_by(channel, client, cast, role, step):
    """Try to approve `step` as the member of `role` through `channel`; returns the number of
    decisions recorded by the attempt."""
    before = ApprovalDecision.objects.for_firm(cast.firm).count()
    user = cast.member(role).user
    if channel == "screen":
        client.force_login(user)
        args = [cast.firm.slug, cast.organisation.pk, cast.draft.pk]
        cast.draft.refresh_from_db()
        response = client.post(
            reverse("draft_approval_decide", args=args),
            {"decision": "approve", "step": step.pk, "revision": cast.draft.revision},
        )
        assert response.status_code in (302, 403)
    else:
        client.logout()
        step.refresh_from_db()
        _link, token = approvals.approval_link_create(
            firm=cast.firm, step=step, approver=_member(cast, role)
        )
        response = client.post(reverse("approval_link", args=[token]), {"decision": "approve"})
        assert response.status_code in (200, 409, 410)
        if response.status_code != 200:
            assert ApprovalLink.objects.for_firm(cast.firm).get(pk=_link.pk).used_at is None
    return ApprovalDecision.objects.for_firm(cast.firm).count() - before


@pytest.fixture
def two_steps(chain):
    """Step 1 the approver role or the admin; step 2 the owner role (the preparer) or the admin."""
    admin = chain.member("admin").user
    approvals.approval_chain_update(
        firm=chain.firm,
        organisation=chain.organisation,
        user=None,
        steps=[
            {"name": "Manager", "roles": ["approver"], "member_ids": [admin.pk]},
            {"name": "Partner", "roles": ["owner"], "member_ids": [admin.pk]},
        ],
    )
    chain.request = _submit(chain)
    chain.steps = list(_steps(chain.request))
    return chain


@pytest.mark.parametrize("channel", ["screen", "link"])
def test_the_preparer_is_refused_on_every_channel(client, two_steps, channel):
    cast = two_steps
    assert _decide_by(channel, client, cast, "approver", cast.steps[0]) == 1
    assert _decide_by(channel, client, cast, "owner", cast.steps[1]) == 0  # prepared it
    assert _statuses(cast.request) == ["approved", "open"]


@pytest.mark.parametrize("channel", ["screen", "link"])
def test_an_editor_is_refused_on_every_channel(client, two_steps, channel):
    cast = two_steps
    draft_line_edit(
        firm=cast.firm,
        draft=cast.draft,
        line=DraftLine.objects.for_firm(cast.firm).filter(draft=cast.draft).first(),
        period=NOV,
        amount="5550",
        reason="Checked the lease",
        user=cast.member("admin").user,
    )
    cast.request = _pending(cast)
    cast.steps = list(_steps(cast.request))
    assert _decide_by(channel, client, cast, "admin", cast.steps[0]) == 0
    assert _decide_by(channel, client, cast, "approver", cast.steps[0]) == 1
    assert _decide_by(channel, client, cast, "admin", cast.steps[1]) == 0


@pytest.mark.parametrize("channel", ["screen", "link"])
def test_one_person_one_step_on_every_channel(client, two_steps, channel):
    cast = two_steps
    assert _decide_by(channel, client, cast, "admin", cast.steps[0]) == 1
    assert _decide_by(channel, client, cast, "admin", cast.steps[1]) == 0
    assert _statuses(cast.request) == ["approved", "open"]


@pytest.mark.parametrize("channel", ["screen", "link"])
def test_steps_in_order_on_every_channel(client, two_steps, channel):
    cast = two_steps
    assert _decide_by(channel, client, cast, "admin", cast.steps[1]) == 0  # step 1 is open
    assert _statuses(cast.request) == ["open", "waiting"]
    assert _decide_by(channel, client, cast, "approver", cast.steps[0]) == 1
    assert _decide_by(channel, client, cast, "admin", cast.steps[1]) == 1
    cast.draft.refresh_from_db()
    assert cast.draft.status == Draft.Status.APPROVED
