"""Rolling a published budget revision back: a rollback draft with an earlier revision's figures
goes through the same approval chain, is published as an import file into the same Xero budget,
and the next sync verifies the earlier figures. And "replace the original" needs its own
approval step. Screens and API always with two firms."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.drafts.services import DraftError, draft_line_edit
from budgeting.models import (
    Account,
    ApprovalRequest,
    ApprovalStep,
    Budget,
    BudgetBalance,
    BudgetLine,
    BudgetPublication,
    BudgetRollback,
    Draft,
    DraftBalance,
    DraftLine,
)
from budgeting.publishing.selectors import REPLACE_ORIGINAL_REASON
from budgeting.publishing.services import (
    REPLACE_ORIGINAL_UNAPPROVED,
    PublicationError,
    budget_publication_create,
    budget_publication_rollback,
    budget_publications_verify,
    draft_publish,
    publishing_setting_update,
)
from tests.api import assert_error, bearer
from tests.budgeting.publishing_data import (
    CAFE,
    _add_budget,
    _after_sync,
    _approved_draft,
    _cells,
    _import,
    _replace_original,
    _sandbox_draft,
    approve_through_the_chain,
)
from tests.factories import api_key_create
from tests.sandbox import minute_in_a_second, sync

NOV, DEC, JAN = dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)


def _xero_holds(cast, budget: Budget, figures: dict[tuple[str, dt.date], str]) -> None:
    """What the next sync reads from Xero for `budget`: {(account code, month): amount}."""
    for (code, period), amount in figures.items():
        account = Account.objects.for_firm(cast.firm).get(organisation=cast.organisation, code=code)
        line, _ = BudgetLine.objects.for_firm(cast.firm).get_or_create(
            firm=cast.firm, organisation=cast.organisation, budget=budget, account=account
        )
        BudgetBalance.objects.for_firm(cast.firm).update_or_create(
            firm=cast.firm,
            organisation=cast.organisation,
            budget_line=line,
            period=period,
            defaults={"amount": Decimal(amount)},
        )


def _imported(cast, publication: BudgetPublication) -> None:
    """A person imported the file in Budget Manager and the sync read it back."""
    budget = Budget.objects.for_firm(cast.firm).get(pk=publication.budget_id)
    _xero_holds(
        cast,
        budget,
        {
            (row["code"], dt.date.fromisoformat(row["period"])): row["amount"]
            for row in publication.expected
        },
    )
    budget_publications_verify(firm=cast.firm, organisation=cast.organisation)


def _published(cast):
    """The approved draft of tests/budgeting/publishing (Rent overall, Sales for North),
    published into both forecast budgets, imported and verified. The original Overall Budget
    holds Rent at 5,000 a month; North's budget Sales at 15,000."""
    draft, overall, north = _approved_draft(cast)
    _xero_holds(cast, overall, {("469", m): "5000" for m in (NOV, DEC, JAN)})
    _xero_holds(cast, north, {("200", m): "15000" for m in (NOV, DEC, JAN)})
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    cast.forecast = Budget.objects.for_firm(cast.firm).create(
        **owned, budget_id="bud-forecast", type="TRACKING", description="Rolling Forecast"
    )
    Budget.objects.for_firm(cast.firm).create(
        **owned,
        budget_id="bud-forecast-north",
        type="TRACKING",
        description="Rolling Forecast: North",
        tracking_option=north.tracking_option,
    )
    made = draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    for publication in made:
        _imported(cast, publication)
    cast.publication = next(p for p in made if p.budget_id == cast.forecast.pk)
    cast.publication.refresh_from_db()
    assert cast.publication.status == BudgetPublication.Status.VERIFIED
    cast.draft, cast.overall = draft, overall
    return cast


def _rollback(cast, *, to=None, by="preparer", reason="The board kept the old rent"):
    return budget_publication_rollback(
        firm=cast.firm,
        publication=cast.publication,
        to=to,
        user=cast.member(by).user,
        reason=reason,
    )


def _figures(publication) -> dict[tuple[str, dt.date], str]:
    return {
        (row["code"], dt.date.fromisoformat(row["period"])): row["amount"]
        for row in publication.expected
    }


# --- The service -----------------------------------------------------------------------------


def test_a_rollback_draft_goes_through_the_chain_and_its_file_is_verified(firm_a, celery_eager):
    cast = _published(firm_a)
    assert _figures(cast.publication) == {
        ("469", NOV): "6000",
        ("469", DEC): "6000",
        ("469", JAN): "5000",
    }
    rollback = _rollback(cast)
    draft = rollback.draft
    assert draft.source == Draft.Source.ROLLBACK and draft.status == Draft.Status.DRAFT
    assert draft.created_by == cast.member("preparer").user
    (line,) = DraftLine.objects.for_firm(cast.firm).filter(draft=draft)
    assert line.trigger == DraftLine.Trigger.ROLLBACK and line.accepted and line.policy_ok
    # "Original" on a rollback line is what Xero holds now; the figure is the earlier one.
    assert [
        (b.period, b.original_amount, b.effective_amount)
        for b in DraftBalance.objects.for_firm(cast.firm).filter(line=line).order_by("period")
    ] == [
        (NOV, Decimal("6000.00"), Decimal("5000.00")),
        (DEC, Decimal("6000.00"), Decimal("5000.00")),
        (JAN, Decimal("5000.00"), Decimal("5000.00")),
    ]
    # Audited: the rollback, the draft and the rolled-back file, with who and why.
    assert rollback.history.first().history_change_reason == (
        "Rollback to the original budget's figures (Overall Budget): The board kept the old rent"
    )
    assert rollback.history.first().history_user == cast.member("preparer").user
    assert cast.publication.history.first().history_change_reason == (
        f"Rolled back to the original budget's figures (Overall Budget) by draft {draft.pk}"
    )

    # Its figures are the earlier revision's: not editable.
    with pytest.raises(DraftError, match="rollback draft carries the figures"):
        draft_line_edit(
            firm=cast.firm,
            draft=draft,
            line=line,
            period=NOV,
            amount="5500",
            reason="Halfway",
            user=cast.member("preparer").user,
        )

    # The same chain: the preparer of the rollback cannot approve it.
    approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=cast.member("admin").user,
        steps=[{"name": "Manager", "roles": ["approver", "owner"]}],
    )
    approvals.draft_submit(firm=cast.firm, draft=draft, user=draft.created_by)
    with pytest.raises(approvals.ApprovalError, match="prepared or edited"):
        approvals.approval_decide(
            firm=cast.firm,
            draft=draft,
            approver=approvals.approver_for_member(
                firm=cast.firm, user=cast.member("preparer").user
            ),
            decision="approve",
            channel="screen",
        )
    # Nothing is published before approval.
    with pytest.raises(PublicationError, match="Only an approved draft"):
        draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    approve_through_the_chain(cast, draft)

    (back,) = draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    assert back.budget == cast.forecast and not back.replaces_original
    assert back.file_content == (
        "Account,Nov-2026,Dec-2026,Jan-2027\r\nRent (469),5000,5000,5000\r\n"
    )
    assert back.status == BudgetPublication.Status.AWAITING_IMPORT
    _imported(cast, back)
    back.refresh_from_db()
    draft.refresh_from_db()
    assert back.status == BudgetPublication.Status.VERIFIED
    assert draft.status == Draft.Status.PUBLISHED
    # The rolled-back file keeps its own history; it is not re-checked against the rollback.
    cast.publication.refresh_from_db()
    assert cast.publication.status == BudgetPublication.Status.VERIFIED


def test_a_rollback_to_an_earlier_file_carries_that_files_figures(firm_a):
    cast = _published(firm_a)
    first = cast.publication
    rent = Account.objects.for_firm(cast.firm).get(code="469")
    second = budget_publication_create(
        firm=cast.firm,
        organisation=cast.organisation,
        budget=cast.forecast,
        amounts={(rent, NOV): Decimal(7000), (rent, DEC): Decimal(7100)},
        user=None,
        send=False,
    )
    _imported(cast, second)
    second.refresh_from_db()
    assert second.status == BudgetPublication.Status.VERIFIED
    cast.publication = second
    rollback = _rollback(cast, to=first)
    assert rollback.to_publication == first
    assert {(r["period"], r["published"], r["amount"]) for r in rollback.figures} == {
        ("2026-11-01", "7000", "6000"),
        ("2026-12-01", "7100", "6000"),
    }


def test_rollbacks_that_cannot_be_done_are_refused_saying_why(firm_a, firm_b):
    cast = _published(firm_a)
    other = _published(firm_b)
    # Not in Xero yet: nothing to roll back.
    waiting = BudgetPublication.objects.for_firm(cast.firm).filter(pk=cast.publication.pk)
    waiting.update(status=BudgetPublication.Status.AWAITING_IMPORT)
    with pytest.raises(PublicationError, match="Only a file Xero holds"):
        _rollback(cast)
    waiting.update(status=BudgetPublication.Status.VERIFIED)
    # "To" must be an earlier verified file of the same budget: not North's, not firm B's.
    north = BudgetPublication.objects.for_firm(cast.firm).exclude(pk=cast.publication.pk).get()
    for wrong in (north, other.publication):
        with pytest.raises(PublicationError, match="Choose an earlier published file"):
            _rollback(cast, to=wrong)
    rollback = _rollback(cast)
    with pytest.raises(PublicationError, match=f"Draft {rollback.draft_id} already rolls"):
        _rollback(cast)
    # A file that published the original's figures has nothing to roll back to them.
    rent = Account.objects.for_firm(cast.firm).get(code="469")
    same = budget_publication_create(
        firm=cast.firm,
        organisation=cast.organisation,
        budget=cast.forecast,
        amounts={(rent, JAN): Decimal(5000)},
        user=None,
        send=False,
    )
    _imported(cast, same)
    cast.publication = same
    with pytest.raises(PublicationError, match="Nothing to roll back"):
        _rollback(cast)
    assert BudgetRollback.objects.for_firm(firm_b.firm).count() == 0


def test_a_file_that_replaced_the_original_rolls_back_to_xeros_figures_before_it(
    firm_a, celery_eager
):
    cast = firm_a
    draft, overall, _north = _approved_draft(cast)
    _xero_holds(cast, overall, {("469", m): "5000" for m in (NOV, DEC, JAN)})
    _replace_original(cast)
    approve_through_the_chain(cast, draft)
    made = draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    cast.publication = next(p for p in made if p.budget_id == overall.pk)
    assert cast.publication.replaces_original
    _imported(cast, cast.publication)
    cast.publication.refresh_from_db()
    assert cast.publication.status == BudgetPublication.Status.VERIFIED

    rollback = _rollback(cast)
    assert {(r["period"], r["published"], r["amount"]) for r in rollback.figures} == {
        ("2026-11-01", "6000", "5000.00"),
        ("2026-12-01", "6000", "5000.00"),
    }
    approve_through_the_chain(cast, rollback.draft)
    # Replace the original turned off since: a file for the original is refused.
    publishing_setting_update(
        firm=cast.firm,
        organisation=cast.organisation,
        replace_original=False,
        reason="Back to the forecast budget",
        user=cast.member("admin").user,
    )
    with pytest.raises(PublicationError, match="Importing into the original budget"):
        draft_publish(firm=cast.firm, draft=rollback.draft, user=None, send=False)
    _replace_original(cast)
    (back,) = draft_publish(firm=cast.firm, draft=rollback.draft, user=None, send=False)
    assert back.replaces_original and back.budget == overall
    assert back.file_content == "Account,Nov-2026,Dec-2026\r\nRent (469),5000,5000\r\n"
    _imported(cast, back)
    back.refresh_from_db()
    assert back.status == BudgetPublication.Status.VERIFIED


# --- "Replace the original" needs its own approval step ----------------------------------------


def test_replace_the_original_adds_the_extra_approval_step(firm_a, celery_eager):
    draft, _overall, _north = _approved_draft(firm_a)
    _replace_original(firm_a)
    approve_through_the_chain(firm_a, draft)
    steps = list(ApprovalStep.objects.for_firm(firm_a.firm).filter(request__draft=draft))
    assert [(s.name, s.condition, s.status) for s in steps] == [
        ("Manager", "always", "approved"),
        ("Extra approval", "extra_approval", "approved"),
    ]
    assert steps[1].reasons == [REPLACE_ORIGINAL_REASON]
    assert all(p.replaces_original for p in draft_publish(firm=firm_a.firm, draft=draft, user=None))


def test_turning_replace_the_original_on_restarts_pending_approvals_with_the_step(
    firm_a, firm_b, celery_eager
):
    drafts = {}
    for cast in (firm_a, firm_b):
        draft, _overall, _north = _approved_draft(cast)
        Draft.objects.for_firm(cast.firm).filter(pk=draft.pk).update(status=Draft.Status.DRAFT)
        approvals.approval_chain_update(
            firm=cast.firm,
            organisation=cast.organisation,
            user=cast.member("admin").user,
            steps=[{"name": "Manager", "roles": ["approver"]}],
        )
        approvals.draft_submit(firm=cast.firm, draft=draft, user=draft.created_by)
        drafts[cast.firm.pk] = draft
    _replace_original(firm_a)

    def rounds(cast):
        return [
            (
                r.status,
                list(
                    ApprovalStep.objects.for_firm(cast.firm)
                    .filter(request=r)
                    .order_by("position")
                    .values_list("name", "status")
                ),
            )
            for r in ApprovalRequest.objects.for_firm(cast.firm)
            .filter(draft=drafts[cast.firm.pk])
            .order_by("pk")
        ]

    assert rounds(firm_a) == [
        ("withdrawn", [("Manager", "open")]),
        ("pending", [("Manager", "open"), ("Extra approval", "waiting")]),
    ]
    # Firm B's organisation keeps its own setting and its approval.
    assert rounds(firm_b) == [("pending", [("Manager", "open")])]


def test_a_draft_approved_before_replace_the_original_was_on_is_refused(firm_a, celery_eager):
    draft, _overall, _north = _approved_draft(firm_a)
    approve_through_the_chain(firm_a, draft)
    steps = ApprovalStep.objects.for_firm(firm_a.firm).filter(request__draft=draft)
    assert list(steps.values_list("name", flat=True)) == ["Manager"]
    _replace_original(firm_a)
    with pytest.raises(PublicationError) as refused:
        draft_publish(firm=firm_a.firm, draft=draft, user=None)
    assert str(refused.value) == REPLACE_ORIGINAL_UNAPPROVED
    assert not BudgetPublication.objects.for_firm(firm_a.firm).exists()


# --- The screens ---------------------------------------------------------------------------------


def test_roll_back_on_the_screen_confirms_what_happens_in_xero(client, firm_a, firm_b):
    cast = _published(firm_a)
    other = _published(firm_b)
    org = cast.organisation.pk
    url = reverse("budget_publication_rollback", args=[cast.firm.slug, org, cast.publication.pk])
    approval = reverse("draft_approval", args=[cast.firm.slug, org, cast.draft.pk])

    client.force_login(cast.member("viewer").user)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    client.force_login(other.member("owner").user)
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404

    client.force_login(cast.member("preparer").user)
    page = client.get(approval).content.decode()
    assert url in page and "Roll back to this revision…" in page
    page = client.get(url).content.decode()
    assert "What will happen in Xero" in page
    assert "The original budget&rsquo;s figures (Overall Budget)" in page
    assert "you prepared it, so you cannot approve it" in page
    assert "the original budget &ldquo;Overall Budget&rdquo; is unchanged" in page
    assert "2 of 3 changes" in page
    # Bad input is a 400; another firm's file as the earlier revision is a 404.
    assert client.get(url, {"to": "abc"}).status_code == 400
    assert client.post(url, {"to": "abc"}).status_code == 400
    assert client.post(url, {"to": other.publication.pk}).status_code == 404
    assert not BudgetRollback.objects.for_firm(cast.firm).exists()

    response = client.post(url, {"reason": "Board decision"})
    rollback = BudgetRollback.objects.for_firm(cast.firm).get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "draft_detail", args=[cast.firm.slug, org, rollback.draft_id]
    )
    detail = client.get(response["Location"])
    assert detail.context["can_edit"] is False  # the earlier revision's figures, as they were
    detail = detail.content.decode()
    assert "Rollback draft:" in detail and "Rolling Forecast" in detail
    # In the organisation's audit log, with who and why.
    log = client.get(
        reverse("audit_log", args=[cast.firm.slug, org]), {"model": "budgetrollback"}
    ).content.decode()
    assert "Rollback to the original budget&#x27;s figures (Overall Budget): Board decision" in log
    page = client.get(approval).content.decode()
    assert f"Rollback draft {rollback.draft_id}</a> (draft)" in page
    # A second one while the first is open: refused with the reason, on the same page.
    response = client.post(url, {"reason": "again"}, follow=True)
    assert f"Draft {rollback.draft_id} already rolls this file back" in response.content.decode()
    assert not BudgetRollback.objects.for_firm(other.firm).exists()


def test_a_tracking_budgets_rollback_shows_on_its_screens(client, firm_a, firm_b):
    cast = _published(firm_a)
    north = BudgetPublication.objects.for_firm(cast.firm).get(budget_name="Rolling Forecast: North")
    cast.publication = north
    rollback = _rollback(cast)
    (line,) = DraftLine.objects.for_firm(cast.firm).filter(draft=rollback.draft)
    assert line.tracking_option.name == "North" and line.original_budget.description == "North"
    args = [cast.firm.slug, cast.organisation.pk, rollback.draft_id]
    client.force_login(cast.member("preparer").user)
    for name in ("draft_detail", "draft_approval"):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 200
        assert "Rolling Forecast: North" in response.content.decode()
    client.force_login(firm_b.member("owner").user)
    for name in ("draft_detail", "draft_approval"):
        assert client.get(reverse(name, args=args)).status_code == 404


# --- The API -------------------------------------------------------------------------------------


def test_the_api_lists_publishes_and_rolls_back(client, firm_a, firm_b, celery_eager):
    cast = _published(firm_a)
    other = _published(firm_b)
    keys = {
        c.firm.slug: {
            "write": api_key_create(
                firm=c.firm, scopes=["read", "write"], member=c.member("preparer")
            )[1],
            "read": api_key_create(firm=c.firm, scopes=["read"], member=c.member("preparer"))[1],
        }
        for c in (cast, other)
    }
    base = f"/api/v1/organisations/{cast.organisation.public_id}"
    write, read = keys[cast.firm.slug]["write"], keys[cast.firm.slug]["read"]

    listed = client.get(f"{base}/publications/", headers=bearer(read)).json()["results"]
    assert {p["id"] for p in listed} == set(
        BudgetPublication.objects.for_firm(cast.firm).values_list("pk", flat=True)
    )
    mine = next(p for p in listed if p["id"] == cast.publication.pk)
    assert mine["status"] == "verified" and mine["budget_name"] == "Rolling Forecast"
    assert {(c["account_code"], c["period"], c["amount"]) for c in mine["cells"]} == {
        ("469", "2026-11-01", "6000"),
        ("469", "2026-12-01", "6000"),
        ("469", "2027-01-01", "5000"),
    }
    # Firm B's key: firm A's organisation and files are not found.
    b_write = keys[other.firm.slug]["write"]
    assert_error(client.get(f"{base}/publications/", headers=bearer(b_write)), 404, "not_found")
    rollback_url = f"{base}/publications/{cast.publication.pk}/rollback/"
    assert_error(
        client.post(rollback_url, {}, headers=bearer(b_write), content_type="application/json"),
        404,
        "not_found",
    )
    b_base = f"/api/v1/organisations/{other.organisation.public_id}"
    assert_error(
        client.post(
            f"{b_base}/publications/{cast.publication.pk}/rollback/",
            {},
            headers=bearer(b_write),
            content_type="application/json",
        ),
        404,
        "not_found",
    )
    assert_error(
        client.post(rollback_url, {}, headers=bearer(read), content_type="application/json"),
        403,
        "missing_scope",
    )
    error = assert_error(
        client.post(
            rollback_url,
            {"to": other.publication.pk},
            headers=bearer(write),
            content_type="application/json",
        ),
        400,
        "invalid",
    )
    assert "to" in error["fields"]

    response = client.post(
        rollback_url, {"reason": "Back"}, headers=bearer(write), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["publication_id"] == cast.publication.pk and body["to_publication_id"] is None
    assert body["draft"]["source"] == "rollback" and body["draft"]["status"] == "draft"
    draft = Draft.objects.for_firm(cast.firm).get(pk=body["draft"]["id"])
    assert_error(
        client.post(rollback_url, {}, headers=bearer(write), content_type="application/json"),
        409,
        "publication_refused",
    )

    publish_url = f"{base}/drafts/{draft.pk}/publish/"
    refused = assert_error(
        client.post(publish_url, headers=bearer(write)), 409, "publication_refused"
    )
    assert "Only an approved draft" in refused["message"]
    assert_error(client.post(publish_url, headers=bearer(b_write)), 404, "not_found")
    approve_through_the_chain(cast, draft)
    response = client.post(publish_url, headers=bearer(write))
    assert response.status_code == 200, response.content
    (made,) = response.json()
    assert made["budget_name"] == "Rolling Forecast" and made["status"] == "awaiting_import"
    assert {c["amount"] for c in made["cells"]} == {"5000"}
    _imported(cast, BudgetPublication.objects.for_firm(cast.firm).get(pk=made["id"]))
    listed = client.get(f"{base}/publications/", headers=bearer(read)).json()["results"]
    assert next(p for p in listed if p["id"] == made["id"])["status"] == "verified"
    assert not BudgetRollback.objects.for_firm(other.firm).exists()


# --- The whole loop on the sandbox ---------------------------------------------------------------


@pytest.mark.mutable_sandbox
def test_publish_import_verify_then_roll_back_and_verify_the_earlier_figures(
    connected_firm, xero_sandbox, celery_eager, settings
):
    # Its syncs of the café pass Xero's 60 calls a minute: its minute lasts a second here
    # (the wait is not this test's subject; tests/integrations/xero tests the limiter).
    minute_in_a_second(xero_sandbox, settings)
    cast = connected_firm
    assert sync(cast, CAFE).state == "succeeded"
    forecast_id = _add_budget(xero_sandbox, "Rolling Forecast")
    assert sync(cast, CAFE).state == "succeeded"
    draft, overall, months, approved = _sandbox_draft(cast)
    original = _cells(cast, overall.budget_id)
    (publication,) = draft_publish(firm=cast.firm, draft=draft, user=None, send=False)
    _import(xero_sandbox, forecast_id, publication.file_content)
    _after_sync(cast, full=True)
    publication.refresh_from_db()
    assert publication.status == BudgetPublication.Status.VERIFIED
    assert _cells(cast, overall.budget_id) == original
    forecast = _cells(cast, forecast_id)
    assert any(forecast[cell] != original.get(cell, Decimal(0)) for cell in approved)

    # Roll it back to the original's figures, through the chain, into the same budget.
    cast.organisation = cast.linked[CAFE]
    cast.publication = publication
    rollback = _rollback(cast)
    approve_through_the_chain(cast, rollback.draft)
    (back,) = draft_publish(firm=cast.firm, draft=rollback.draft, user=None, send=False)
    assert back.xero_budget_id == forecast_id
    _after_sync(cast)
    back.refresh_from_db()
    assert back.status == BudgetPublication.Status.AWAITING_IMPORT  # not imported yet
    _import(xero_sandbox, forecast_id, back.file_content)
    _after_sync(cast, full=True)
    back.refresh_from_db()
    rollback.draft.refresh_from_db()
    assert back.status == BudgetPublication.Status.VERIFIED
    assert back.original_differences == []
    assert rollback.draft.status == Draft.Status.PUBLISHED
    # Xero's forecast budget holds the original's figures again, and the original is unchanged.
    forecast = _cells(cast, forecast_id)
    for cell in approved:
        assert forecast.get(cell, Decimal(0)) == original.get(cell, Decimal(0))
    assert _cells(cast, overall.budget_id) == original
    assert months  # the three months the draft changed
