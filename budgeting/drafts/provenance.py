"""Why a suggested figure is what it is: the record a draft line keeps when it is suggested, and
the figure reproduced from that record alone.

The record holds the inputs themselves, not only their hash: the history's monthly values, the
scored past forecasts that moved the choice of method, the engine's version and options. So
the suggestion can be recomputed, and its inputs hash checked, after Xero's data has changed
(a re-sync, a back-dated journal) or the rows it came from are gone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from budgeting.deals.maths import blend
from budgeting.forecasting import forecast_series
from budgeting.forecasting.engine import Forecast, RealisedAccuracy
from budgeting.variance.maths import Period
from core.months import add_months

LEVELS = (80, 95)
# Bumped when the engine changes what the same inputs give, so the inputs hash says so.
ENGINE_VERSION = "1"
# Bumped when the record's shape changes, so a reader knows which keys to expect.
PROVENANCE_VERSION = 1


def inputs_hash(
    *,
    values: list[Decimal],
    first: Period,
    horizon: int,
    realised: Mapping[str, RealisedAccuracy] | None = None,
) -> str:
    payload: dict[str, Any] = {
        "engine": ENGINE_VERSION,
        "first": first.isoformat(),
        "series": [str(v) for v in values],
        "horizon": horizon,
        "levels": list(LEVELS),
    }
    if realised:
        # The scored past forecasts move the method choice, so they are inputs too. Left out
        # when there are none, so lines never scored keep the hash they always had.
        payload["realised"] = {
            method: [list(found.steps), [f"{e:.2f}" for e in found.abs_errors]]
            for method, found in sorted(realised.items())
        }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def history_record(
    *,
    values: list[Decimal],
    first: Period,
    horizon: int,
    realised: Mapping[str, RealisedAccuracy] | None,
) -> dict[str, Any]:
    """The forecast's inputs as JSON: each month's value (a string, so no cent is lost to a
    float), and each method's scored errors (floats, which JSON keeps exactly)."""
    return {
        "first": first.isoformat(),
        "last": add_months(first, len(values) - 1).isoformat() if values else None,
        "months": len(values),
        "values": [str(v) for v in values],
        "horizon": horizon,
        "levels": list(LEVELS),
        "engine": ENGINE_VERSION,
        "realised": {
            method: {"steps": list(found.steps), "abs_errors": list(found.abs_errors)}
            for method, found in sorted((realised or {}).items())
        },
    }


def sales_pipeline_record(*, upload, weight, months) -> dict[str, Any]:
    """A revenue line's blend with the client's sales pipeline (budgeting.deals): the version,
    the weight and how its backtest chose it, and each month's statistical figure, weighted
    pipeline (None: no deal that month) and blended suggestion. `months` holds (period,
    statistical, suggested, the pipeline's MonthFigures or None)."""
    return {
        "upload_id": upload.pk,
        "version": upload.version,
        "as_of": upload.as_of.isoformat(),
        "weight": str(weight.weight),
        "tested": weight.tested,
        "backtest_months": weight.months,
        "explanation": weight.explanation,
        "months": [
            {
                "period": period.isoformat(),
                "statistical": str(statistical),
                "pipeline": None
                if figures is None or figures.pipeline is None
                else str(figures.pipeline),
                "suggested": str(suggested),
            }
            for period, statistical, suggested, figures in months
        ],
    }


@dataclass(frozen=True)
class Reproduction:
    forecast: Forecast
    inputs_hash: str
    # A revenue line blended with a sales pipeline: each month's pipeline (None: no deal) and
    # the weight, from the record's "sales_pipeline".
    pipeline: tuple[Decimal | None, ...] = ()
    weight: Decimal = Decimal(0)

    def point(self, index: int) -> Decimal:
        point = Decimal(str(self.forecast.point[index])).quantize(Decimal("0.01"))
        if index < len(self.pipeline) and self.pipeline[index] is not None:
            return blend(statistical=point, pipeline=self.pipeline[index], weight=self.weight)
        return point


def figure_reproduce(provenance: Mapping[str, Any]) -> Reproduction:
    """The forecast the record's inputs give today, and their hash: the same as the line's
    `inputs_hash` and suggestions while the engine version is the record's."""
    history = provenance["history"]
    values = [Decimal(v) for v in history["values"]]
    realised = {
        method: RealisedAccuracy.of(zip(found["steps"], found["abs_errors"], strict=True))
        for method, found in history["realised"].items()
    }
    forecast = forecast_series(
        [float(v) for v in values],
        horizon=history["horizon"],
        levels=tuple(history["levels"]),
        realised=realised or None,
    )
    digest = inputs_hash(
        values=values,
        first=Period.fromisoformat(history["first"]),
        horizon=history["horizon"],
        realised=realised,
    )
    pipeline = provenance.get("sales_pipeline")
    if not pipeline:
        return Reproduction(forecast=forecast, inputs_hash=digest)
    return Reproduction(
        forecast=forecast,
        inputs_hash=digest,
        pipeline=tuple(
            None if m["pipeline"] is None else Decimal(m["pipeline"]) for m in pipeline["months"]
        ),
        weight=Decimal(pipeline["weight"]),
    )
