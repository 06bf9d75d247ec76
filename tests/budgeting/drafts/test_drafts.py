"""Rolling Forecast drafts: the original budget stays as it was, only lines that need a change get
a suggestion, the policy decides scope and limits, and every edit is reasoned and audited."""

from decimal import Decimal

import pytest

from budgeting.approvals.selectors import draft_editors
from budgeting.drafts.services import (
    DraftError,
    budget_policy_update,
    draft_can_submit,
    draft_create_rolling,
    draft_line_accept,
    draft_line_check,
    draft_line_edit,
    draft_line_reset,
    draft_policy_recheck,
    draft_section_accept,
    draft_section_reset,
    forecast_run_execute,
    forecast_run_start,
)
from budgeting.drafts.tasks import draft_create_rolling_task
from budgeting.models import (
    Budget,
    BudgetBalance,
    BudgetLine,
    Draft,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    ForecastRun,
)
from core.months import add_months
from tenants.models import ClientOrganisation
from tenants.roles import Role
from tests.budgeting.draft_data import NOVEMBER, OCTOBER, draft_organisation_create


@pytest.fixture
def org(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


def policy(cast, **fields):
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
    }
    values.update(fields)
    return budget_policy_update(
        firm=cast.firm, organisation=cast.organisation, user=cast.member(Role.ADMIN).user, **values
    )


def create(cast, **kwargs):
    return draft_create_rolling(firm=cast.firm, organisation=cast.organisation, **kwargs)


def lines_of(cast, draft) -> dict[tuple[str, str | None], DraftLine]:
    return {
        (line.account.code, line.tracking_option.name if line.tracking_option else None): line
        for line in DraftLine.objects.for_firm(cast.firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
    }


def budget_state(cast):
    """Every budget figure of the organisation, and how many history rows each model has."""
    balances = sorted(
        BudgetBalance.objects.for_firm(cast.firm)
        .filter(organisation=cast.organisation)
        .values_list(
            "budget_line__budget__budget_id", "budget_line__account__code", "period", "amount"
        )
    )
    history = (
        Budget.history.filter(firm_id=cast.firm.pk).count(),
        BudgetLine.history.filter(firm_id=cast.firm.pk).count(),
        BudgetBalance.history.filter(firm_id=cast.firm.pk).count(),
    )
    return balances, history


def test_a_draft_leaves_the_original_budget_exactly_as_it_was(firm_a, org):
    before = budget_state(firm_a)

    result = create(firm_a)
    line = next(iter(lines_of(firm_a, result.draft).values()))
    draft_line_edit(
        firm=firm_a.firm,
        draft=result.draft,
        line=line,
        period=NOVEMBER,
        amount="1234.56",
        reason="Checking the original stays",
        user=firm_a.member(Role.PREPARER).user,
    )

    assert result.draft is not None
    assert budget_state(firm_a) == before
    assert result.draft.original_budget == org.overall


def test_only_material_or_out_of_threshold_lines_get_a_suggestion(firm_a, org):
    result = create(firm_a)

    lines = lines_of(firm_a, result.draft)
    # Sales is on budget; interest income is 40% off but under the 500 floor.
    assert set(lines) == {("400", None), ("469", None), ("200", "North")}
    assert lines[("400", None)].trigger == DraftLine.Trigger.VARIANCE
    assert lines[("400", None)].trigger_variance == Decimal("4100.00")
    assert lines[("469", None)].trigger == DraftLine.Trigger.FORECAST
    assert lines[("200", "North")].trigger == DraftLine.Trigger.FORECAST
    assert len(result.analysed) == 5  # every line is forecast all the same
    assert result.draft.lines_analysed == 5
    assert result.draft.first_period == NOVEMBER
    assert result.draft.last_actual_period == OCTOBER


def test_every_suggestion_stores_method_confidence_intervals_trigger_narrative_and_hash(
    firm_a, org
):
    rent = lines_of(firm_a, create(firm_a).draft)[("469", None)]

    assert rent.method and 0 <= rent.confidence <= 100
    assert rent.confidence_label in ("high", "medium", "low")
    assert len(rent.inputs_hash) == 64
    assert rent.history_months == 24
    assert "Forecast from 24 months of actuals" in rent.narrative
    assert "below" not in rent.narrative and "above the budget" in rent.narrative
    months = list(DraftBalance.objects.for_firm(firm_a.firm).filter(line=rent))
    assert len(months) == 6
    for month in months:
        assert month.original_amount == Decimal("5000.00")
        assert month.lo_95 <= month.lo_80 <= month.suggested_amount <= month.hi_80 <= month.hi_95
        assert Decimal("5500") < month.suggested_amount < Decimal("6500")
        assert month.edited_amount is None and month.effective_amount == month.suggested_amount
    history = rent.history.first()
    assert rent.method in history.history_change_reason
    assert rent.inputs_hash[:12] in history.history_change_reason


def test_the_inputs_hash_is_the_same_for_the_same_inputs(firm_a, org):
    first = lines_of(firm_a, create(firm_a).draft)[("469", None)]
    second = lines_of(firm_a, create(firm_a).draft)[("469", None)]
    assert first.inputs_hash == second.inputs_hash
    assert first.confidence == second.confidence


def test_a_tracking_line_compares_against_its_tracking_budget(firm_a, org):
    north = lines_of(firm_a, create(firm_a).draft)[("200", "North")]

    assert north.original_budget == org.north
    originals = set(
        DraftBalance.objects.for_firm(firm_a.firm)
        .filter(line=north)
        .values_list("original_amount", flat=True)
    )
    assert originals == {Decimal("15000.00")}


def test_a_stored_variance_narrative_is_used(firm_a, org):
    from budgeting.variance.services import organisation_variance_refresh

    organisation_variance_refresh(firm=firm_a.firm, organisation=firm_a.organisation)

    advertising = lines_of(firm_a, create(firm_a).draft)[("400", None)]

    assert advertising.narrative.startswith("Advertising")
    assert "Forecast from 24 months" in advertising.narrative


def test_each_forecast_is_kept_for_scoring(firm_a, org):
    create(firm_a)
    create(firm_a)  # the same month again replaces, not duplicates

    records = ForecastRecord.objects.for_firm(firm_a.firm).filter(organisation=firm_a.organisation)
    assert records.count() == 5 * 6
    rent = records.filter(account=org.accounts["469"], tracking_option=None).order_by("step")
    assert [r.step for r in rent] == [1, 2, 3, 4, 5, 6]
    assert rent[0].made_at == OCTOBER and rent[0].target == NOVEMBER
    assert all(r.actual is None for r in rent)


def test_a_read_only_policy_creates_no_draft(firm_a, org):
    policy(firm_a, scope="read_only")

    result = create(firm_a)

    assert result.draft is None and result.read_only
    assert not Draft.objects.for_firm(firm_a.firm).exists()
    assert len(result.analysed) == 5
    assert "Analysis only" in result.message and "3 would need a change" in result.message
    # Accuracy is still tracked.
    assert ForecastRecord.objects.for_firm(firm_a.firm).count() == 30


def test_assisted_scope_limits_the_lines(firm_a, org):
    policy(firm_a, scope="assisted", account_ids=[org.accounts["469"].pk])
    assert set(lines_of(firm_a, create(firm_a).draft)) == {("469", None)}

    policy(firm_a, scope="assisted", tracking_option_ids=[org.option.pk])
    assert set(lines_of(firm_a, create(firm_a).draft)) == {("200", "North")}


def test_the_policy_horizon_and_version_are_used(firm_a, org):
    row = policy(firm_a, horizon=12)
    row = policy(firm_a, horizon=12)  # a second save is a new version

    draft = create(firm_a).draft

    assert row.version == 2 and draft.policy_version == 2
    assert draft.horizon == 12
    assert DraftBalance.objects.for_firm(firm_a.firm).filter(line__draft=draft).count() == (3 * 12)


def test_violations_are_stored_on_the_line_and_block_submission(firm_a, org):
    policy(firm_a, max_change_amount=Decimal("500"), extra_approval_above=Decimal("3000"))

    draft = create(firm_a).draft
    rent = lines_of(firm_a, draft)[("469", None)]

    assert not rent.policy_ok
    assert {v["rule"] for v in rent.policy_violations} == {"max_change_amount"}
    assert len(rent.policy_violations) == 6  # one per month
    assert rent.needs_extra_approval  # about 6,000 over six months
    reasons = draft_can_submit(firm=firm_a.firm, draft=draft)
    assert any("break the policy" in r for r in reasons)


def test_an_edit_needs_a_reason_bumps_the_revision_and_runs_the_policy_again(firm_a, org):
    policy(firm_a, max_change_amount=Decimal("500"))
    draft = create(firm_a).draft
    rent = lines_of(firm_a, draft)[("469", None)]
    preparer = firm_a.member(Role.PREPARER).user

    with pytest.raises(DraftError, match="reason is required"):
        draft_line_edit(
            firm=firm_a.firm,
            draft=draft,
            line=rent,
            period=NOVEMBER,
            amount="5400",
            reason="  ",
            user=preparer,
        )
    draft.refresh_from_db()
    assert draft.revision == 1

    for step in range(6):
        rent = draft_line_edit(
            firm=firm_a.firm,
            draft=draft,
            line=rent,
            period=add_months(NOVEMBER, step),
            amount="5400",
            reason="New lease from November at 5,400",
            user=preparer,
        )
        draft.refresh_from_db()
        assert draft.revision == 2 + step
        assert rent.policy_ok == (step == 5)  # each month's violation goes as it is edited

    assert rent.edited and rent.accepted and rent.reason == "New lease from November at 5,400"
    november = DraftBalance.objects.for_firm(firm_a.firm).get(line=rent, period=NOVEMBER)
    assert november.effective_amount == Decimal("5400.00") and november.edited_by == preparer
    assert november.history.first().history_change_reason == (
        "Edited: New lease from November at 5,400"
    )
    assert draft.history.first().history_change_reason.endswith(
        "edited: New lease from November at 5,400"
    )
    assert preparer.email.lower() in draft_editors(firm=firm_a.firm, draft=draft)


def test_an_edit_is_checked_before_it_is_saved(firm_a, org):
    policy(firm_a, max_change_amount=Decimal("500"))
    draft = create(firm_a).draft
    rent = lines_of(firm_a, draft)[("469", None)]

    check = draft_line_check(
        firm=firm_a.firm, draft=draft, line=rent, period=NOVEMBER, amount="9000"
    )

    assert [v.rule for v in check.violations if v.period == NOVEMBER] == ["max_change_amount"]
    draft.refresh_from_db()
    assert draft.revision == 1


def test_an_approved_draft_cannot_be_edited(firm_a, org):
    # A draft waiting for approval can (approval restarts: tests/budgeting/test_approvals.py).
    draft = create(firm_a).draft
    draft.status = Draft.Status.APPROVED
    draft.save()
    rent = lines_of(firm_a, draft)[("469", None)]

    with pytest.raises(DraftError, match="can no longer be changed"):
        draft_line_edit(
            firm=firm_a.firm,
            draft=draft,
            line=rent,
            period=NOVEMBER,
            amount="5000",
            reason="Too late",
            user=firm_a.member(Role.PREPARER).user,
        )


def test_accept_reset_and_sections(firm_a, org):
    draft = create(firm_a).draft
    lines = lines_of(firm_a, draft)
    user = firm_a.member(Role.PREPARER).user
    assert any("neither accepted" in r for r in draft_can_submit(firm=firm_a.firm, draft=draft))

    draft_line_accept(firm=firm_a.firm, draft=draft, line=lines[("200", "North")], user=user)
    assert (
        draft_section_accept(firm=firm_a.firm, draft=draft, section="operating_expenses", user=user)
        == 2
    )

    assert draft_can_submit(firm=firm_a.firm, draft=draft) == []
    draft.refresh_from_db()
    assert draft.revision == 3

    draft_line_edit(
        firm=firm_a.firm,
        draft=draft,
        line=lines[("469", None)],
        period=NOVEMBER,
        amount="1",
        reason="Typo test",
        user=user,
    )
    rent = draft_line_reset(firm=firm_a.firm, draft=draft, line=lines[("469", None)], user=user)
    assert not rent.accepted and not rent.edited and rent.reason == ""
    assert (
        not DraftBalance.objects.for_firm(firm_a.firm)
        .filter(line=rent, edited_amount__isnull=False)
        .exists()
    )
    assert (
        draft_section_reset(firm=firm_a.firm, draft=draft, section="operating_expenses", user=user)
        == 1
    )  # Advertising; Rent was already reset
    draft.refresh_from_db()
    assert draft.revision == 6


def test_a_policy_change_is_applied_to_open_drafts(firm_a, org):
    draft = create(firm_a).draft
    assert draft_policy_recheck(firm=firm_a.firm, draft=draft) == 0

    policy(firm_a, class_caps={"EXPENSE": Decimal("1000")})

    assert draft_policy_recheck(firm=firm_a.firm, draft=draft) == 2
    draft.refresh_from_db()
    assert draft.policy_version == 1 and draft.revision == 2


def test_no_closed_month_no_draft(firm_a, org):
    org.profile.period_lock_date = None
    org.profile.save()

    with pytest.raises(DraftError, match="no closed month"):
        create(firm_a)


def test_a_forecast_run_reports_progress_and_runs_once(firm_a, org):
    user = firm_a.member(Role.PREPARER).user
    run = forecast_run_start(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        source="manual",
        user=user,
        enqueue=False,
    )
    # A second start while the first is queued gives the same run.
    assert (
        forecast_run_start(
            firm=firm_a.firm, organisation=firm_a.organisation, source="manual", enqueue=False
        ).pk
        == run.pk
    )

    done = forecast_run_execute(firm=firm_a.firm, run_id=run.pk)
    again = forecast_run_execute(firm=firm_a.firm, run_id=run.pk)

    assert done.state == ForecastRun.State.SUCCEEDED and done.progress == 100
    assert done.draft.created_by == user
    assert done.summary["suggested"] == 3
    assert again.finished_at == done.finished_at
    assert Draft.objects.for_firm(firm_a.firm).count() == 1


def test_a_failed_run_says_why(firm_a, org):
    org.profile.period_lock_date = None
    org.profile.save()
    run = forecast_run_start(
        firm=firm_a.firm, organisation=firm_a.organisation, source="manual", enqueue=False
    )

    run = forecast_run_execute(firm=firm_a.firm, run_id=run.pk)

    assert run.state == ForecastRun.State.FAILED and "no closed month" in run.error


def test_the_task_takes_ids(firm_a, firm_b, org):
    assert draft_create_rolling_task(firm_a.firm.pk, firm_a.organisation.pk) == "succeeded"
    draft = Draft.objects.for_firm(firm_a.firm).get()
    assert draft.source == Draft.Source.CLOSE and draft.created_by is None
    assert draft.history.first().history_change_reason == (
        "Forecast draft created after the month close"
    )
    # Another firm's organisation id is not found under this firm.
    with pytest.raises(ClientOrganisation.DoesNotExist):
        draft_create_rolling_task(firm_b.firm.pk, firm_a.organisation.pk)


def test_a_tracking_option_without_its_own_budget_is_forecast_but_not_suggested(firm_a, org):
    from budgeting.models import ActualBalance, TrackingOption

    owned = {"firm": firm_a.firm, "organisation": firm_a.organisation}
    south = TrackingOption.objects.create(
        **owned, category=org.option.category, option_id="opt-south", name="South"
    )
    ActualBalance.objects.bulk_create(
        ActualBalance(
            **owned,
            account=org.accounts["200"],
            tracking_option=south,
            period=add_months(OCTOBER, -i),
            amount=Decimal("9000"),
        )
        for i in range(24)
    )

    result = create(firm_a)

    assert ("200", "South") not in lines_of(firm_a, result.draft)
    assert ForecastRecord.objects.for_firm(firm_a.firm).filter(tracking_option=south).count() == 6


def test_after_a_sync_forecasts_are_scored_and_after_a_close_a_draft_is_queued(
    firm_a, org, django_capture_on_commit_callbacks
):
    from budgeting.drafts.services import organisation_forecast_after_sync

    assert (
        organisation_forecast_after_sync(
            firm=firm_a.firm, organisation=firm_a.organisation, closed=False
        )
        is None
    )
    with django_capture_on_commit_callbacks() as callbacks:
        run = organisation_forecast_after_sync(
            firm=firm_a.firm, organisation=firm_a.organisation, closed=True
        )

    assert run.state == ForecastRun.State.QUEUED and run.source == Draft.Source.CLOSE
    assert len(callbacks) == 1
