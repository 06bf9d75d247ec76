"""Rollback: a draft, or an approval chain, restored to an earlier revision exactly, as a new
audited revision; restoring a draft that waits for approval restarts approval."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.approvals import services as approvals
from budgeting.audit.services import RollbackError, approval_chain_restore, draft_restore
from budgeting.drafts.services import draft_line_edit
from budgeting.models import ApprovalRequest, ApprovalStep, Draft, DraftBalance, DraftLine
from tests.budgeting.approval_data import _draft

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def _figures(cast, draft) -> dict:
    return {
        (b.line.account.code, b.period): (b.edited_amount, b.edit_reason)
        for b in DraftBalance.objects.for_firm(cast.firm)
        .filter(line__draft=draft)
        .select_related("line__account")
    }


def _edit(cast, draft, period, amount, reason):
    line = DraftLine.objects.for_firm(cast.firm).filter(draft=draft, account__code="469").get()
    draft_line_edit(
        firm=cast.firm,
        draft=draft,
        line=line,
        period=period,
        amount=amount,
        reason=reason,
        user=cast.member("preparer").user,
    )
    return Draft.objects.for_firm(cast.firm).get(pk=draft.pk)


def test_a_restore_puts_back_exactly_the_earlier_figures(firm_a):
    draft = _draft(firm_a, prepared_by=firm_a.member("preparer").user)
    at_1 = _figures(firm_a, draft)
    draft = _edit(firm_a, draft, NOV, "5600", "Lease")  # revision 2
    at_2 = _figures(firm_a, draft)
    draft = _edit(firm_a, draft, DEC, "5700", "Lease, December")  # 3
    draft = _edit(firm_a, draft, NOV, "9000", "Typo")  # 4
    assert draft.revision == 4

    admin = firm_a.member("admin").user
    restored = draft_restore(
        firm=firm_a.firm, draft=draft, revision=2, user=admin, reason="Undo the typo"
    )
    assert restored.revision == 5  # a restore is a new revision
    assert _figures(firm_a, draft) == at_2
    assert at_2[("469", NOV)] == (Decimal("5600.00"), "Lease")
    assert at_2[("469", DEC)] == (None, "")
    last = Draft.history.filter(id=draft.pk).order_by("-history_date").first()
    assert last.history_change_reason == "Restored revision 2: Undo the typo"
    assert last.history_user == admin

    restored = draft_restore(firm=firm_a.firm, draft=restored, revision=1, user=admin)
    assert _figures(firm_a, draft) == at_1
    line = DraftLine.objects.for_firm(firm_a.firm).get(draft=draft, account__code="469")
    assert (line.accepted, line.edited, line.reason) == (True, False, "")  # as drafted
    # And forward again: revision 4 is restorable too.
    draft_restore(firm=firm_a.firm, draft=restored, revision=4, user=admin)
    assert _figures(firm_a, draft)[("469", NOV)] == (Decimal("9000.00"), "Typo")


def test_restoring_a_submitted_draft_restarts_approval(firm_a):
    owner = firm_a.member("owner").user
    approvals.approval_chain_update(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        user=None,
        steps=[{"name": "Manager", "roles": ["approver"]}, {"name": "Partner", "roles": ["admin"]}],
    )
    draft = _draft(firm_a, prepared_by=owner)
    draft = _edit(firm_a, draft, NOV, "5600", "Lease")
    first = approvals.draft_submit(firm=firm_a.firm, draft=draft, user=owner)
    approvals.approval_decide(
        firm=firm_a.firm,
        draft=draft,
        approver=approvals.approver_for_member(
            firm=firm_a.firm, user=firm_a.member("approver").user
        ),
        decision="approve",
        channel="screen",
    )
    draft_restore(firm=firm_a.firm, draft=draft, revision=1, user=owner)
    first.refresh_from_db()
    assert first.status == ApprovalRequest.Status.WITHDRAWN
    again = ApprovalRequest.objects.for_firm(firm_a.firm).get(draft=draft, status="pending")
    assert again.revision == 3
    assert list(
        ApprovalStep.objects.for_firm(firm_a.firm)
        .filter(request=again)
        .order_by("position")
        .values_list("status", flat=True)
    ) == ["open", "waiting"]


def test_only_earlier_revisions_of_open_drafts_restore(firm_a):
    draft = _draft(firm_a, prepared_by=firm_a.member("preparer").user)
    user = firm_a.member("admin").user
    with pytest.raises(RollbackError, match="earlier revision"):
        draft_restore(firm=firm_a.firm, draft=draft, revision=1, user=user)
    draft = _edit(firm_a, draft, NOV, "5600", "Lease")
    Draft.objects.for_firm(firm_a.firm).filter(pk=draft.pk).update(status="approved")
    with pytest.raises(RollbackError, match="approved"):
        draft_restore(firm=firm_a.firm, draft=draft, revision=1, user=user)


def test_an_approval_chain_restores_as_a_new_version(firm_a):
    def save(steps):
        return approvals.approval_chain_update(
            firm=firm_a.firm, organisation=firm_a.organisation, user=None, steps=steps
        )

    save([{"name": "Manager", "roles": ["approver"]}])
    save([{"name": "Anyone senior", "roles": ["admin", "owner"]}])
    restored = approval_chain_restore(
        firm=firm_a.firm, organisation=firm_a.organisation, version=1, user=None
    )
    assert restored.version == 3
    assert [s["name"] for s in restored.steps] == ["Manager"]
    assert restored.history.first().history_change_reason == "Restored version 1"
    with pytest.raises(RollbackError, match="no version 9"):
        approval_chain_restore(
            firm=firm_a.firm, organisation=firm_a.organisation, version=9, user=None
        )


def test_restore_on_the_screens(client, firm_a, firm_b):
    from django.urls import reverse

    draft = _draft(firm_a, prepared_by=firm_a.member("preparer").user)
    draft = _edit(firm_a, draft, NOV, "5600", "Lease")
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    url = reverse("draft_restore", args=args)
    client.force_login(firm_a.member("approver").user)
    assert client.post(url, {"revision": "1"}).status_code == 403
    client.force_login(firm_a.member("preparer").user)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Restore revision" in page
    assert client.post(url, {"revision": "1", "reason": "Back"}).status_code == 302
    assert _figures(firm_a, draft)[("469", NOV)] == (None, "")
    client.force_login(firm_b.member("owner").user)
    assert client.post(url, {"revision": "1"}).status_code == 404

    for steps in ([{"name": "A", "roles": ["approver"]}], [{"name": "B", "roles": ["admin"]}]):
        approvals.approval_chain_update(
            firm=firm_a.firm, organisation=firm_a.organisation, user=None, steps=steps
        )
    chain_args = [firm_a.firm.slug, firm_a.organisation.pk]
    client.force_login(firm_a.member("admin").user)
    assert (
        "Restore version 1"
        in client.get(reverse("approval_chain_edit", args=chain_args)).content.decode()
    )
    response = client.post(reverse("approval_chain_restore", args=chain_args), {"version": "1"})
    assert response.status_code == 302
    firm_a.organisation.approval_chain.refresh_from_db()
    assert firm_a.organisation.approval_chain.steps[0]["name"] == "A"


def _policy_save(cast, **changes):
    from budgeting.drafts.services import budget_policy_update

    values = {
        "scope": "all",
        "account_ids": [],
        "tracking_option_ids": [],
        "account_caps": {},
        "class_caps": {},
        "max_change_percent": None,
        "max_change_amount": None,
        "capex_account_ids": [],
        "extra_approval_above": None,
        "horizon": 6,
    } | changes
    return budget_policy_update(firm=cast.firm, organisation=cast.organisation, user=None, **values)


def test_a_budget_policy_restores_as_a_new_version_and_rechecks_open_drafts(firm_a):
    from budgeting.audit.services import budget_policy_restore

    _policy_save(firm_a, max_change_percent=Decimal("50"), class_caps={"EXPENSE": Decimal("9000")})
    draft = _draft(firm_a, prepared_by=firm_a.member("preparer").user)
    # Version 2 allows at most a 5% change: the draft's 10% lines now break it.
    _policy_save(firm_a, max_change_percent=Decimal("5"))
    from budgeting.drafts.services import drafts_recheck

    drafts_recheck(firm=firm_a.firm, organisation=firm_a.organisation)
    assert not DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft)[0].policy_ok
    restored = budget_policy_restore(
        firm=firm_a.firm, organisation=firm_a.organisation, version=1, user=None
    )
    assert restored.version == 3
    assert restored.max_change_percent == Decimal("50.00")
    assert restored.class_caps == {"EXPENSE": "9000.00"}
    assert restored.history.first().history_change_reason == "Restored version 1"
    assert all(
        line.policy_ok for line in DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft)
    )
    with pytest.raises(RollbackError, match="no version 7"):
        budget_policy_restore(
            firm=firm_a.firm, organisation=firm_a.organisation, version=7, user=None
        )


def test_budget_policy_versions_restore_on_their_screen(client, firm_a, firm_b):
    from django.urls import reverse

    _policy_save(firm_a, horizon=6)
    _policy_save(firm_a, horizon=12)
    args = [firm_a.firm.slug, firm_a.organisation.pk]
    client.force_login(firm_a.member("preparer").user)
    assert (
        client.post(reverse("budget_policy_restore", args=args), {"version": "1"}).status_code
        == 403
    )
    client.force_login(firm_a.member("admin").user)
    page = client.get(reverse("budget_policy_edit", args=args)).content.decode()
    assert "Restore version 1" in page and "Restore version 2" not in page
    response = client.post(reverse("budget_policy_restore", args=args), {"version": "1"})
    assert response.status_code == 302
    firm_a.organisation.budget_policy.refresh_from_db()
    assert (
        firm_a.organisation.budget_policy.version,
        firm_a.organisation.budget_policy.horizon,
    ) == (3, 6)
    client.force_login(firm_b.member("owner").user)
    assert (
        client.post(reverse("budget_policy_restore", args=args), {"version": "1"}).status_code
        == 404
    )


def test_every_earlier_revision_has_its_restore_button(client, firm_a):
    from django.urls import reverse

    draft = _draft(firm_a, prepared_by=firm_a.member("preparer").user)
    draft = _edit(firm_a, draft, NOV, "5600", "Lease")
    draft = _edit(firm_a, draft, DEC, "5700", "Lease, December")
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    client.force_login(firm_a.member("preparer").user)
    page = client.get(reverse("draft_approval", args=args)).content.decode()
    assert "Restore revision 1" in page and "Restore revision 2" in page
    assert "Restore revision 3" not in page  # the current one
    assert "Lease, December" in page  # why each revision was made
    client.post(reverse("draft_restore", args=args), {"revision": "2", "reason": "Undo Dec"})
    assert _figures(firm_a, draft)[("469", DEC)] == (None, "")
    assert _figures(firm_a, draft)[("469", NOV)] == (Decimal("5600.00"), "Lease")
