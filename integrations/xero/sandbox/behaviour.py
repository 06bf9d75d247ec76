"""Switches for what Xero's documentation leaves open, so tests can run under each reading.

Each field is one [unverified] point of shared/docs/xero-api-facts.md (§2.1, §10) or issue #22.
The defaults are what the sandbox has always done, so a test that does not ask gets the old
behaviour. Set them with `create_app(behaviour=Behaviour(...))`, `app.behaviour = ...`,
`POST /_sandbox/behaviour` or `serve --behaviour key=value`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Field name -> the values it accepts (a bool field accepts True/False).
CHOICES: dict[str, tuple[Any, ...]] = {
    # `periods` together with `trackingCategoryID` on Reports/ProfitAndLoss:
    #   combined: one column per option per period (then Unassigned and Total per period);
    #   ignored:  periods/timeframe are dropped, one column per option for fromDate..toDate;
    #   rejected: a 400 ValidationException when both are sent.
    "pl_periods_with_tracking": ("combined", "ignored", "rejected"),
    # Order of the P&L's period columns. Xero's BalanceSheet example is newest first.
    "pl_column_order": ("newest_first", "oldest_first"),
    # P&L header date labels: "31 Mar 26" (docs example), "31 Mar 2026" or "Mar 2026". With a
    # tracking category the option name is the header ("North"), followed by the date label
    # when there is more than one period ("North 31 Mar 26").
    "pl_header_labels": ("short", "long", "month"),
    # zero: every active option gets a column, zeros included; omitted: an option with no
    # amount anywhere in the report's range gets no column (in any period).
    "pl_missing_options": ("zero", "omitted"),
    # An "Unassigned" column (amounts with no option of the category) after the options.
    "pl_unassigned_column": (True, False),
    # GET Budgets/{id}: as_asked honours DateFrom/DateTo (3-month default, at most 24 months);
    # whole returns every period of the budget whatever is asked; capped honours DateFrom but
    # returns at most BUDGET_CAP_MONTHS months from it, silently.
    "budget_window": ("as_asked", "whole", "capped"),
}

# Budget Manager's usual view is a 12-month year; a server that pages budgets would plausibly
# stop there.
BUDGET_CAP_MONTHS = 12


@dataclass(frozen=True)
class Behaviour:
    pl_periods_with_tracking: str = "combined"
    pl_column_order: str = "newest_first"
    pl_header_labels: str = "short"
    pl_missing_options: str = "zero"
    pl_unassigned_column: bool = True
    budget_window: str = "as_asked"

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            # True == 1 in Python: compare types as well so 1 is not taken for True.
            if not any(type(value) is type(a) and value == a for a in allowed):
                raise ValueError(
                    f"{name} must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}"
                )

    def replace(self, **changes: Any) -> Behaviour:
        return dataclasses.replace(self, **changes)

    def as_json(self) -> dict[str, Any]:
        return {_camel(name): getattr(self, name) for name in CHOICES}

    def updated_from_json(self, body: Any) -> Behaviour:
        """A copy with the camelCase keys of `body` applied; ValueError for anything unknown."""
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object of behaviour switches")
        names = {_camel(name): name for name in CHOICES}
        unknown = sorted(set(body) - set(names))
        if unknown:
            raise ValueError(f"unknown behaviour switch(es): {', '.join(unknown)}")
        return self.replace(**{names[key]: value for key, value in body.items()})

    def updated_from_pairs(self, pairs: list[str]) -> Behaviour:
        """A copy with `key=value` strings applied (snake_case or camelCase keys), for the CLI."""
        names = {name: name for name in CHOICES} | {_camel(name): name for name in CHOICES}
        changes: dict[str, Any] = {}
        for pair in pairs:
            key, separator, raw = pair.partition("=")
            if not separator or key.strip() not in names:
                raise ValueError(f"expected key=value with a known key, not {pair!r}")
            name = names[key.strip()]
            value: Any = raw.strip()
            if isinstance(CHOICES[name][0], bool):
                if value.lower() not in ("true", "false"):
                    raise ValueError(f"{name} must be true or false, not {raw!r}")
                value = value.lower() == "true"
            changes[name] = value
        return self.replace(**changes)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
