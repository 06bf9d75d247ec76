"""Budget Manager's "Add budget", as a Xero user does it (the API cannot create a budget).

In Xero a person adds a budget under Reports → Budget Manager → Add budget, with a name and the
tracking it is for; the Overall Budget is the only OVERALL one, so an added budget is listed by
the API as TRACKING, with the tracking it was given (none for a budget of the whole business).
It starts empty: figures reach it only through an import into that budget
(help.xero.com/us/BudgetCreate, xero-api-facts §7).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from integrations.xero.sandbox.model import SandboxBudget, SandboxOrganisation


class BudgetAddError(ValueError):
    pass


def budget_add(
    org: SandboxOrganisation, *, name: str, tracking: list[dict[str, Any]], now: dt.datetime
) -> SandboxBudget:
    """Add an empty budget named `name` for `tracking` ([{"category", "option"}], by name or
    id, at most two); the same name with the same tracking twice is refused."""
    name = (name or "").strip()
    if not name:
        raise BudgetAddError("a budget needs a name")
    if len(name) > 255:
        raise BudgetAddError("a budget's name is at most 255 characters")
    if len(tracking) > 2:
        raise BudgetAddError("a budget is for at most two tracking categories")
    pairs = []
    for item in tracking:
        category = next(
            (c for c in org.tracking_categories if item.get("category") in (c.name, c.category_id)),
            None,
        )
        option = (
            next((o for o in category.options if item.get("option") in (o.name, o.option_id)), None)
            if category
            else None
        )
        if category is None or option is None:
            raise BudgetAddError(f"unknown tracking {item}")
        pairs.append((category.category_id, option.option_id))
    for budget in org.budgets:
        if budget.description.casefold() == name.casefold() and budget.tracking == pairs:
            raise BudgetAddError(f"a budget named {name!r} with that tracking already exists")
    budget = SandboxBudget(
        budget_id=str(uuid.uuid4()),
        type="TRACKING",
        description=name,
        lines={},
        tracking=pairs,
        updated_utc=now.replace(tzinfo=None),
    )
    org.budgets.append(budget)
    return budget
