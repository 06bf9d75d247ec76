"""Syncing the sandbox's organisations into the product's models."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.models import (
    Account,
    ActualBalance,
    Budget,
    BudgetBalance,
    Reconciliation,
    SyncRun,
)
from core import clock
from core.months import add_months, month_start, months_between
from integrations.xero.sandbox.behaviour import Behaviour
from tests.integrations.xero.expectations import (
    budget_horizon,
    fewest_balance_sheet_calls,
    fewest_report_calls,
)
from tests.sandbox import ORGANISATIONS, SANDBOX_ADMIN, rows, sandbox_http, sync


def _by_month(actuals: dict[str, dict[str, Decimal]]) -> dict:
    """The generator's {AccountID: {"YYYY-MM": amount}} as {(AccountID, period): amount}."""
    return {
        (account_id, dt.date(int(key[:4]), int(key[5:7]), 1)): amount
        for account_id, months in actuals.items()
        for key, amount in months.items()
    }


@pytest.mark.parametrize("name", ORGANISATIONS)
def test_each_organisation_syncs_and_reconciles_to_the_cent(
    connected_firm, name, shared_organisations
):
    run = sync(connected_firm, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.reconciled is True
    checks = Reconciliation.objects.for_firm(connected_firm.firm).filter(
        sync_run=run, kind=Reconciliation.Kind.ACTUALS
    )
    months = {c.period for c in checks if c.tracking_option_id is None}
    assert len(months) == 37  # 36 closed months and the open one
    assert all(c.difference == 0 for c in checks)

    # And independently of the report: every account-month equals the sum of Xero's documents.
    from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_month

    sandbox_org = next(o for o in shared_organisations if o.name == name)
    expected = {
        key: amount
        for key, amount in _by_month(
            profit_and_loss_by_month(sandbox_org.accounts, sandbox_org.documents)
        ).items()
        if amount and min(months) <= key[1] <= max(months)
    }
    organisation = connected_firm.linked[name]
    synced = {
        (a.account.account_id, a.period): a.amount
        for a in ActualBalance.objects.for_firm(connected_firm.firm)
        .filter(organisation=organisation, tracking_option__isnull=True)
        .select_related("account")
    }
    assert synced == expected


def test_a_second_sync_changes_nothing(connected_firm):
    first = sync(connected_firm, "Tidepool Software")
    organisation = connected_firm.linked["Tidepool Software"]
    before = rows(connected_firm.firm, organisation)
    history_before = BudgetBalance.history.count()
    second = sync(connected_firm, "Tidepool Software", kind=SyncRun.Kind.FULL)
    assert first.state == second.state == SyncRun.State.SUCCEEDED
    assert rows(connected_firm.firm, organisation) == before
    assert BudgetBalance.history.count() == history_before  # compared by content: no new rows


def test_tracking_budgets_and_actuals_of_the_group(connected_firm):
    run = sync(connected_firm, "Kestrel Pacific Group")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Kestrel Pacific Group"]
    firm = connected_firm.firm
    assert Account.objects.for_firm(firm).filter(organisation=organisation).count() > 250
    tracking_budgets = Budget.objects.for_firm(firm).filter(
        organisation=organisation, type="TRACKING"
    )
    assert tracking_budgets.exists()
    assert all(b.tracking_option_id for b in tracking_budgets)
    # Per option, the synced actuals also reconcile with the report's per-option totals.
    per_option = Reconciliation.objects.for_firm(firm).filter(
        sync_run=run, kind=Reconciliation.Kind.ACTUALS, tracking_option__isnull=False
    )
    assert per_option.exists() and all(c.difference == 0 for c in per_option)
    gaps = Reconciliation.objects.for_firm(firm).filter(
        sync_run=run, kind=Reconciliation.Kind.TRACKING_BUDGETS
    )
    assert gaps.exists()


def test_calls_of_the_largest_organisation_are_the_minimum_the_api_allows(
    connected_firm, shared_organisations, sandbox_today, settings
):
    import math

    group = next(o for o in shared_organisations if o.key == "group")
    scopes = 1 + sum(1 for c in group.tracking_categories if c.options)
    # The organisation's own month (Sydney's), which the sync reads up to: late evening UTC it
    # is already the next day there, and on the last day of a month the next month.
    current = month_start(clock.today(group.timezone))

    def month_list(first: dt.date) -> list[dt.date]:
        out, m = [], first
        while m <= current:
            out.append(m)
            m = dt.date(m.year + m.month // 12, m.month % 12 + 1, 1)
        return out

    def pages(since: dt.datetime) -> int:
        total = 0
        for endpoint in ("Invoices", "CreditNotes", "BankTransactions"):
            n = sum(1 for d in group.documents if d.endpoint == endpoint and d.updated_utc >= since)
            total += max(1, math.ceil(n / 1000))
        # ManualJournals, paged the same way (Xero's own currency entries are not listed).
        n = sum(1 for j in group.manual_journals if not j.system and j.updated_utc >= since)
        return total + max(1, math.ceil(n / 1000))

    reference = 4  # Organisation, Accounts, TrackingCategories, Budgets
    # One GET Budgets/{id} per budget for every 24 months of the horizon (Xero's documented most
    # per request): the horizon is 24 months, or 36 when the last closed month ends a year.
    _first, horizon = budget_horizon(current, group.financial_year_end_month)
    assert horizon in (24, 36)
    budgets = len(group.budgets) * math.ceil(horizon / 24)
    index = current.year * 12 + current.month - 1 - settings.XERO_ACTUALS_MONTHS
    first_actual = dt.date(index // 12, index % 12 + 1, 1)
    retention = current.year * 12 + current.month - 1 - settings.XERO_TRANSACTION_MONTHS
    since = dt.datetime(retention // 12, retention % 12 + 1, 1)
    initial_minimum = (
        reference
        + budgets
        + scopes * fewest_report_calls(month_list(first_actual))
        + fewest_balance_sheet_calls(month_list(first_actual))
        + pages(since)
    )
    run = sync(connected_firm, "Kestrel Pacific Group")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.calls_planned == initial_minimum
    assert run.calls_used == initial_minimum, (run.calls_used, initial_minimum)

    # Incremental: budgets read again over the same horizon, actuals only for the months after
    # the lock date, transactions only what changed (nothing: 1 page each of the four lists,
    # manual journals included).
    lock = group.period_lock_date
    open_first = dt.date(lock.year + lock.month // 12, lock.month % 12 + 1, 1)
    incremental_minimum = (
        reference
        + budgets
        + scopes * fewest_report_calls(month_list(open_first))
        + fewest_balance_sheet_calls(month_list(open_first))
        + 4
    )
    run = sync(connected_firm, "Kestrel Pacific Group")
    assert run.kind == SyncRun.Kind.INCREMENTAL
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.calls_used == run.calls_planned == incremental_minimum
    assert run.reconciled


@pytest.mark.mutable_sandbox
@pytest.mark.parametrize("window", ["as_asked", "whole", "capped"])
def test_a_budget_added_in_budget_manager_is_read_over_the_whole_horizon_incrementally(
    connected_firm, xero_sandbox, window
):
    """The forecast budget a person adds in Xero's Budget Manager is empty until a file is
    imported into it: the incremental syncs after it are read over the whole horizon, not
    over months already stored for it (none), whatever window Xero answers."""
    xero_sandbox.behaviour = Behaviour(budget_window=window)
    cafe = "Harbour Lane Café"
    organisation = connected_firm.linked[cafe]
    assert sync(connected_firm, cafe).state == SyncRun.State.SUCCEEDED
    with sandbox_http(xero_sandbox) as http:
        added = http.post(
            "/_sandbox/organisations/cafe/budgets",
            json={"name": "Rolling Forecast"},
            headers=SANDBOX_ADMIN,
        )
    assert added.status_code == 200, added.text
    budget_id = added.json()["budgetId"]

    empty = sync(connected_firm, cafe)
    assert empty.kind == SyncRun.Kind.INCREMENTAL
    assert empty.state == SyncRun.State.SUCCEEDED, empty.error
    budget = Budget.objects.for_firm(connected_firm.firm).get(
        organisation=organisation, budget_id=budget_id
    )
    cells = BudgetBalance.objects.for_firm(connected_firm.firm).filter(budget_line__budget=budget)
    assert not cells.exists()

    # A file for every month of the horizon, each month its own figure.
    profile = xero_sandbox.state.organisation("cafe")
    first, horizon = budget_horizon(
        month_start(clock.today(profile.timezone)), profile.financial_year_end_month
    )
    months = months_between(first, add_months(first, horizon - 1))
    rent = next(a for a in profile.accounts if a.code == "469")
    content = "Account," + ",".join(f"{m:%b-%Y}" for m in months) + "\n"
    content += f"{rent.name} (469)," + ",".join(str(1000 + i) for i in range(len(months))) + "\n"
    with sandbox_http(xero_sandbox) as http:
        imported = http.post(
            f"/_sandbox/organisations/cafe/budgets/{budget_id}/import",
            content=content.encode(),
            headers={**SANDBOX_ADMIN, "Content-Type": "text/csv"},
        )
    assert imported.status_code == 200, imported.text

    filled = sync(connected_firm, cafe)
    assert filled.kind == SyncRun.Kind.INCREMENTAL
    assert filled.state == SyncRun.State.SUCCEEDED, filled.error
    assert dict(cells.values_list("period", "amount")) == {
        m: Decimal(1000 + i) for i, m in enumerate(months)
    }
    assert filled.calls_used <= 1.1 * filled.calls_planned
