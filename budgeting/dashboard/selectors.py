"""The firm dashboard's rows: the ledger's sync state of each organisation plus its variance."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from budgeting.ledger.selectors import OrganisationSyncStatus, organisation_sync_status_list
from budgeting.variance.models import VarianceSummary
from budgeting.variance.selectors import variance_summaries_latest
from tenants.models import ClientOrganisation, Firm


@dataclass
class DashboardRow(OrganisationSyncStatus):
    """One client organisation's row on the firm dashboard."""

    # The latest month the variance refresh summarised (net profit, material count).
    variance: VarianceSummary | None = None


def dashboard_row_list(
    *,
    firm: Firm,
    name: str = "",
    state: str = "",
    organisation_ids: list[int] | None = None,
) -> list[DashboardRow]:
    """The dashboard's rows in three queries whatever the number of organisations."""
    statuses = organisation_sync_status_list(
        firm=firm, name=name, state=state, organisation_ids=organisation_ids
    )
    summaries = variance_summaries_latest(
        firm=firm, organisation_ids=[s.organisation.pk for s in statuses]
    )
    return [
        DashboardRow(
            **{f.name: getattr(status, f.name) for f in dataclasses.fields(status)},
            variance=summaries.get(status.organisation.pk),
        )
        for status in statuses
    ]


def dashboard_row_get(*, firm: Firm, organisation: ClientOrganisation) -> DashboardRow:
    return dashboard_row_list(firm=firm, organisation_ids=[organisation.pk])[0]
