"""Drafts by department: a department's manager, inside or outside the firm, gets a link that
shows and changes only their department's lines; the gap to the overall figures must be closed
or explained, and every department done, before the draft is submitted."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from budgeting.approvals import services as approvals
from budgeting.approvals.selectors import draft_editors
from budgeting.audit.selectors import (
    AuditFilter,
    audit_entries_load,
    audit_headers,
    draft_line_why,
)
from budgeting.departments import services
from budgeting.departments.selectors import department_submission_problems, draft_gaps
from budgeting.models import (
    ApprovalRequest,
    DepartmentAssignment,
    DepartmentGapNote,
    Draft,
    DraftBalance,
)
from tests.budgeting.department_data import DEC, NOV, department_draft_create, department_line
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _assign(cast, option, **manager):
    with cast.committed():
        return services.department_assign(
            firm=cast.firm,
            draft=cast.draft,
            option=option,
            user=cast.member("preparer").user,
            **manager,
        )


def _link(message) -> str:
    return re.search(r"/departments/([^/\s]+)/", message.body)[1]


def _figure(cast, code, option_name, period=NOV) -> Decimal:
    line = cast.lines[(code, option_name)]
    return DraftBalance.objects.for_firm(cast.firm).get(line=line, period=period).effective_amount


def _edit(client, token, cast, code="477", period="2026-11", amount="3500", reason="New cook"):
    return client.post(
        reverse("department_link", args=[token]),
        {
            "action": "edit",
            "line": cast.lines[(code, "Kitchen")].pk,
            "period": period,
            "amount": amount,
            "reason": reason,
        },
    )


# --- Assigning and the link ----------------------------------------------------------------------


def test_an_external_manager_is_emailed_a_link_to_their_department_only(
    departments, client, mailoutbox
):
    cast = departments
    _assign(cast, cast.kitchen, email="Chef@Client.example", name="Kim Chef")

    (message,) = mailoutbox
    assert message.to == ["chef@client.example"]
    assert "Kitchen" in message.subject
    response = client.get(reverse("department_link", args=[_link(message)]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kitchen" in page and "Wages" in page and "Sales" in page
    # Only Kitchen's lines: its Wages of 3,000, never Bar's 1,500 or the overall 5,000.
    assert "3,000.00" in page and "1,500.00" not in page and "5,000.00" not in page
    # GET changes nothing (mail scanners follow links).
    assert DepartmentAssignment.objects.for_firm(cast.firm).get().edits == 0


def test_the_manager_edits_a_figure_through_the_drafts_line_edit(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    revision = cast.draft.revision

    response = _edit(client, _link(mailoutbox[0]), cast)

    assert response.status_code == 302
    assert _figure(cast, "477", "Kitchen") == Decimal("3500.00")
    balance = DraftBalance.objects.for_firm(cast.firm).get(
        line=cast.lines[("477", "Kitchen")], period=NOV
    )
    # A manager outside the firm is nobody's user: the month records them by their email.
    assert balance.edit_reason == "New cook"
    assert (balance.edited_by, balance.edited_by_email) == (None, "chef@client.example")
    draft = Draft.objects.for_firm(cast.firm).get(pk=cast.draft.pk)
    assert draft.revision == revision + 1
    assert balance.history.first().history_change_reason.startswith("Edited: New cook")
    assignment = DepartmentAssignment.objects.for_firm(cast.firm).get()
    assert assignment.edits == 1
    # They edited the draft: they can no longer approve it (segregation of duties).
    assert "chef@client.example" in draft_editors(firm=cast.firm, draft=draft)


def test_the_history_names_the_manager_outside_the_firm_as_who_edited(
    departments, client, mailoutbox
):
    # As an approval decision through an emailed link names its external approver: the audit
    # log, its CSV and API, and "why this figure" say who, never "the system".
    cast = departments
    _assign(cast, cast.kitchen, email="Chef@Client.example", name="Kim Chef")
    token = _link(mailoutbox[0])
    assert _edit(client, token, cast, reason="New cook").status_code == 302
    client.post(reverse("department_link", args=[token]), {"action": "done"})

    flt = AuditFilter(draft_id=cast.draft.pk)
    headers = list(audit_headers(firm=cast.firm, organisation=cast.organisation, flt=flt))
    entries = audit_entries_load(headers)
    by_model = {}
    for entry in entries:
        by_model.setdefault(entry.model_key, []).append(entry)
    (edit,) = [e for e in by_model["draftbalance"] if e.kind == "Changed"]
    assert edit.user is None and edit.who_email == "chef@client.example"
    assert edit.sentence.startswith("chef@client.example (outside the firm) changed the draft")
    assert edit.reason == "Edited: New cook"
    acts = [e for e in by_model["departmentassignment"] if e.outsider]
    assert [e.reason for e in reversed(acts)] == [
        "Wages (477) · Kitchen Nov 2026 edited by its manager",
        "Kitchen done (chef@client.example)",
    ]
    # Assigning was the preparer's act, not the manager's.
    (assigned,) = [e for e in by_model["departmentassignment"] if e.kind == "Created"]
    assert assigned.user == cast.member("preparer").user and assigned.outsider == ""

    why = draft_line_why(firm=cast.firm, line=cast.lines[("477", "Kitchen")])
    assert [(d.who, d.action) for d in why.decisions] == [("chef@client.example", "edited")]

    preparer = cast.member("preparer").user
    client.force_login(preparer)
    url = reverse("audit_log_csv", args=[cast.firm.slug, cast.organisation.pk])
    exported = b"".join(client.get(url).streaming_content).decode()
    assert "chef@client.example,Draft balance" in exported


def test_the_manager_cannot_edit_another_departments_line(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    response = client.post(
        reverse("department_link", args=[_link(mailoutbox[0])]),
        {
            "action": "edit",
            "line": cast.lines[("477", "Bar")].pk,
            "period": "2026-11",
            "amount": "9",
            "reason": "Not mine",
        },
    )
    assert response.status_code == 400
    assert _figure(cast, "477", "Bar") == Decimal("1500.00")


def test_an_edit_needs_a_reason_and_a_figure_the_budget_can_hold(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    token = _link(mailoutbox[0])
    assert _edit(client, token, cast, reason="  ").status_code == 400
    assert _edit(client, token, cast, amount="1e20").status_code == 400
    assert _edit(client, token, cast, amount="abc").status_code == 400
    assert _edit(client, token, cast, period="2031-01").status_code == 400
    assert _figure(cast, "477", "Kitchen") == Decimal("3000.00")


def test_done_ends_the_managers_edits(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    token = _link(mailoutbox[0])
    response = client.post(reverse("department_link", args=[token]), {"action": "done"})
    assert response.status_code == 302
    assignment = DepartmentAssignment.objects.for_firm(cast.firm).get()
    assert assignment.status == "done" and assignment.done_at is not None
    assert _edit(client, token, cast).status_code == 400
    assert _figure(cast, "477", "Kitchen") == Decimal("3000.00")
    # Reopened by the firm, the manager gets a new link and may edit again.
    with cast.committed():
        services.department_reopen(
            firm=cast.firm, assignment=assignment, user=cast.member("admin").user
        )
    assert _edit(client, _link(mailoutbox[-1]), cast).status_code == 302


def test_reassigning_ends_the_earlier_managers_link(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    old = _link(mailoutbox[0])
    _assign(cast, cast.kitchen, email="sous@client.example")
    new = _link(mailoutbox[1])

    response = client.get(reverse("department_link", args=[old]))
    assert response.status_code == 410
    assert "no longer works" in response.content.decode()
    assert client.get(reverse("department_link", args=[new])).status_code == 200
    assignment = DepartmentAssignment.objects.for_firm(cast.firm).get()
    assert assignment.manager_email == "sous@client.example"
    reasons = [h.history_change_reason for h in assignment.history.order_by("history_id")]
    assert reasons == [
        "Kitchen assigned to chef@client.example",
        "Kitchen reassigned from chef@client.example to sous@client.example",
    ]


def test_a_withdrawn_department_link_no_longer_works(departments, client, mailoutbox):
    cast = departments
    assignment = _assign(cast, cast.kitchen, email="chef@client.example")
    services.department_withdraw(
        firm=cast.firm, assignment=assignment, user=cast.member("preparer").user
    )
    assert client.get(reverse("department_link", args=[_link(mailoutbox[0])])).status_code == 410
    assert department_submission_problems(firm=cast.firm, draft=cast.draft) == []


def test_a_tampered_link_is_not_valid(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    token = _link(mailoutbox[0])
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for bad in (tampered, "x" + token, token.split(":")[0], "nonsense"):
        response = client.get(reverse("department_link", args=[bad]))
        assert response.status_code == 404, bad
        assert "not valid" in response.content.decode()


def test_a_link_expires(departments, client, mailoutbox, settings):
    cast = departments
    settings.DEPARTMENT_LINK_DAYS = 3
    _assign(cast, cast.kitchen, email="chef@client.example")
    token = _link(mailoutbox[0])
    with time_machine.travel(timezone.now() + dt.timedelta(days=2, hours=23)):
        assert client.get(reverse("department_link", args=[token])).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        response = client.get(reverse("department_link", args=[token]))
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        assert _edit(client, token, cast).status_code == 410
    assert _figure(cast, "477", "Kitchen") == Decimal("3000.00")


def test_a_token_naming_another_firm_opens_nothing(departments, firm_b, client, mailoutbox):
    """The firm comes from the token: firm A's assignment under firm B's id is found nowhere,
    even signed with the real key."""
    cast = departments
    assignment = _assign(cast, cast.kitchen, email="chef@client.example")
    payload = signing.loads(_link(mailoutbox[0]), salt=services.LINK_SALT)
    payload["f"] = firm_b.firm.pk
    forged = signing.dumps(payload, salt=services.LINK_SALT, compress=True)
    assert client.get(reverse("department_link", args=[forged])).status_code == 404
    assert _edit(client, forged, cast).status_code == 404
    assert DepartmentAssignment.objects.for_firm(cast.firm).get(pk=assignment.pk).edits == 0


def test_a_member_signed_in_as_someone_else_is_refused(departments, client, mailoutbox):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    client.force_login(cast.member("viewer").user)
    assert client.get(reverse("department_link", args=[_link(mailoutbox[0])])).status_code == 403


def test_an_email_of_a_member_makes_the_member_the_manager(departments, client, mailoutbox):
    cast = departments
    viewer = cast.member("viewer").user
    assignment = _assign(cast, cast.bar, email=viewer.email.upper())
    assert assignment.manager_user == viewer
    # A member edits as themselves, from the link or in the app.
    client.force_login(viewer)
    url = reverse(
        "department_detail",
        args=[cast.firm.slug, cast.organisation.pk, cast.draft.pk, assignment.pk],
    )
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "action": "edit",
            "line": cast.lines[("477", "Bar")].pk,
            "period": "2026-12",
            "amount": "2000",
            "reason": "Two more shifts",
        },
    )
    assert response.status_code == 302
    balance = DraftBalance.objects.for_firm(cast.firm).get(
        line=cast.lines[("477", "Bar")], period=DEC
    )
    assert (balance.edited_amount, balance.edited_by, balance.edit_reason) == (
        Decimal("2000.00"),
        viewer,
        "Two more shifts",
    )


def test_another_member_without_the_department_gets_404(departments, client, firm_a):
    cast = departments
    assignment = _assign(cast, cast.bar, manager_user=cast.member("viewer").user)
    client.force_login(cast.member("approver").user)
    url = reverse(
        "department_detail",
        args=[cast.firm.slug, cast.organisation.pk, cast.draft.pk, assignment.pk],
    )
    assert client.get(url).status_code == 404


def test_a_department_the_draft_has_no_lines_for_is_refused(departments):
    cast = departments
    with pytest.raises(services.DepartmentError, match="no lines for Events"):
        _assign(cast, cast.events, email="events@client.example")


def test_a_bad_email_is_refused(departments):
    with pytest.raises(services.DepartmentError, match="email"):
        _assign(departments, departments.kitchen, email="not an email")


# --- The gap, and submission ----------------------------------------------------------------------


def test_the_gap_shows_where_the_departments_do_not_add_up(departments):
    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    gaps = draft_gaps(firm=cast.firm, draft=cast.draft)
    assert gaps.category.name == "Department"
    rows = {account.code: gap for account, gap, _note in gaps.rows()}
    assert list(rows) == ["477"]  # Sales adds up
    assert [(m.period, m.overall, m.departments, m.gap) for m in rows["477"].months] == [
        (NOV, Decimal("5000.00"), Decimal("4500.00"), Decimal("500.00")),
        (DEC, Decimal("5000.00"), Decimal("4500.00"), Decimal("500.00")),
    ]


def test_an_account_no_department_has_a_line_for_is_not_a_gap(departments):
    # Rent is budgeted overall only (the category never split it): nothing to explain, named.
    cast = departments
    rent = AccountFactory(organisation=cast.organisation, code="469", name="Rent", type="EXPENSE")
    department_line(cast, cast.draft, rent, None, "6000")
    _assign(cast, cast.kitchen, email="chef@client.example")
    gaps = draft_gaps(firm=cast.firm, draft=cast.draft)
    assert [account.code for account, _gap, _note in gaps.rows()] == ["477"]
    assert [account.code for account in gaps.unsplit] == ["469"]
    problems = department_submission_problems(firm=cast.firm, draft=cast.draft)
    assert "for 1 account (477 Wages)" in problems[-1]


def test_submission_waits_for_every_department_and_every_gap(departments, client, mailoutbox):
    cast = departments
    preparer = cast.member("preparer").user
    _assign(cast, cast.kitchen, email="chef@client.example")
    _assign(cast, cast.bar, manager_user=cast.member("viewer").user)

    with pytest.raises(approvals.ApprovalError) as refused:
        approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=preparer)
    message = str(refused.value)
    assert (
        "2 departments not done yet: Bar" in message and "Kitchen (chef@client.example)" in message
    )
    assert "for 1 account (477 Wages)" in message
    assert not ApprovalRequest.objects.for_firm(cast.firm).exists()

    # Kitchen's manager closes the gap for November (3,500 + 1,500 = 5,000) and is done.
    kitchen_token, bar_token = _link(mailoutbox[0]), _link(mailoutbox[1])
    assert _edit(client, kitchen_token, cast, amount="3500").status_code == 302
    client.post(reverse("department_link", args=[kitchen_token]), {"action": "done"})
    client.post(reverse("department_link", args=[bar_token]), {"action": "done"})
    problems = department_submission_problems(firm=cast.firm, draft=cast.draft)
    assert problems == [
        "The departments do not add up to the overall figures for 1 account (477 Wages): make "
        "them add up or explain each gap."
    ]
    # December's gap is explained.
    services.department_gap_explain(
        firm=cast.firm,
        draft=cast.draft,
        account=cast.wages,
        reason="A December temp is budgeted overall only.",
        user=preparer,
    )
    assert department_submission_problems(firm=cast.firm, draft=cast.draft) == []
    request = approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=preparer)
    assert request.status == "pending"


def test_a_draft_without_departments_submits_as_before(departments):
    cast = departments
    assert department_submission_problems(firm=cast.firm, draft=cast.draft) == []
    approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=cast.member("preparer").user)


def test_an_explanation_can_be_taken_back(departments):
    cast = departments
    user = cast.member("preparer").user
    _assign(cast, cast.kitchen, email="chef@client.example")
    kwargs = {"firm": cast.firm, "draft": cast.draft, "account": cast.wages, "user": user}
    services.department_gap_explain(**kwargs, reason="Temp staff")
    assert len(draft_gaps(firm=cast.firm, draft=cast.draft).open) == 0
    assert services.department_gap_explain(**kwargs, reason="") is None
    assert not DepartmentGapNote.objects.for_firm(cast.firm).exists()
    assert len(draft_gaps(firm=cast.firm, draft=cast.draft).open) == 1
    with pytest.raises(services.DepartmentError):
        services.department_gap_explain(**kwargs, reason="")


def test_departments_are_options_of_one_category(departments):
    from tests.factories import TrackingOptionFactory

    cast = departments
    _assign(cast, cast.kitchen, email="chef@client.example")
    region = TrackingOptionFactory(organisation=cast.organisation, name="North")
    # A line of another category's option, so the draft can assign it.
    department_line(cast, cast.draft, cast.sales, region, "100")
    with pytest.raises(services.DepartmentError, match="options of"):
        _assign(cast, region, email="north@client.example")


def test_a_submitted_draft_takes_no_new_department(departments):
    cast = departments
    approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=cast.member("preparer").user)
    with pytest.raises(services.DepartmentError, match="submitted"):
        _assign(cast, cast.kitchen, email="chef@client.example")


def test_department_draft_create_is_per_firm(firm_a, firm_b):
    department_draft_create(firm_b)
    assert firm_b.draft.firm == firm_b.firm


def test_the_link_email_goes_once_however_often_its_task_runs(departments, mailoutbox):
    from budgeting.departments.tasks import department_link_send_task

    cast = departments
    assignment = _assign(cast, cast.kitchen, email="chef@client.example")
    assert len(mailoutbox) == 1
    # A redelivered task finds the email claimed.
    assert department_link_send_task(cast.firm.pk, assignment.pk) == 0
    assert len(mailoutbox) == 1
    # "Send again" is a new email, once.
    with cast.committed():
        services.department_link_resend(
            firm=cast.firm, assignment=assignment, user=cast.member("preparer").user
        )
    assert department_link_send_task(cast.firm.pk, assignment.pk) == 0
    assert [m.to for m in mailoutbox] == [["chef@client.example"]] * 2
