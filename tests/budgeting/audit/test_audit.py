"""The audit log of an organisation: who, when, what changed (before → after) and why, filtered,
exported, and paged in a constant number of queries."""

import csv
import datetime as dt
import io
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from budgeting.drafts.services import budget_policy_update
from budgeting.models import Account, Budget, BudgetBalance, BudgetLine


def _budget(cast, *, months=3):
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    account = Account.objects.for_firm(cast.firm).create(
        **owned, account_id="acc-200", code="200", name="Sales", type="REVENUE"
    )
    budget = Budget(**owned, budget_id="bud-1", type="OVERALL", description="Overall Budget")
    budget._change_reason = "Synced from Xero"
    budget.save()
    line = BudgetLine(**owned, budget=budget, account=account)
    line._change_reason = "Synced from Xero"
    line.save()
    balances = []
    for month in range(1, months + 1):
        balance = BudgetBalance(
            **owned,
            budget_line=line,
            period=dt.date(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 1),
            amount=Decimal("100.00"),
        )
        balance._change_reason = "Synced from Xero"
        balance.save()
        balances.append(balance)
    return budget, balances


def _policy_change(cast, user, horizon, reason):
    return budget_policy_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=user,
        scope="all",
        account_ids=[],
        tracking_option_ids=[],
        account_caps={},
        class_caps={},
        max_change_percent=None,
        max_change_amount=None,
        capex_account_ids=[],
        extra_approval_above=None,
        horizon=horizon,
        reason=reason,
    )


def _url(cast, name="audit_log"):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk])


def test_the_log_shows_who_when_what_and_why(client, firm_a, firm_b):
    manager = firm_a.member("admin").user
    _budget(firm_a)
    _policy_change(firm_a, manager, 6, "First policy")
    _policy_change(firm_a, manager, 9, "Longer horizon for the bank")
    _budget(firm_b)  # another firm's history never shows

    client.force_login(firm_a.member("viewer").user)
    response = client.get(_url(firm_a))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert len(entries) == 7  # budget, line, 3 balances, 2 policy versions
    latest = entries[0]
    assert latest.model_key == "budgetpolicy"
    assert latest.user == manager
    assert latest.reason == "Longer horizon for the bank"
    changes = {c.label: (c.before, c.after) for c in latest.changes}
    assert changes["Horizon"] == (6, 9)  # fields in words
    assert changes["Version"] == (1, 2)
    page = response.content.decode()
    assert "Longer horizon for the bank" in page
    assert "6 → 9" in page
    # The synced rows have no person; each entry reads as a sentence with names.
    assert "A sync from Xero or the system created the budget Overall Budget." in page
    assert f"{manager.display_name} changed the budget policy version 2." in page


def test_filters_by_model_user_and_date(client, firm_a):
    preparer = firm_a.member("preparer").user
    admin = firm_a.member("admin").user
    _budget(firm_a)
    _policy_change(firm_a, admin, 6, "By the admin")
    client.force_login(firm_a.member("viewer").user)

    def entries(**query):
        return client.get(_url(firm_a), query).context["entries"]

    def keys(**query):
        return [e.model_key for e in entries(**query)]

    assert keys(model="budgetbalance") == ["budgetbalance"] * 3
    assert keys(user=admin.pk) == ["budgetpolicy"]
    assert keys(user=preparer.pk) == []
    # The day the changes were recorded on, in the time zone the filter reads dates in (a date
    # taken from the clock after them could be the next day at midnight).
    days = {timezone.localdate(e.when) for e in entries()}
    assert len(days) == 1
    today = days.pop()
    assert len(keys(date_from=today.isoformat(), date_to=today.isoformat())) == 6
    assert keys(date_to=(today - dt.timedelta(days=1)).isoformat()) == []
    # A bad filter value is ignored rather than an error.
    assert client.get(_url(firm_a), {"date_from": "someday"}).status_code == 200


def test_the_log_exports_to_csv_with_its_filters(client, firm_a):
    admin = firm_a.member("admin").user
    _budget(firm_a)
    _policy_change(firm_a, admin, 6, "First")
    _policy_change(firm_a, admin, 12, "=cmd|' /C calc'!A0")  # a formula stays text
    client.force_login(firm_a.member("viewer").user)
    response = client.get(_url(firm_a, "audit_log_csv"), {"model": "budgetpolicy"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = ["When", "Who", "What", "Object", "Change", "Field", "Before", "After", "Why"]
    assert rows[0] == [*header, "What happened"]
    horizon = next(r for r in rows[1:] if r[5] == "Horizon" and r[4] == "Changed")
    assert horizon[1] == admin.email
    assert horizon[6:8] == ["6", "12"]
    assert horizon[8].startswith("'=")
    assert {r[2] for r in rows[1:]} == {"Budget policy"}


def test_a_page_costs_the_same_queries_however_long_the_history(client, firm_a):
    _budget_row, balances = _budget(firm_a, months=2)
    for horizon in (3, 6, 9):
        _policy_change(firm_a, firm_a.member("admin").user, horizon, f"Horizon {horizon}")
    client.force_login(firm_a.member("viewer").user)
    client.get(_url(firm_a))  # warm the session and the membership lookups

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_url(firm_a)).status_code == 200
        return len(captured)

    def more_history(amounts):
        for balance in balances:  # before → after on every row of the page
            for amount in amounts:
                balance.amount = Decimal(amount)
                balance._change_reason = "Synced from Xero"
                balance.save()

    more_history(["110.00"])
    some = queries()
    more_history([f"{n}.00" for n in range(200, 260)])
    # The page now holds fewer models: never more queries, however long the history.
    assert queries() <= some <= 20


def test_pages_hold_fifty_entries(client, firm_a):
    _budget(firm_a, months=60)
    client.force_login(firm_a.member("viewer").user)
    first = client.get(_url(firm_a))
    assert len(first.context["entries"]) == 50
    assert first.context["page"].paginator.count == 62
    second = client.get(_url(firm_a), {"page": 2})
    assert len(second.context["entries"]) == 12
    # History ids are per table: an entry is its model and its id.
    assert {(e.model_key, e.history_id) for e in first.context["entries"]}.isdisjoint(
        {(e.model_key, e.history_id) for e in second.context["entries"]}
    )


def test_the_log_of_one_draft_holds_only_that_draft(client, firm_a, firm_b):
    from budgeting.approvals import services as approvals
    from budgeting.drafts.services import draft_line_edit
    from budgeting.models import Draft, DraftLine
    from tests.budgeting.approval_data import NOV, _draft

    _budget(firm_a)
    admin = firm_a.member("admin").user
    draft = _draft(firm_a, prepared_by=firm_a.member("owner").user)
    other = _draft(firm_a, prepared_by=firm_a.member("owner").user)
    line = DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft).first()
    draft_line_edit(
        firm=firm_a.firm,
        draft=draft,
        line=line,
        period=NOV,
        amount="5750",
        reason="New lease signed",
        user=admin,
    )
    approvals.approval_chain_update(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        user=admin,
        steps=[{"name": "Manager", "roles": ["approver"]}],
    )
    draft = Draft.objects.for_firm(firm_a.firm).get(pk=draft.pk)
    approvals.draft_submit(firm=firm_a.firm, draft=draft, user=admin)

    client.force_login(firm_a.member("viewer").user)
    args = [firm_a.firm.slug, firm_a.organisation.pk, draft.pk]
    response = client.get(reverse("draft_audit_log", args=args))
    assert response.status_code == 200
    entries = response.context["entries"]
    assert {e.model_key for e in entries} == {
        "draft",
        "draftbalance",
        "draftline",
        "approvalrequest",
        "approvalstep",
    }
    assert other.pk not in {e.object_id for e in entries if e.model_key == "draft"}
    edit = next(e for e in entries if e.model_key == "draftbalance" and e.kind == "Changed")
    assert edit.user == admin
    assert edit.reason == "Edited: New lease signed"
    changes = {c.label: c.after for c in edit.changes}
    assert changes["Edited amount"] == Decimal("5750.00")
    # Related rows by name, not by id: the person who edited, and the line's account.
    assert changes["Edited by"] == admin.display_name
    assert edit.label == "Draft balance: Rent (469) · Nov 2026"
    page = response.content.decode()
    assert f"Edited by</strong>: (empty) → {admin.display_name}" in page
    # Sentences with names: who did what to which draft, line or step; no "#id", no status code.
    assert f"{admin.display_name} changed the draft balance Rent (469) · Nov 2026." in page
    submitted = next(e for e in entries if e.model_key == "draft" and e.kind == "Changed")
    assert submitted.sentence.endswith("the draft from Nov 2026")
    status = {c.label: c.after for c in submitted.changes}.get("Status")
    assert status == "Submitted for approval"
    step = next(e for e in entries if e.model_key == "approvalstep")
    assert step.label == "Approval step: step 1, Manager"
    assert "#" not in " ".join(e.label for e in entries)
    csv_response = client.get(reverse("draft_audit_log_csv", args=args))
    assert b"New lease signed" in b"".join(csv_response.streaming_content)
    client.force_login(firm_b.member("owner").user)
    assert client.get(reverse("draft_audit_log", args=args)).status_code == 404


def test_a_narrative_rewritten_after_a_resync_keeps_its_old_text_in_the_log(client, firm_a, firm_b):
    from budgeting.models import TransactionLine, VarianceNarrative
    from budgeting.variance.services import organisation_variance_refresh
    from tests.budgeting.variance_data import OCTOBER, variance_organisation_create

    org = variance_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    variance_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    organisation_variance_refresh(firm=firm_b.firm, organisation=firm_b.organisation)
    narratives = VarianceNarrative.objects.for_firm(firm_a.firm)
    before = narratives.get(account=org.accounts["400"]).text
    # The next sync brings a late bill: the facts change and the narrative is written again.
    TransactionLine.objects.create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        document_type="ACCPAY",
        document_id="bill-late",
        document_number="ADS-LATE",
        line_id="1",
        date=OCTOBER.replace(day=28),
        account=org.accounts["400"],
        contact_name="Google Ads",
        description="Extra clicks",
        amount=Decimal("900.00"),
    )
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    after = narratives.get(account=org.accounts["400"]).text
    assert after != before

    client.force_login(firm_a.member("viewer").user)
    entries = client.get(_url(firm_a), {"model": "variancenarrative"}).context["entries"]

    rewritten = next(e for e in entries if e.kind == "Changed")
    assert rewritten.reason == "Narrative rewritten: the facts changed"
    assert rewritten.label.startswith("Variance narrative: ")
    text = {c.label: (c.before, c.after) for c in rewritten.changes}["Text"]
    assert text == (before, after)
    # Each firm's narratives are in its own log only.
    mine = set(narratives.values_list("pk", flat=True))
    assert {e.object_id for e in entries} == mine
    client.force_login(firm_b.member("owner").user)
    assert client.get(_url(firm_a)).status_code == 404
    theirs = client.get(_url(firm_b), {"model": "variancenarrative"}).context["entries"]
    assert theirs and not {e.object_id for e in theirs} & mine
