"""The sales pipeline's maths: expected revenue by month, stage defaults, the blend and the
weight chosen by backtest."""

import datetime as dt
from decimal import Decimal

from budgeting.deals.maths import (
    DEFAULT_WEIGHT,
    BacktestPoint,
    WeightedDeal,
    blend,
    pipeline_by_month,
    stage_probability,
    weight_choose,
)

DEC, JAN = dt.date(2026, 12, 1), dt.date(2027, 1, 1)


def test_expected_revenue_by_month_is_amount_times_probability_summed_per_close_month():
    deals = [
        WeightedDeal(Decimal("10000.00"), Decimal(50), DEC),
        WeightedDeal(Decimal("3333.33"), Decimal("33.3"), DEC),
        WeightedDeal(Decimal("8000.00"), Decimal(75), JAN),
        WeightedDeal(Decimal("9999.00"), Decimal(0), JAN),
    ]
    assert pipeline_by_month(deals) == {
        DEC: Decimal("5000.00") + Decimal("1110.00"),
        JAN: Decimal("6000.00"),
    }


def test_a_stage_gives_its_default_probability_however_it_is_written():
    assert stage_probability("Closed-Won") == Decimal(100)
    assert stage_probability("  negotiation ") == Decimal(75)
    assert stage_probability("closed_lost") == Decimal(0)
    assert stage_probability("Proposal") == Decimal(50)
    assert stage_probability("Maybe next year") is None


def test_the_blend_weighs_the_pipeline_and_keeps_the_statistical_figure_without_deals():
    weight = Decimal("0.25")
    assert blend(statistical=Decimal(1000), pipeline=Decimal(2000), weight=weight) == Decimal(
        "1250.00"
    )
    assert blend(statistical=Decimal(1000), pipeline=None, weight=weight) == Decimal("1000.00")


def _points(pairs):
    return [
        BacktestPoint(dt.date(2025, m, 1), Decimal(a), Decimal(s), Decimal(p))
        for m, (a, s, p) in enumerate(pairs, start=1)
    ]


def test_a_pipeline_that_was_right_gets_the_whole_weight():
    chosen = weight_choose(_points([(1200, 1000, 1200), (900, 1000, 900), (1500, 1000, 1500)]))
    assert chosen.tested and chosen.weight == Decimal("1.00")
    assert chosen.error_blended == Decimal("0.00")
    assert chosen.error_statistical == Decimal("266.67")


def test_a_pipeline_that_was_wrong_gets_no_weight():
    chosen = weight_choose(_points([(1000, 1000, 3000), (1000, 1000, 0), (1000, 1000, 5000)]))
    assert chosen.weight == Decimal("0.00")
    assert chosen.error_pipeline == Decimal("2333.33")


def test_the_weight_between_minimises_the_mean_absolute_error():
    # The actual is always 40% of the way from the statistical figure to the pipeline.
    chosen = weight_choose(_points([(1400, 1000, 2000), (2200, 2000, 2500), (560, 400, 800)]))
    assert chosen.weight == Decimal("0.40")
    assert chosen.error_blended == Decimal("0.00")
    assert "3 closed months" in chosen.explanation


def test_too_few_past_months_keep_the_default_weight_said_as_untested():
    chosen = weight_choose(_points([(1400, 1000, 2000), (2200, 2000, 2500)]))
    assert not chosen.tested and chosen.weight == DEFAULT_WEIGHT
    assert "untested" in chosen.explanation
