"""Why this figure: every suggestion keeps what produced it (the method and its backtest, the
history's values themselves, the variance that triggered it, the narrative shown with its facts,
each policy check), reproducible after Xero's data changes, with who accepted, edited or
approved it; on the line's screen and in the API, for its own firm only."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from budgeting.approvals import services as approvals
from budgeting.audit.selectors import draft_line_why
from budgeting.drafts.provenance import figure_reproduce, inputs_hash
from budgeting.drafts.services import (
    draft_create_rolling,
    draft_line_accept,
    draft_line_edit,
    draft_section_accept,
)
from budgeting.models import (
    ActualBalance,
    Draft,
    DraftBalance,
    DraftLine,
    NarrativeProviderSettings,
    TransactionLine,
    VarianceNarrative,
)
from budgeting.variance.services import (
    narrative_provider_settings_update,
    organisation_variance_refresh,
)
from core.months import add_months
from tenants.roles import Role
from tests.api import bearer
from tests.budgeting.draft_data import CAMPAIGN, NOVEMBER, OCTOBER, draft_organisation_create
from tests.factories import api_key_create


def _drafted(cast) -> Draft:
    draft_organisation_create(firm=cast.firm, organisation=cast.organisation)
    organisation_variance_refresh(firm=cast.firm, organisation=cast.organisation)
    return draft_create_rolling(firm=cast.firm, organisation=cast.organisation).draft


def _line(cast, draft, code: str) -> DraftLine:
    return DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account__code=code, tracking_option=None
    )


@pytest.fixture
def drafted(firm_a):
    firm_a.draft = _drafted(firm_a)
    return firm_a


def test_a_suggestion_keeps_what_produced_it(drafted):
    cast = drafted
    advertising = _line(cast, cast.draft, "400")
    kept = advertising.provenance
    stored = ActualBalance.objects.for_firm(cast.firm).filter(
        organisation=cast.organisation, account=advertising.account, tracking_option=None
    )
    actuals = dict(stored.values_list("period", "amount"))

    assert kept["method"]["name"] == advertising.method
    assert kept["method"]["confidence"] == advertising.confidence
    assert kept["method"]["backtest_smape"] == advertising.backtest_smape
    assert kept["method"]["backtest_mase"] == advertising.backtest_mase
    # The history's values themselves, month by month as they were synced.
    history = kept["history"]
    assert history["months"] == advertising.history_months == 24
    assert history["last"] == OCTOBER.isoformat()
    first = add_months(OCTOBER, -23)
    assert history["first"] == first.isoformat()
    assert history["values"] == [str(actuals[add_months(first, i)]) for i in range(24)]
    assert history["values"][-1] == str(Decimal("3000.00") + CAMPAIGN)
    assert kept["inputs_hash"] == advertising.inputs_hash
    # The variance that triggered it.
    assert kept["variance"]["trigger"] == "variance"
    assert kept["variance"]["period"] == OCTOBER.isoformat()
    assert kept["variance"]["variance"] == str(advertising.trigger_variance)
    assert kept["variance"]["material"] is True
    assert kept["variance"]["threshold"] == {"percent": "10", "floor": "500"}
    # The narrative shown, and the facts it quoted.
    narrative = VarianceNarrative.objects.for_firm(cast.firm).get(
        account=advertising.account, period=OCTOBER, tracking_option=None
    )
    assert kept["narrative"]["shown"] == advertising.narrative
    assert kept["narrative"]["variance_text"] == narrative.text
    assert advertising.narrative.startswith(narrative.text)
    assert kept["narrative"]["facts"] == narrative.facts
    assert kept["narrative"]["generator"] == "local"
    assert kept["narrative"]["fallback_reason"] == ""
    # Every policy rule, checked or off, with its limit.
    checks = {c["rule"]: c for c in kept["policy"]["checks"]}
    assert list(checks) == [
        "scope",
        "account_cap",
        "class_cap",
        "actual_multiple",
        "sign",
        "max_change_amount",
        "max_change_percent",
    ]
    assert checks["max_change_percent"] == {
        "rule": "max_change_percent",
        "label": "Largest change in percent",
        "checked": True,
        "limit": "100",
        "ok": True,
        "violations": [],
    }
    assert checks["account_cap"]["checked"] is False
    assert checks["sign"]["checked"] is True and checks["sign"]["ok"] is True
    assert kept["policy"]["version"] == 0


def test_the_figure_is_reproduced_from_what_was_kept_after_xero_changes(drafted):
    cast = drafted
    rent = _line(cast, cast.draft, "469")
    suggested = list(
        DraftBalance.objects.for_firm(cast.firm)
        .filter(line=rent)
        .order_by("period")
        .values_list("suggested_amount", flat=True)
    )
    # A re-sync after the draft: Xero's figures for the line moved, and older months are gone.
    rows = ActualBalance.objects.for_firm(cast.firm).filter(account=rent.account)
    rows.filter(period__gte=add_months(OCTOBER, -5)).update(amount=Decimal("9999.00"))
    rows.filter(period__lt=add_months(OCTOBER, -12)).delete()

    again = figure_reproduce(rent.provenance)

    assert again.inputs_hash == rent.inputs_hash
    assert [again.point(i) for i in range(len(suggested))] == suggested
    assert draft_line_why(firm=cast.firm, line=rent).reproduced is True
    # The hash really is of the kept values: another history gives another.
    changed = [Decimal(v) for v in rent.provenance["history"]["values"]]
    changed[-1] += 1
    assert inputs_hash(values=changed, first=add_months(OCTOBER, -23), horizon=6) != (
        rent.inputs_hash
    )


def test_who_accepted_edited_and_approved_the_figures(drafted, celery_eager):
    cast = drafted
    preparer = cast.member(Role.PREPARER).user
    advertising = _line(cast, cast.draft, "400")
    draft_line_edit(
        firm=cast.firm,
        draft=cast.draft,
        line=advertising,
        period=NOVEMBER,
        amount="3100",
        reason="The campaign runs on into November",
        user=preparer,
    )
    for section in (
        DraftLine.objects.for_firm(cast.firm)
        .filter(draft=cast.draft)
        .values_list("section", flat=True)
        .distinct()
    ):
        draft_section_accept(firm=cast.firm, draft=cast.draft, section=section, user=preparer)
    approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=cast.member(Role.ADMIN).user,
        steps=[{"name": "Manager", "roles": ["approver"]}],
    )
    approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=preparer)
    approver = cast.member(Role.APPROVER).user
    approvals.approval_decide(
        firm=cast.firm,
        draft=cast.draft,
        approver=approvals.approver_for_member(firm=cast.firm, user=approver),
        decision="approve",
        channel="screen",
        comment="Fine for the board",
    )

    why = draft_line_why(firm=cast.firm, line=advertising)

    assert [(d.who, d.action) for d in why.decisions] == [
        (preparer.email, "edited"),
        (approver.email, "approved"),
    ]
    assert why.decisions[0].detail == "Nov 2026: 3100.00 (The campaign runs on into November)"
    assert why.decisions[1].detail == "Step 1 (Manager): Fine for the board (by screen)"
    rent = _line(cast, cast.draft, "469")
    rent_why = draft_line_why(firm=cast.firm, line=rent)
    assert [(d.who, d.action) for d in rent_why.decisions] == [
        (preparer.email, "accepted"),
        (approver.email, "approved"),
    ]


def test_one_line_accepted_by_hand_says_so(drafted):
    cast = drafted
    preparer = cast.member(Role.PREPARER).user
    rent = _line(cast, cast.draft, "469")

    draft_line_accept(firm=cast.firm, draft=cast.draft, line=rent, user=preparer)

    [decision] = draft_line_why(firm=cast.firm, line=rent).decisions
    assert (decision.who, decision.action, decision.detail) == (
        preparer.email,
        "accepted",
        "Suggestion accepted",
    )


def _screen(cast, draft, line):
    return reverse(
        "draft_line_detail", args=[cast.firm.slug, cast.organisation.pk, draft.pk, line.pk]
    )


def test_the_line_screen_shows_why_this_figure_to_its_own_firm(client, drafted, firm_b):
    cast = drafted
    theirs = _drafted(firm_b)
    advertising = _line(cast, cast.draft, "400")
    their_line = _line(firm_b, theirs, "400")
    client.force_login(cast.member(Role.VIEWER).user)

    page = client.get(_screen(cast, cast.draft, advertising)).content.decode()
    other = client.get(_screen(cast, theirs, their_line))
    crossed = client.get(_screen(cast, cast.draft, their_line))

    assert '<details class="panel why-figure" id="why-figure">' in page
    assert "Why this figure" in page and "Reproduced:" in page
    assert "24 months, 2024-11 to 2026-10" in page
    assert "NZ$7,100.00" in page  # October's actual in the kept history
    assert "Largest change in percent (100)" in page
    assert "Account cap: off" in page
    assert "The facts it quoted" in page
    assert "Nobody yet" in page
    panel = page.split('id="why-figure"')[1].split("Who accepted")[0]
    assert "<script" not in panel and " style=" not in panel  # the CSP allows neither
    assert other.status_code == crossed.status_code == 404


def test_the_api_explains_a_line_to_its_own_firm_only(client, drafted, firm_b):
    cast = drafted
    theirs = _drafted(firm_b)
    advertising = _line(cast, cast.draft, "400")
    their_line = _line(firm_b, theirs, "400")
    key = api_key_create(firm=cast.firm)[1]
    base = f"/api/v1/organisations/{cast.organisation.public_id}/drafts"

    response = client.get(
        f"{base}/{cast.draft.pk}/lines/{advertising.pk}/why/", headers=bearer(key)
    )
    crossed = client.get(f"{base}/{cast.draft.pk}/lines/{their_line.pk}/why/", headers=bearer(key))
    other_org = client.get(
        f"/api/v1/organisations/{firm_b.organisation.public_id}/drafts/{theirs.pk}/lines/"
        f"{their_line.pk}/why/",
        headers=bearer(key),
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["line_id"] == advertising.pk and body["account_code"] == "400"
    assert body["kept"] is True and body["reproduced"] is True
    assert body["inputs_hash"] == advertising.inputs_hash
    assert body["method"]["name"] == advertising.method
    assert len(body["history"]["values"]) == 24
    assert body["history"]["values"][-1] == {"period": "2026-10", "actual": "7100.00"}
    assert body["variance"]["trigger"] == "variance" and body["variance"]["period"] == "2026-10"
    assert body["variance"]["threshold_floor"] == "500.00"
    assert body["narrative"]["shown"] == advertising.narrative
    assert body["narrative"]["facts"]["actual"] == "7100.00"
    assert [c["rule"] for c in body["policy"]["checks"]][:2] == ["scope", "account_cap"]
    assert body["decisions"] == []
    assert crossed.status_code == other_org.status_code == 404


def test_the_api_schema_documents_why_this_figure(client, firm_a):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"][
        "/api/v1/organisations/{organisation_public_id}/drafts/{draft_id}/lines/{line_id}/why/"
    ]["get"]
    assert operation["operationId"] == "draft_lines_why"
    assert "DraftLineWhy" in schema["components"]["schemas"]
    assert "WhyPolicyCheck" in schema["components"]["schemas"]


def _advertising_bills(cast, org) -> None:
    """The bills behind Advertising's months, synced the day after October closed: Google Ads
    every month, and the campaign in October."""
    org.profile.synced_at = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    org.profile.save()
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    actuals = dict(
        ActualBalance.objects.for_firm(cast.firm)
        .filter(account=org.accounts["400"], tracking_option=None)
        .values_list("period", "amount")
    )
    lines = []
    for back in range(6, -1, -1):
        month = add_months(OCTOBER, -back)
        regular = actuals[month] - (CAMPAIGN if month == OCTOBER else 0)
        lines.append(("ADS", month, "Google Ads", "Search ads", regular))
    lines.append(("BW", OCTOBER, "Brightwave Media", "Spring campaign", CAMPAIGN))
    TransactionLine.objects.bulk_create(
        TransactionLine(
            **owned,
            document_type="ACCPAY",
            document_id=f"{prefix}-{month:%Y%m}",
            document_number=f"{prefix}-{month:%Y%m}",
            line_id="1",
            date=month.replace(day=12),
            account=org.accounts["400"],
            contact_name=contact,
            description=description,
            amount=amount,
        )
        for prefix, month, contact, description, amount in lines
    )


def test_a_provider_answer_that_fails_its_check_is_logged_on_the_draft(
    client, firm_a, firm_b, chat_endpoint
):
    org = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    _advertising_bills(firm_a, org)
    narrative_provider_settings_update(
        firm=firm_a.firm,
        enabled=True,
        base_url=chat_endpoint.base_url,
        model="test",
        api_key="sk-x",
    )
    assert NarrativeProviderSettings.objects.for_firm(firm_b.firm).count() == 0
    chat_endpoint.answer_with(lambda payload: "Advertising is 4,100 under budget.")
    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)
    draft = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft
    advertising = _line(firm_a, draft, "400")

    assert chat_endpoint.received  # it was asked
    reason = advertising.provenance["narrative"]["fallback_reason"]
    assert reason == "unverified number 4,100 under budget"
    assert "under budget" not in advertising.narrative.split(" Forecast from")[0]
    created = draft.history.earliest("history_date")
    assert created.history_change_reason.endswith("1 narratives local (provider not used)")
    # In the line's history too, as far as a change reason's 100 characters go.
    suggested = advertising.history.earliest("history_date").history_change_reason
    assert "; local narrative: unverified number 4," in suggested
    client.force_login(firm_a.member(Role.VIEWER).user)
    detail = client.get(
        reverse("draft_detail", args=[firm_a.firm.slug, firm_a.organisation.pk, draft.pk])
    ).content.decode()
    line_page = client.get(_screen(firm_a, draft, advertising)).content.decode()
    assert "The firm's narrative provider was not used" in line_page
    assert "Brightwave" not in chat_endpoint.received[0].decode()
    assert reason in line_page
    assert "narrative provider" in detail and reason in detail
    assert json.dumps(reason) in json.dumps(advertising.provenance)


def test_a_line_drafted_before_provenance_was_kept_says_so(client, firm_a, firm_b):
    from tests.factories import DraftBalanceFactory, DraftLineFactory

    old = DraftLineFactory(organisation=firm_a.organisation)
    DraftBalanceFactory(line=old)
    theirs = DraftLineFactory(organisation=firm_b.organisation)
    key = api_key_create(firm=firm_a.firm)[1]
    base = f"/api/v1/organisations/{firm_a.organisation.public_id}/drafts/{old.draft_id}/lines"

    body = client.get(f"{base}/{old.pk}/why/", headers=bearer(key)).json()
    crossed = client.get(f"{base}/{theirs.pk}/why/", headers=bearer(key))
    client.force_login(firm_a.member(Role.VIEWER).user)
    page = client.get(_screen(firm_a, old.draft, old)).content.decode()

    assert body["kept"] is False and body["reproduced"] is None
    assert body["method"] is body["history"] is body["narrative"] is body["policy"] is None
    assert body["inputs_hash"] == old.inputs_hash
    assert crossed.status_code == 404
    assert "drafted before the app kept what produced its figures" in page
