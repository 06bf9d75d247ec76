"""A client's sales pipeline as revenue: pure functions, numbers in and numbers out.

A deal's expected revenue is its amount times its probability, in its expected close month.
The weighted pipeline of a revenue account for a month is the sum over its deals. It is blended
with the statistical forecast as `weight * pipeline + (1 - weight) * statistical`, in the months
the pipeline has a deal for (a month with none keeps the statistical figure: a pipeline holds
new business only, so its empty months say nothing). The weight is chosen by backtest on the
client's past pipelines: for every past upload, each month it expected revenue in that has
closed since gives a point (the actual, the statistical forecast made from the history before
the upload, the upload's weighted pipeline); the weight in [0, 1], in steps of 0.05, with the
smallest mean absolute error over those points wins, the lower weight on a tie.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.money import money
from core.months import Period

# The probability a stage stands for when a row gives a stage and no probability: the usual
# steps of a CRM's sales process (HubSpot's and Salesforce's default pipelines are close to
# these). A row's own probability always wins.
STAGE_PROBABILITIES: dict[str, Decimal] = {
    "lead": Decimal(10),
    "prospect": Decimal(10),
    "qualified": Decimal(20),
    "appointment scheduled": Decimal(20),
    "discovery": Decimal(20),
    "needs analysis": Decimal(30),
    "proposal": Decimal(50),
    "quote": Decimal(50),
    "presentation": Decimal(50),
    "negotiation": Decimal(75),
    "contract sent": Decimal(80),
    "commit": Decimal(90),
    "verbal": Decimal(90),
    "won": Decimal(100),
    "closed won": Decimal(100),
    "lost": Decimal(0),
    "closed lost": Decimal(0),
}
WEIGHT_STEPS = 20  # weights 0, 0.05, ..., 1
MIN_BACKTEST_MONTHS = 3
# Used while a client has no past pipeline whose months have closed: halfway, said as untested.
DEFAULT_WEIGHT = Decimal("0.50")
HUNDRED = Decimal(100)


def stage_key(stage: str) -> str:
    """'Closed-Won', 'closed_won' and ' Closed  won ' are one stage."""
    return re.sub(r"[\s_-]+", " ", stage.strip().lower())


def stage_probability(stage: str) -> Decimal | None:
    """The default probability (percent) of a stage, None for a stage we do not know."""
    return STAGE_PROBABILITIES.get(stage_key(stage))


@dataclass(frozen=True)
class WeightedDeal:
    amount: Decimal
    probability: Decimal  # percent, 0-100
    close_month: Period

    @property
    def expected(self) -> Decimal:
        return money(self.amount * self.probability / HUNDRED)


def pipeline_by_month(deals: Iterable[WeightedDeal]) -> dict[Period, Decimal]:
    """Expected revenue per close month, to the cent; months with no deal are absent."""
    months: dict[Period, Decimal] = {}
    for deal in deals:
        months[deal.close_month] = months.get(deal.close_month, Decimal("0.00")) + deal.expected
    return dict(sorted(months.items()))


def blend(*, statistical: Decimal, pipeline: Decimal | None, weight: Decimal) -> Decimal:
    """The blended figure of one month; the statistical one where the pipeline has no deal."""
    if pipeline is None:
        return money(statistical)
    return money(weight * pipeline + (1 - weight) * statistical)


@dataclass(frozen=True)
class BacktestPoint:
    """One past month a past pipeline expected revenue in: what happened, and both forecasts."""

    month: Period
    actual: Decimal
    statistical: Decimal
    pipeline: Decimal


@dataclass(frozen=True)
class WeightChoice:
    weight: Decimal
    tested: bool  # False: too few past months, DEFAULT_WEIGHT
    months: int  # backtest points
    error_blended: Decimal | None  # mean absolute error at the weight
    error_statistical: Decimal | None  # at weight 0
    error_pipeline: Decimal | None  # at weight 1

    @property
    def explanation(self) -> str:
        if not self.tested:
            return (
                f"weight {self.weight} untested: fewer than {MIN_BACKTEST_MONTHS} closed months "
                "that a past pipeline expected revenue in"
            )
        return (
            f"weight {self.weight} chosen on {self.months} closed months of past pipelines "
            f"(mean error {self.error_blended} blended, {self.error_statistical} statistical "
            f"alone, {self.error_pipeline} pipeline alone)"
        )


def _mean_error(points: Sequence[BacktestPoint], weight: Decimal) -> Decimal:
    total = sum(
        (
            abs(p.actual - blend(statistical=p.statistical, pipeline=p.pipeline, weight=weight))
            for p in points
        ),
        Decimal(0),
    )
    return money(total / len(points))


def weight_choose(points: Sequence[BacktestPoint]) -> WeightChoice:
    """The weight in [0, 1] whose blend had the smallest mean absolute error on `points`."""
    if len(points) < MIN_BACKTEST_MONTHS:
        return WeightChoice(DEFAULT_WEIGHT, False, len(points), None, None, None)
    best_weight, best_error = Decimal(0), None
    for step in range(WEIGHT_STEPS + 1):
        weight = (Decimal(step) / WEIGHT_STEPS).quantize(Decimal("0.01"))
        error = _mean_error(points, weight)
        if best_error is None or error < best_error:  # strict: the lower weight on a tie
            best_weight, best_error = weight, error
    return WeightChoice(
        weight=best_weight,
        tested=True,
        months=len(points),
        error_blended=best_error,
        error_statistical=_mean_error(points, Decimal(0)),
        error_pipeline=_mean_error(points, Decimal(1)),
    )
