"""Next year's budget drafted from the history: every line forecast with its method and
intervals, flagged where it is atypical, the firm's tendency on the same client offered, a year
drafted once unless drafted again, and published into a new budget for the year."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from budgeting.annual.selectors import annual_years, decision_changes
from budgeting.annual.services import (
    AnnualDraftError,
    annual_draft_create,
    annual_tendency_apply,
)
from budgeting.annual.tasks import annual_draft_create_task
from budgeting.drafts.services import draft_lines_decide, draft_status_set
from budgeting.models import (
    Account,
    ActualBalance,
    AnnualDraft,
    AnnualLineFlag,
    Budget,
    BudgetBalance,
    BudgetLine,
    BudgetPublication,
    Draft,
    DraftBalance,
    DraftLine,
    XeroOrganisation,
)
from budgeting.publishing.services import (
    budget_publication_rollback,
    budget_publication_send,
    budget_publications_verify,
    draft_publish,
    forecast_budgets_find,
)
from core.money import money
from core.months import add_months
from tenants.roles import Role
from tests.budgeting.draft_data import OCTOBER, draft_organisation_create
from tests.factories import (
    ClientOrganisationFactory,
    DraftBalanceFactory,
    DraftFactory,
    ForecastDraftLineFactory,
    PublishingSettingFactory,
)

APRIL_2027 = dt.date(2027, 4, 1)
FY2028 = [add_months(APRIL_2027, i) for i in range(12)]


@pytest.fixture
def data(firm_a):
    made = draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    # Consulting income stopped in May 2026: five quiet months at the end.
    consulting = Account.objects.create(
        **owned, account_id="acc-250", code="250", name="Consulting", type="REVENUE"
    )
    ActualBalance.objects.bulk_create(
        ActualBalance(**owned, account=consulting, period=add_months(OCTOBER, -i), amount=800)
        for i in range(5, 24)
    )
    made.accounts["250"] = consulting
    return made


def _preparer(cast):
    return cast.member(Role.PREPARER).user


def _lines(cast, draft) -> dict[tuple[str, str], DraftLine]:
    return {
        (line.account.code, line.tracking_option.name if line.tracking_option else ""): line
        for line in DraftLine.objects.for_firm(cast.firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
    }


def test_next_year_is_drafted_line_by_line_with_method_intervals_and_flags(firm_a, data):
    years = annual_years(firm=firm_a.firm, organisation=firm_a.organisation)
    # Closed to October 2026, a year ending in March: FY2027 has closed months, FY2028 is next.
    assert [y.label for y in years.years] == ["FY2028"]
    annual = annual_draft_create(
        firm=firm_a.firm, organisation=firm_a.organisation, user=_preparer(firm_a)
    )
    draft = annual.draft
    assert (draft.source, draft.financial_year, draft.first_period, draft.horizon) == (
        Draft.Source.ANNUAL,
        2028,
        APRIL_2027,
        12,
    )
    assert draft.original_budget is None and draft.status == Draft.Status.DRAFT
    lines = _lines(firm_a, draft)
    # Every P&L account with history, and the North option's sales.
    assert set(lines) == {
        ("200", ""),
        ("250", ""),
        ("270", ""),
        ("400", ""),
        ("469", ""),
        ("200", "North"),
    }
    rent = lines[("469", "")]
    assert rent.trigger == DraftLine.Trigger.ANNUAL and not rent.accepted
    assert rent.method and rent.history_months == 24
    balances = list(DraftBalance.objects.for_firm(firm_a.firm).filter(line=rent))
    assert [b.period for b in balances] == FY2028
    for b in balances:
        assert b.original_amount is None
        assert b.lo_95 <= b.lo_80 <= b.suggested_amount <= b.hi_80 <= b.hi_95
        assert Decimal("5800") <= b.suggested_amount <= Decimal("6200")
    assert rent.provenance["history"]["offset"] == 5  # November 2026 to March 2027 first
    assert "FY2028 drafted from 24 months of actuals" in rent.narrative

    flags = {
        (f.line.account.code, f.kind): f
        for f in AnnualLineFlag.objects.for_firm(firm_a.firm)
        .filter(annual=annual)
        .select_related("line__account")
    }
    one_off = flags[("400", AnnualLineFlag.Kind.ONE_OFF)]
    assert one_off.months == ["2026-10-01"]
    assert "Oct 2026 (NZ$7,100.00)" in one_off.reason
    stopped = flags[("250", AnnualLineFlag.Kind.STOPPED)]
    assert stopped.months == ["2026-06-01"]
    departs = flags[("250", AnnualLineFlag.Kind.DEPARTS)]
    assert departs.percent < -25
    # Steady lines are not flagged.
    assert not [key for key in flags if key[0] in ("469", "270")]
    # The Rent line's chart marks no month; Advertising's marks October.
    from budgeting.annual.selectors import annual_line_marks

    assert annual_line_marks(firm=firm_a.firm, line=rent) == {}
    assert annual_line_marks(firm=firm_a.firm, line=lines[("400", "")]) == {
        dt.date(2026, 10, 1): "One-off months"
    }


def test_a_year_is_drafted_once_unless_drafted_again_which_supersedes_it(firm_a, data):
    user = _preparer(firm_a)
    first = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    with pytest.raises(AnnualDraftError, match=r"FY2028 of .* was drafted on .* Draft again"):
        annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    # The task is safe to run twice: the year is drafted already, so it does nothing.
    assert annual_draft_create_task(firm_a.firm.pk, firm_a.organisation.pk, 2028, user.pk) is None
    assert AnnualDraft.objects.for_firm(firm_a.firm).count() == 1

    second = annual_draft_create(
        firm=firm_a.firm, organisation=firm_a.organisation, user=user, supersede=first
    )
    first.refresh_from_db()
    first.draft.refresh_from_db()
    assert first.superseded_by == second and first.superseded_at is not None
    assert first.draft.status == Draft.Status.REJECTED
    record = first.draft.history.first()
    assert record.history_change_reason == "Superseded: FY2028 drafted again"
    assert record.history_user == user
    assert second.draft.history.first().history_change_reason == (
        f"FY2028 drafted again from the history, superseding draft {first.draft_id}"
    )
    # Drafting again from the superseded draft is refused: it is not the current one.
    with pytest.raises(AnnualDraftError, match="no longer the current one"):
        annual_draft_create(
            firm=firm_a.firm, organisation=firm_a.organisation, user=user, supersede=first
        )


def test_a_year_with_no_history_says_so_and_makes_no_draft(firm_a):
    XeroOrganisation.objects.create(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        xero_organisation_id="org-empty",
        name="Empty",
        base_currency="NZD",
        financial_year_end_day=31,
        financial_year_end_month=3,
        period_lock_date=dt.date(2026, 10, 31),
    )
    with pytest.raises(AnnualDraftError, match="no history to draft FY2028 from"):
        annual_draft_create(
            firm=firm_a.firm, organisation=firm_a.organisation, user=_preparer(firm_a)
        )
    with pytest.raises(AnnualDraftError, match=r"FY2027 cannot be drafted.*FY2028"):
        annual_draft_create(
            firm=firm_a.firm,
            organisation=firm_a.organisation,
            user=_preparer(firm_a),
            financial_year=2027,
        )
    assert not Draft.objects.for_firm(firm_a.firm).exists()


def _decided_draft(cast, organisation, account, option, change: str, days_ago: int):
    """An approved rolling draft whose approvers moved the account's suggestion by `change`%."""
    from django.utils import timezone

    draft = DraftFactory(
        firm=cast.firm,
        organisation=organisation,
        status=Draft.Status.APPROVED,
        created_at=timezone.now() - dt.timedelta(days=days_ago),
    )
    line = ForecastDraftLineFactory(
        firm=cast.firm,
        organisation=organisation,
        draft=draft,
        account=account,
        tracking_option=option,
    )
    for month in (0, 1):
        DraftBalanceFactory(
            firm=cast.firm,
            organisation=organisation,
            line=line,
            period=add_months(draft.first_period, month),
            suggested_amount=Decimal("6000"),
            edited_amount=Decimal("6000") * (100 + Decimal(change)) / 100,
        )
    return draft


def test_the_firms_tendency_on_this_client_is_offered_and_applied_once(firm_a, data):
    rent = data.accounts["469"]
    for days, change in ((90, "-10"), (60, "-8"), (30, "-12")):
        _decided_draft(firm_a, firm_a.organisation, rent, None, change, days)
    # Another client of the same firm, whose approvers raised Rent: never pooled.
    other = ClientOrganisationFactory(firm=firm_a.firm)
    other_rent = Account.objects.create(
        firm=firm_a.firm,
        organisation=other,
        account_id="acc-469",
        code="469",
        name="Rent",
        type="EXPENSE",
    )
    for days in (20, 10, 5):
        _decided_draft(firm_a, other, other_rent, None, "50", days)
    assert decision_changes(firm=firm_a.firm, organisation=firm_a.organisation) == {
        (rent.pk, None): [pytest.approx(-12), pytest.approx(-8), pytest.approx(-10)]
    }

    user = _preparer(firm_a)
    annual = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    tendency = AnnualLineFlag.objects.for_firm(firm_a.firm).get(
        annual=annual, kind=AnnualLineFlag.Kind.TENDENCY
    )
    assert tendency.line.account == rent
    assert tendency.percent == Decimal("-10.0")
    assert tendency.reason == (
        "Approvers lowered this line's suggestions in 3 of the last 3 drafts for this client, "
        "by a median of -10.0%."
    )
    before = {
        b.period: b.suggested_amount
        for b in DraftBalance.objects.for_firm(firm_a.firm).filter(line=tendency.line)
    }
    revision = annual.draft.revision
    annual_tendency_apply(firm=firm_a.firm, flag=tendency, user=user)
    after = DraftBalance.objects.for_firm(firm_a.firm).filter(line=tendency.line)
    for balance in after:
        # Rounded as the app rounds money (half up, as Xero does).
        assert balance.edited_amount == money(before[balance.period] * Decimal("0.9"))
        assert balance.edited_by == user
        assert balance.edit_reason.startswith("The firm's tendency applied (-10.0%)")
    tendency.refresh_from_db()
    assert tendency.applied_by == user and tendency.applied_at is not None
    assert tendency.history.first().history_user == user
    annual.draft.refresh_from_db()
    assert annual.draft.revision == revision + 1
    with pytest.raises(AnnualDraftError, match=r"applied to Rent.* already"):
        annual_tendency_apply(firm=firm_a.firm, flag=tendency, user=user)
    # A flag that is not a tendency cannot be applied.
    stopped = AnnualLineFlag.objects.for_firm(firm_a.firm).get(
        annual=annual, kind=AnnualLineFlag.Kind.STOPPED
    )
    with pytest.raises(AnnualDraftError, match="Only the firm's tendency"):
        annual_tendency_apply(firm=firm_a.firm, flag=stopped, user=user)


def test_an_approved_annual_draft_publishes_into_a_new_budget_for_its_year(firm_a, data):
    user = _preparer(firm_a)
    annual = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    draft = annual.draft
    lines = _lines(firm_a, draft)
    draft_lines_decide(
        firm=firm_a.firm,
        draft=draft,
        line_ids=[line.pk for line in lines.values()],
        decision="accept",
        user=user,
    )
    draft.refresh_from_db()
    draft_status_set(draft=draft, status=Draft.Status.APPROVED, reason="Approved", user=None)
    overall_before = list(
        BudgetBalance.objects.for_firm(firm_a.firm)
        .filter(budget_line__budget=data.overall)
        .values_list("pk", "amount")
    )

    # Even with "replace the original" on for this client: a new year has no original.
    PublishingSettingFactory(organisation=firm_a.organisation, replace_original=True)
    made = draft_publish(firm=firm_a.firm, draft=draft, user=user, send=False)
    name = f"{firm_a.organisation.name} budget FY2028 (Ledgerline)"
    by_name = {p.budget_name: p for p in made}
    assert set(by_name) == {name, f"{name}: North"}
    whole = by_name[name]
    assert whole.status == BudgetPublication.Status.WAITING_FOR_BUDGET
    assert not whole.replaces_original and whole.original_cells == []
    header, *rows = whole.file_content.split("\r\n")
    assert header == "Account," + ",".join(f"{m:%b-%Y}" for m in FY2028)
    assert {row.split(",")[0] for row in rows if row} == {
        "Sales (200)",
        "Consulting (250)",
        "Interest Income (270)",
        "Advertising (400)",
        "Rent (469)",
    }
    draft.refresh_from_db()
    assert draft.status == Draft.Status.AWAITING_FORECAST
    # The email says where the file goes, and how to add the year's budget for North.
    budget_publication_send(publication=by_name[f"{name}: North"])
    (sent,) = mail.outbox
    assert f'It goes into a new budget for FY2028, "{name}: North"' in sent.body
    assert f"Name it exactly: {name}: North" in sent.body
    assert "Tracking: Region: North." in sent.body

    # A person adds the budget in Xero and imports the file; the next sync reads it back.
    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    added = Budget.objects.create(
        **owned, budget_id="bud-fy2028", type=Budget.Type.TRACKING, description=name
    )
    (found,) = forecast_budgets_find(firm=firm_a.firm, organisation=firm_a.organisation)
    assert found.budget == added
    budget_lines = {}
    for row in whole.expected:
        if row["account"] not in budget_lines:
            budget_lines[row["account"]] = BudgetLine.objects.create(
                **owned, budget=added, account_id=row["account"]
            )
        BudgetBalance.objects.create(
            **owned,
            budget_line=budget_lines[row["account"]],
            period=row["period"],
            amount=Decimal(row["amount"]),
        )
    budget_publications_verify(firm=firm_a.firm, organisation=firm_a.organisation)
    whole.refresh_from_db()
    assert whole.status == BudgetPublication.Status.VERIFIED
    # The client's existing budget was never the target, and did not move.
    assert (
        list(
            BudgetBalance.objects.for_firm(firm_a.firm)
            .filter(budget_line__budget=data.overall)
            .values_list("pk", "amount")
        )
        == overall_before
    )


def test_a_published_annual_budget_rolls_back_to_no_figures_through_the_chain(
    firm_a, firm_b, data, client
):
    # A new year's budget had nothing before its first file: rolling that file back is a
    # rollback draft that empties the file's cells of the same budget, approved like any draft.
    user = _preparer(firm_a)
    annual = annual_draft_create(firm=firm_a.firm, organisation=firm_a.organisation, user=user)
    draft = annual.draft
    draft_lines_decide(
        firm=firm_a.firm,
        draft=draft,
        line_ids=list(
            DraftLine.objects.for_firm(firm_a.firm).filter(draft=draft).values_list("pk", flat=True)
        ),
        decision="accept",
        user=user,
    )
    draft.refresh_from_db()
    draft_status_set(draft=draft, status=Draft.Status.APPROVED, reason="Approved", user=None)
    made = draft_publish(firm=firm_a.firm, draft=draft, user=user, send=False)
    name = f"{firm_a.organisation.name} budget FY2028 (Ledgerline)"
    (whole,) = [p for p in made if p.budget_name == name]
    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    added = Budget.objects.create(
        **owned, budget_id="bud-fy2028", type=Budget.Type.TRACKING, description=name
    )
    forecast_budgets_find(firm=firm_a.firm, organisation=firm_a.organisation)
    budget_lines = {}
    for row in whole.expected:
        if row["account"] not in budget_lines:
            budget_lines[row["account"]] = BudgetLine.objects.create(
                **owned, budget=added, account_id=row["account"]
            )
        BudgetBalance.objects.create(
            **owned,
            budget_line=budget_lines[row["account"]],
            period=row["period"],
            amount=Decimal(row["amount"]),
        )
    budget_publications_verify(firm=firm_a.firm, organisation=firm_a.organisation)
    whole.refresh_from_db()
    assert whole.status == BudgetPublication.Status.VERIFIED

    # The screen offers it in those words; firm B gets 404.
    url = reverse(
        "budget_publication_rollback", args=[firm_a.firm.slug, firm_a.organisation.pk, whole.pk]
    )
    client.force_login(user)
    assert "No figures: the budget had none before this file" in client.get(url).content.decode()
    client.force_login(firm_b.member(Role.OWNER).user)
    assert client.get(url).status_code == 404
    other = reverse(
        "budget_publication_rollback", args=[firm_b.firm.slug, firm_a.organisation.pk, whole.pk]
    )
    assert client.get(other).status_code == 404

    rollback = budget_publication_rollback(
        firm=firm_a.firm, publication=whole, to=None, user=user, reason="Wrong year drafted"
    )
    back = rollback.draft
    assert back.source == Draft.Source.ROLLBACK and back.original_budget == added
    figures = {(f["code"], f["period"]): Decimal(f["amount"]) for f in rollback.figures}
    assert figures and set(figures.values()) == {Decimal(0)}
    assert len(figures) == len(whole.expected)
    assert "no figures (the budget had none before this file)" in (
        DraftLine.objects.for_firm(firm_a.firm).filter(draft=back).first().narrative
    )

    # Approved (by someone else), it is published into the same year's budget.
    draft_status_set(draft=back, status=Draft.Status.APPROVED, reason="Approved", user=None)
    (again,) = draft_publish(
        firm=firm_a.firm, draft=back, user=firm_a.member(Role.OWNER).user, send=False
    )
    assert again.budget_name == name and again.forecast_budget_id == whole.forecast_budget_id
    assert {Decimal(row["amount"]) for row in again.expected} == {Decimal(0)}
