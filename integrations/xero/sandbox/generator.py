"""Deterministic, realistic Xero organisations for the sandbox, built from a seed.

The five named organisations each carry planted drivers (a campaign, a lost customer, a price
rise, a final account, capital expenditure) so the product's variance explanations have real
causes to find; ORGANISATIONS.md describes them. Same seed and `today`, same organisations.
"""

from __future__ import annotations

import datetime as dt

from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.orgs import cafe, construction, group, importer, saas, small

NAMED_ORGANISATIONS = (cafe, saas, construction, importer, group)


def generate_organisations(*, seed: int = 7, today: dt.date) -> list[SandboxOrganisation]:
    """The café, SaaS, construction, importer and group organisations, in that order, with
    history up to `today` (the caller's clock: the sandbox's, or a test's pinned date)."""
    return [module.build(seed=seed, today=today) for module in NAMED_ORGANISATIONS]


def generate_small_organisations(
    *, count: int, seed: int, today: dt.date
) -> list[SandboxOrganisation]:
    """`count` small organisations (keys small-001, small-002, ...) for performance work."""
    return small.build_many(count=count, seed=seed, today=today)
