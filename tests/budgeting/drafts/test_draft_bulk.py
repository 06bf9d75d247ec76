"""Deciding many lines of a draft at once: a preparer picks the lines (ticked, every line the
filters show, or every material one), sees what changes line by line, and applies it in one
change of the draft. Nobody else can, and another firm's lines are out of reach."""

from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.drafts.services import draft_create_rolling, draft_line_edit
from budgeting.models import Draft, DraftBalance, DraftLine
from tenants.roles import Role
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create


@pytest.fixture
def draft(firm_a) -> Draft:
    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    return draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft


def url(cast, name, *args):
    return reverse(name, args=[cast.firm.slug, cast.organisation.pk, *args])


def lines(cast, draft) -> dict[str, DraftLine]:
    return {
        f"{line.account.code}{' ' + line.tracking_option.name if line.tracking_option else ''}": (
            line
        )
        for line in DraftLine.objects.for_firm(cast.firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
    }


def totals(cast, line) -> tuple[Decimal, Decimal]:
    balances = DraftBalance.objects.for_firm(cast.firm).filter(line=line)
    return (
        sum((b.effective_amount for b in balances), Decimal(0)),
        sum((b.original_amount or Decimal(0) for b in balances), Decimal(0)),
    )


def test_every_material_line_is_accepted_in_one_action_after_a_summary(client, firm_a, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)
    page = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()
    assert "Every material line shown (1)" in page and 'form="bulk-form"' in page

    summary = client.post(
        url(firm_a, "draft_lines_decide", draft.pk), {"scope": "material", "decision": "accept"}
    )

    body = summary.content.decode()
    assert summary.status_code == 200
    assert "Accept the figures shown: 1 line" in body and "Advertising" in body
    assert "Rent" not in body  # the forecast left Rent's budget; no material variance
    assert "Apply to 1 line" in body
    assert not lines(firm_a, draft)["400"].accepted  # nothing applied before the confirmation

    applied = client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {
            "scope": "ticked",
            "decision": "accept",
            "line": [lines(firm_a, draft)["400"].pk],
            "confirm": "1",
        },
        follow=True,
    )

    assert "1 line changed: accept the figures shown." in applied.content.decode()
    now = lines(firm_a, draft)
    assert now["400"].accepted and not now["469"].accepted
    draft.refresh_from_db()
    assert draft.revision == 2


def test_every_line_the_filters_show_is_accepted(client, firm_a, draft):
    client.force_login(firm_a.member(Role.PREPARER).user)

    response = client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {"scope": "shown", "decision": "accept", "query": "class=EXPENSE"},
    )
    ids = [p.line.pk for p in response.context["previews"]]
    client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {
            "scope": "ticked",
            "decision": "accept",
            "line": ids,
            "confirm": "1",
            "query": "class=EXPENSE",
        },
    )

    now = lines(firm_a, draft)
    assert sorted(ids) == sorted([now["400"].pk, now["469"].pk])
    assert now["400"].accepted and now["469"].accepted
    assert not now["200 North"].accepted  # income: not shown, not touched
    draft.refresh_from_db()
    assert draft.revision == 2  # one change of the draft for both lines


def test_keeping_the_original_budget_needs_a_reason_and_sets_every_month(client, firm_a, draft):
    preparer = firm_a.member(Role.PREPARER).user
    client.force_login(preparer)
    rent = lines(firm_a, draft)["469"]
    form = {"scope": "ticked", "decision": "original", "line": [rent.pk]}

    summary = client.post(url(firm_a, "draft_lines_decide", draft.pk), form)
    refused = client.post(url(firm_a, "draft_lines_decide", draft.pk), {**form, "confirm": "1"})

    before, original = totals(firm_a, rent)
    assert before != original
    assert "NZ$30,000.00" in summary.content.decode()  # Rent's original budget, six months
    assert refused.status_code == 400
    assert "a reason is required" in refused.content.decode()
    assert totals(firm_a, rent)[0] == before

    client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {**form, "confirm": "1", "reason": "Lease renegotiated back to 5,000"},
    )

    rent.refresh_from_db()
    assert totals(firm_a, rent)[0] == original == Decimal("30000.00")
    assert rent.accepted and rent.edited and rent.reason == "Lease renegotiated back to 5,000"
    november = DraftBalance.objects.for_firm(firm_a.firm).get(line=rent, period=NOVEMBER)
    assert november.edited_by == preparer
    assert november.history.first().history_user == preparer


def test_use_the_forecast_drops_edits_and_accepts(client, firm_a, draft):
    preparer = firm_a.member(Role.PREPARER).user
    client.force_login(preparer)
    rent = lines(firm_a, draft)["469"]
    draft_line_edit(
        firm=firm_a.firm,
        draft=draft,
        line=rent,
        period=NOVEMBER,
        amount="1",
        reason="typo",
        user=preparer,
    )
    advertising = lines(firm_a, draft)["400"]

    client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {
            "scope": "ticked",
            "decision": "forecast",
            "line": [rent.pk, advertising.pk],
            "confirm": "1",
        },
    )

    rent.refresh_from_db()
    advertising.refresh_from_db()
    assert rent.accepted and not rent.edited and advertising.accepted
    assert (
        not DraftBalance.objects.for_firm(firm_a.firm)
        .filter(line=rent, edited_amount__isnull=False)
        .exists()
    )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER])
def test_people_who_cannot_prepare_see_no_bulk_form_and_are_refused(client, firm_a, draft, role):
    client.force_login(firm_a.member(role).user)
    rent = lines(firm_a, draft)["469"]

    page = client.get(url(firm_a, "draft_detail", draft.pk)).content.decode()
    response = client.post(
        url(firm_a, "draft_lines_decide", draft.pk),
        {"scope": "ticked", "decision": "accept", "line": [rent.pk], "confirm": "1"},
    )

    assert "bulk-form" not in page and "Decide many lines" not in page
    assert response.status_code == 403
    rent.refresh_from_db()
    assert not rent.accepted


def test_another_firms_lines_and_drafts_are_out_of_reach(client, firm_a, firm_b, draft):
    draft_organisation_create(firm=firm_b.firm, organisation=firm_b.organisation)
    theirs = draft_create_rolling(firm=firm_b.firm, organisation=firm_b.organisation).draft
    their_rent = lines(firm_b, theirs)["469"]
    client.force_login(firm_a.member(Role.PREPARER).user)
    form = {"scope": "ticked", "decision": "accept", "line": [their_rent.pk], "confirm": "1"}

    mixed = client.post(url(firm_a, "draft_lines_decide", draft.pk), form)
    other = client.post(url(firm_a, "draft_lines_decide", theirs.pk), form)
    junk = client.post(
        url(firm_a, "draft_lines_decide", draft.pk), {**form, "line": ["x"], "scope": "ticked"}
    )

    assert mixed.status_code == 400 and "Not lines of this draft" in mixed.content.decode()
    assert other.status_code == 404
    assert junk.status_code == 400 and junk.content.decode().startswith("decision: choose")
    their_rent.refresh_from_db()
    assert not their_rent.accepted


def test_figures_are_changed_by_a_percentage_or_set_to_one_figure_after_a_preview(
    client, firm_a, firm_b, draft
):
    preparer = firm_a.member(Role.PREPARER).user
    client.force_login(preparer)
    rent, advertising = lines(firm_a, draft)["469"], lines(firm_a, draft)["400"]
    before = {
        b.period: b.effective_amount
        for b in DraftBalance.objects.for_firm(firm_a.firm).filter(line=rent)
    }
    form = {"scope": "ticked", "decision": "percent", "line": [rent.pk]}
    decide = url(firm_a, "draft_lines_decide", draft.pk)

    # Chosen from the draft: the preview asks for the percentage first and changes nothing.
    asked = client.post(decide, form).content.decode()
    assert "Type the percentage to see the change." in asked and 'id="decide-value"' in asked
    shown = client.post(decide, {**form, "value": "10"}).content.decode()
    total = sum(before.values(), Decimal(0))
    expected = sum(
        (amount * Decimal("1.1")).quantize(Decimal("0.01")) for amount in before.values()
    )
    assert f"NZ${total:,.2f}" in shown and f"NZ${expected:,.2f}" in shown
    # Bad input is an error on the field, and nothing changes.
    for bad in ("ten", "-150", "NaN"):
        refused = client.post(decide, {**form, "value": bad, "reason": "x", "confirm": "1"})
        assert refused.status_code == 400 and 'aria-invalid="true"' in refused.content.decode()
    assert client.post(decide, {**form, "value": "10", "confirm": "1"}).status_code == 400

    client.post(decide, {**form, "value": "10", "reason": "Rent review: +10%", "confirm": "1"})

    after = {b.period: b for b in DraftBalance.objects.for_firm(firm_a.firm).filter(line=rent)}
    assert {p: b.effective_amount for p, b in after.items()} == {
        p: (amount * Decimal("1.1")).quantize(Decimal("0.01")) for p, amount in before.items()
    }
    assert all(
        b.edited_by == preparer and b.edit_reason == "Rent review: +10%" for b in after.values()
    )
    rent.refresh_from_db()
    assert rent.accepted and rent.edited

    # One figure for every month of two lines, in one change of the draft.
    revision = Draft.objects.for_firm(firm_a.firm).get(pk=draft.pk).revision
    client.post(
        decide,
        {
            "scope": "ticked",
            "decision": "amount",
            "line": [rent.pk, advertising.pk],
            "value": "2,500",
            "reason": "Flat for the rest of the year",
            "confirm": "1",
        },
    )
    for line in (rent, advertising):
        amounts = DraftBalance.objects.for_firm(firm_a.firm).filter(line=line)
        assert {b.effective_amount for b in amounts} == {Decimal("2500.00")}
    assert Draft.objects.for_firm(firm_a.firm).get(pk=draft.pk).revision == revision + 1
    # A figure the budget cannot hold is refused, not clamped.
    too_big = client.post(
        decide,
        {**form, "decision": "amount", "value": "1e20", "reason": "x", "confirm": "1"},
    )
    assert too_big.status_code == 400

    # Firm B's preparer cannot reach firm A's draft.
    client.force_login(firm_b.member(Role.PREPARER).user)
    assert (
        client.post(
            reverse(
                "draft_lines_decide", args=[firm_b.firm.slug, firm_a.organisation.pk, draft.pk]
            ),
            {**form, "value": "10", "reason": "x", "confirm": "1"},
        ).status_code
        == 404
    )
