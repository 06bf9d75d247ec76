"""Accuracy feedback: kept forecasts are scored when their month closes, and the organisation's
and each line's accuracy is there to show beside new suggestions."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.drafts.selectors import Accuracy, forecast_accuracy
from budgeting.drafts.services import (
    draft_create_rolling,
    forecast_realised_load,
    forecast_records_score,
)
from budgeting.models import (
    ActualBalance,
    BudgetBalance,
    DraftBalance,
    DraftLine,
    ForecastRecord,
    XeroOrganisation,
)
from core.months import add_months
from tests.budgeting.draft_data import NOVEMBER, draft_organisation_create


@pytest.fixture
def org(firm_a):
    return draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)


def close_november(cast, org, actuals: dict[str, str]) -> None:
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    ActualBalance.objects.bulk_create(
        ActualBalance(**owned, account=org.accounts[code], period=NOVEMBER, amount=Decimal(amount))
        for code, amount in actuals.items()
    )
    org.profile.period_lock_date = dt.date(2026, 11, 30)
    org.profile.save()


def test_scoring_fills_actuals_errors_and_interval_hits(firm_a, org):
    draft = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft
    rent = ForecastRecord.objects.for_firm(firm_a.firm).get(
        account=org.accounts["469"], tracking_option=None, target=NOVEMBER
    )
    # Rent as forecast; Sales far outside any interval; Advertising, interest and North quiet.
    close_november(firm_a, org, {"469": str(rent.point), "200": "90000"})

    result = forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation)

    assert result.scored == 5  # one November forecast per line
    rent.refresh_from_db()
    assert rent.actual == rent.point and rent.abs_error == Decimal("0.00")
    assert rent.within_80 and rent.within_95 and rent.scored_at is not None
    sales = ForecastRecord.objects.for_firm(firm_a.firm).get(
        account=org.accounts["200"], tracking_option=None, target=NOVEMBER
    )
    assert sales.actual == Decimal("90000.00")
    assert sales.abs_error == abs(Decimal("90000.00") - sales.point)
    assert sales.within_80 is False and sales.within_95 is False
    # A closed month with no row was quiet: scored against zero.
    north = ForecastRecord.objects.for_firm(firm_a.firm).get(
        tracking_option=org.option, target=NOVEMBER
    )
    assert north.actual == Decimal("0.00") and north.within_95 is False
    # Later months are still waiting.
    assert ForecastRecord.objects.for_firm(firm_a.firm).filter(actual__isnull=True).count() == 25
    # The draft's November now shows its actual, without a new revision.
    november = DraftBalance.objects.for_firm(firm_a.firm).get(
        line__draft=draft, line__account=org.accounts["469"], period=NOVEMBER
    )
    assert november.actual == rent.point
    draft.refresh_from_db()
    assert draft.revision == 1


def test_scoring_twice_changes_nothing(firm_a, org):
    draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation)
    close_november(firm_a, org, {"469": "6000"})
    assert forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation).scored == 5

    assert forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation).scored == 0


def test_nothing_is_scored_before_the_month_closes(firm_a, org):
    draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation)

    assert forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation).scored == 0


def test_accuracy_per_organisation_and_per_line(firm_a, org):
    draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation)
    rent = ForecastRecord.objects.for_firm(firm_a.firm).get(
        account=org.accounts["469"], tracking_option=None, target=NOVEMBER
    )
    close_november(firm_a, org, {"469": str(rent.point), "200": "90000"})
    forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation)

    accuracy = forecast_accuracy(firm=firm_a.firm, organisation=firm_a.organisation)

    assert accuracy.overall.scored == 5 and accuracy.pending == 25
    assert accuracy.overall.within_80_percent == Decimal("20.0")  # only Rent
    assert set(accuracy.by_step) == {1}
    line = accuracy.for_line(org.accounts["469"].pk, None)
    assert line.scored == 1 and line.error_percent == Decimal("0.0")
    assert line.within_80_percent == Decimal("100.0")
    assert accuracy.for_line(org.accounts["469"].pk, org.option.pk) is None


def test_accuracy_is_the_weighted_error_and_the_share_inside_each_interval():
    accuracy = Accuracy.of(
        [
            (Decimal("100"), Decimal("10"), True, True),
            (Decimal("-300"), Decimal("30"), False, True),
            (Decimal("0"), Decimal("0"), True, True),
            (Decimal("600"), Decimal("200"), False, False),
        ]
    )
    # 240 of error on 1,000 of actuals: 24%, finite despite the quiet month.
    assert accuracy.error_percent == Decimal("24.0")
    assert accuracy.within_80_percent == Decimal("50.0")
    assert accuracy.within_95_percent == Decimal("75.0")
    assert accuracy.mean_abs_error == Decimal("60.00")
    assert Accuracy.of([]).scored == 0 and Accuracy.of([]).error_percent is None


@pytest.mark.slow
def test_a_synced_sandbox_organisation_gets_a_draft_and_keeps_its_budget(connected_firm):
    from tests.sandbox import sync

    name = "Tidepool Software"
    assert sync(connected_firm, name).state == "succeeded"
    firm, organisation = connected_firm.firm, connected_firm.linked[name]
    before = sorted(
        BudgetBalance.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list(
            "budget_line__budget__budget_id", "budget_line__account_id", "period", "amount"
        )
    )

    result = draft_create_rolling(firm=firm, organisation=organisation)

    after = sorted(
        BudgetBalance.objects.for_firm(firm)
        .filter(organisation=organisation)
        .values_list(
            "budget_line__budget__budget_id", "budget_line__account_id", "period", "amount"
        )
    )
    assert after == before
    profile = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)
    assert result.analysed, "a synced organisation has lines to forecast"
    assert result.last_closed <= profile.period_lock_date
    assert ForecastRecord.objects.for_firm(firm).filter(organisation=organisation).exists()
    assert result.draft is not None, "a synced organisation with material variances gets a draft"
    balances = DraftBalance.objects.for_firm(firm).filter(line__draft=result.draft)
    assert balances.exists()
    for balance in balances:
        assert balance.lo_95 <= balance.lo_80 <= balance.suggested_amount <= balance.hi_80
        assert balance.hi_80 <= balance.hi_95


def rent_line(cast, draft, org) -> DraftLine:
    return DraftLine.objects.for_firm(cast.firm).get(
        draft=draft, account=org.accounts["469"], tracking_option=None
    )


def keep_missed_rent_forecasts(cast, org, method: str) -> None:
    """Six forecasts of Rent by `method`, made one and two months ahead from June to September
    and each 1,500 above what came: kept unscored, as a rolling draft would have kept them."""
    owned = {"firm": cast.firm, "organisation": cast.organisation}
    actual = dict(
        ActualBalance.objects.for_firm(cast.firm)
        .filter(account=org.accounts["469"], tracking_option=None)
        .values_list("period", "amount")
    )
    records = []
    for made_at in (dt.date(2026, 6, 1), dt.date(2026, 7, 1), dt.date(2026, 8, 1)):
        for step in (1, 2):
            target = add_months(made_at, step)
            point = actual[target] + Decimal("1500.00")
            records.append(
                ForecastRecord(
                    **owned,
                    account=org.accounts["469"],
                    made_at=made_at,
                    target=target,
                    step=step,
                    point=point,
                    lo_80=point - 100,
                    hi_80=point + 100,
                    lo_95=point - 200,
                    hi_95=point + 200,
                    method=method,
                    inputs_hash="0" * 64,
                )
            )
    ForecastRecord.objects.bulk_create(records)


def test_scored_misses_of_a_method_move_the_next_draft_away_from_it(firm_a, org):
    first = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft
    usual = rent_line(firm_a, first, org)
    keep_missed_rent_forecasts(firm_a, org, usual.method)
    assert forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation).scored == 6

    second = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft

    rent = rent_line(firm_a, second, org)
    assert rent.method != usual.method
    assert "method chosen with the realised accuracy of 6 past forecast(s)" in rent.forecast_notes
    assert rent.inputs_hash != usual.inputs_hash
    # The other lines had nothing scored: forecast exactly as before.
    sales = DraftLine.objects.for_firm(firm_a.firm).filter(tracking_option=org.option)
    assert len({(line.method, line.inputs_hash, line.forecast_total) for line in sales}) == 1


def test_too_few_scored_forecasts_leave_the_choice_alone(firm_a, org):
    first = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft
    usual = rent_line(firm_a, first, org)
    keep_missed_rent_forecasts(firm_a, org, usual.method)
    ForecastRecord.objects.for_firm(firm_a.firm).filter(made_at__gt=dt.date(2026, 6, 1)).delete()
    assert forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation).scored == 2

    second = draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation).draft

    rent = rent_line(firm_a, second, org)
    assert (rent.method, rent.forecast_total) == (usual.method, usual.forecast_total)
    assert not any("realised" in note for note in rent.forecast_notes)


def test_realised_accuracy_is_loaded_in_one_query_for_the_whole_organisation(
    firm_a, org, django_assert_num_queries
):
    draft_create_rolling(firm=firm_a.firm, organisation=firm_a.organisation)
    keep_missed_rent_forecasts(firm_a, org, "theta")
    forecast_records_score(firm=firm_a.firm, organisation=firm_a.organisation)

    with django_assert_num_queries(1):
        realised = forecast_realised_load(firm=firm_a.firm, organisation=firm_a.organisation)

    assert set(realised) == {(org.accounts["469"].pk, None)}
    theta = realised[(org.accounts["469"].pk, None)]["theta"]
    assert theta.count == 6 and theta.steps == (1, 1, 1, 2, 2, 2)
    assert theta.abs_errors == (1500.0,) * 6
