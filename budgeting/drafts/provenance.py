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


@dataclass(frozen=True)
class Reproduction:
    forecast: Forecast
    inputs_hash: str

    def point(self, index: int) -> Decimal:
        return Decimal(str(self.forecast.point[index])).quantize(Decimal("0.01"))


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
    return Reproduction(forecast=forecast, inputs_hash=digest)
