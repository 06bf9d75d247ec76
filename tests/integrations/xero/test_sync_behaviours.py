"""The sync gets Xero's figures to the cent whichever way Xero answers what its documentation
leaves open (the sandbox's behaviour switches: `periods` with tracking combined, ignored or
refused; columns newest or oldest first; three header date formats; empty options given a
column or left out; an Unassigned column or none; budget windows as asked, whole or capped),
with the calls at the minimum the answers allow."""

import pytest

from budgeting.models import (
    ActualBalance,
    BudgetBalance,
    Reconciliation,
    SyncRun,
    XeroOrganisation,
)
from core import clock
from core.months import add_months, month_end, month_key, month_start, months_between
from integrations.xero.http import use_transport
from integrations.xero.sandbox.behaviour import Behaviour
from tests.alpine import ALPINE, alpine_connected
from tests.integrations.xero.expectations import budget_horizon, expected_calls, xero_ledger
from tests.integrations.xero.transports import Mutating
from tests.sandbox import SANDBOX_ADMIN, minute_in_a_second, sandbox_http, sync

# Every value of every switch, each pair of switches in several combinations: the documented
# defaults first, then the readings that differ most from them.
BEHAVIOURS = [
    pytest.param(Behaviour(), id="defaults"),
    pytest.param(
        Behaviour(
            pl_periods_with_tracking="ignored",
            pl_column_order="oldest_first",
            pl_header_labels="long",
            pl_missing_options="omitted",
            pl_unassigned_column=False,
            budget_window="whole",
        ),
        id="ignored-oldest-long-omitted-nounassigned-whole",
    ),
    pytest.param(
        Behaviour(
            pl_periods_with_tracking="rejected",
            pl_header_labels="month",
            pl_missing_options="omitted",
            budget_window="capped",
        ),
        id="rejected-newest-month-omitted-unassigned-capped",
    ),
    pytest.param(
        Behaviour(
            pl_column_order="oldest_first",
            pl_header_labels="month",
            pl_unassigned_column=False,
            budget_window="capped",
        ),
        id="combined-oldest-month-zero-nounassigned-capped",
    ),
    pytest.param(
        Behaviour(
            pl_periods_with_tracking="rejected",
            pl_column_order="oldest_first",
            pl_header_labels="long",
            pl_unassigned_column=False,
            budget_window="whole",
        ),
        id="rejected-oldest-long-zero-nounassigned-whole",
    ),
    pytest.param(
        Behaviour(pl_periods_with_tracking="ignored", pl_missing_options="omitted"),
        id="ignored-newest-short-omitted-unassigned-asasked",
    ),
]


@pytest.fixture
def named_firm(connected_firm, xero_sandbox, shared_organisations):
    connected_firm.sandbox = xero_sandbox
    connected_firm.organisations = shared_organisations
    return connected_firm


# Alpine under every combination above; the US variant and the group (five options in each
# of two categories, 298 accounts) under the readings that differ most.
CASES = [pytest.param("extra_firm", "alpine", *p.values, id=f"alpine-{p.id}") for p in BEHAVIOURS]
CASES += [
    pytest.param(firm, key, *p.values, id=f"{key}-{p.id}")
    for firm, key in (("extra_firm", "alpine-us"), ("named_firm", "group"))
    for p in BEHAVIOURS
    if p.id in ("defaults", "rejected-newest-month-omitted-unassigned-capped")
]


@pytest.mark.slow
@pytest.mark.parametrize(("firm_fixture", "key", "behaviour"), CASES)
def test_initial_sync_matches_xero_to_the_cent_under_each_reading_of_the_docs(
    request, db, firm_fixture, key, behaviour, settings
):
    firm_cast = request.getfixturevalue(firm_fixture)
    org = next(o for o in firm_cast.organisations if o.key == key)
    xero_sandbox = firm_cast.sandbox
    xero_sandbox.behaviour = behaviour
    minute_in_a_second(xero_sandbox, settings)
    run = sync(firm_cast, org.name)
    firm, organisation = firm_cast.firm, firm_cast.linked[org.name]

    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.failed_scopes == []
    assert run.reconciled is True
    checks = Reconciliation.objects.for_firm(firm).filter(
        sync_run=run, kind=Reconciliation.Kind.ACTUALS
    )
    assert all(c.difference == 0 for c in checks)
    months = sorted({c.period for c in checks if c.tracking_option_id is None})
    assert len(months) == 37
    # Every option of every category is checked in every month: net profit to the cent.
    options = [o for c in org.tracking_categories for o in c.options if o.status == "ACTIVE"]
    per_option = {
        (c.tracking_option.option_id, c.period)
        for c in checks.exclude(tracking_option=None).select_related("tracking_option")
        if c.line == "net_profit"
    }
    assert per_option == {(o.option_id, m) for o in options for m in months}

    # The stored cells are the sandbox's own ledger, overall and per option.
    keys = {month_key(m): m for m in months}
    overall, by_option = xero_ledger(org)
    stored = ActualBalance.objects.for_firm(firm).filter(organisation=organisation)
    assert {
        (a.account.account_id, a.period): a.amount
        for a in stored.filter(tracking_option=None).select_related("account")
    } == {(account, keys[k]): v for (account, k), v in overall.items() if v and k in keys}
    assert {
        (a.tracking_option.option_id, a.account.account_id, a.period): a.amount
        for a in stored.exclude(tracking_option=None).select_related("account", "tracking_option")
    } == {
        (option, account, keys[k]): v
        for (option, account, k), v in by_option.items()
        if v and k in keys
    }

    # Budgets: every month of the horizon, whatever window Xero answers.
    current = month_start(clock.today(org.timezone))
    first, horizon = budget_horizon(current, org.financial_year_end_month)
    in_horizon = {month_key(m): m for m in months_between(first, add_months(first, horizon - 1))}
    synced_budgets = {
        (b.budget_line.budget.budget_id, b.budget_line.account.account_id, b.period): b.amount
        for b in BudgetBalance.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("budget_line__budget", "budget_line__account")
    }
    assert synced_budgets == {
        (b.budget_id, account_id, in_horizon[k]): amount
        for b in org.budgets
        for account_id, by_key in b.lines.items()
        for k, amount in by_key.items()
        if k in in_horizon
    }

    # Calls: the plan is the minimum these answers allow, and the sync stays within 1.1 times.
    minimum = expected_calls(org, behaviour, current, settings.XERO_ACTUALS_MONTHS)
    assert run.calls_planned == minimum
    assert run.calls_planned <= run.calls_used <= 1.1 * run.calls_planned


def test_budgets_that_end_before_the_horizon_are_probed_once_not_once_each(named_firm, settings):
    """A budget answer shorter than asked may be a budget that ends or a Xero that caps: the
    months after it tell which, once; the other budgets are not probed again."""
    group = next(o for o in named_firm.organisations if o.key == "group")
    current = month_start(clock.today(group.timezone))
    first, _horizon = budget_horizon(current, group.financial_year_end_month)
    ends = add_months(first, 11)  # every budget stops after its first year

    def first_year_only(body):
        for line in body["Budgets"][0]["BudgetLines"]:
            line["BudgetBalances"] = [
                b for b in line["BudgetBalances"] if b["Period"][:7] <= month_key(ends)
            ]
        return body

    with use_transport(Mutating(named_firm.sandbox, "Budgets/", first_year_only)):
        run = sync(named_firm, group.name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    assert run.calls_used == run.calls_planned + 1
    assert run.counts["calls_planned_budgets"] == len(group.budgets)
    stored = BudgetBalance.objects.for_firm(named_firm.firm).filter(
        organisation=named_firm.linked[group.name]
    )
    assert sorted(set(stored.values_list("period", flat=True))) == months_between(first, ends)


def _headers_unreadable(body):
    """A report whose column headers say nothing the sync can map (not a month, not an option)."""
    header = body["Reports"][0]["Rows"][0]
    for number, cell in enumerate(header["Cells"][1:], start=1):
        cell["Value"] = f"Column {number}"
    return body


def test_the_layout_xero_answered_is_remembered_so_a_repeat_sync_makes_the_fewest_calls(
    client, firm_a, test_today, settings
):
    """Under a Xero that ignores `periods` with a tracking category, the first sync spends one
    call finding it out; the next ones remember it (per organisation) and make only the calls
    of their plan. A full sync, or an answer that no longer fits, finds it out afresh."""
    with alpine_connected(client, firm_a, test_today) as (app, sandbox):
        minute_in_a_second(app, settings)
        app.behaviour = Behaviour(pl_periods_with_tracking="ignored")
        profile = XeroOrganisation.objects.for_firm(firm_a.firm)
        first = sync(firm_a, ALPINE)
        assert first.state == SyncRun.State.SUCCEEDED, first.error
        assert first.calls_used == first.calls_planned + 1
        (layout,) = profile.values_list("tracking_report_layout", flat=True)
        assert layout.startswith("one month per request, because")

        # A firm that locks its books twice a year: each incremental sync reads seven months,
        # enough for a 12-month request by category to be the first choice.
        current = month_start(clock.today(sandbox[ALPINE].timezone))
        with sandbox_http(app) as http:
            locked = http.post(
                "/_sandbox/organisations/alpine/period-lock",
                headers=SANDBOX_ADMIN,
                json={"periodLockDate": month_end(add_months(current, -7)).isoformat()},
            )
        assert locked.status_code == 200, locked.text
        again = sync(firm_a, ALPINE)
        assert again.kind == SyncRun.Kind.INCREMENTAL
        assert again.state == SyncRun.State.SUCCEEDED, again.error
        assert again.counts["months"] == 7
        assert again.calls_used == again.calls_planned
        assert "(as an earlier sync found)" in again.error

        # Reports whose headers no longer fit: the remembered layout is dropped (the actuals
        # fail and keep their data), and the next sync finds it out again at one call's cost.
        with use_transport(Mutating(app, "Reports/ProfitAndLoss", _headers_unreadable)):
            spoiled = sync(firm_a, ALPINE)
        assert spoiled.state == SyncRun.State.SUCCEEDED, spoiled.error
        assert "Region actuals" in {f["name"] for f in spoiled.failed_scopes}
        assert profile.values_list("tracking_report_layout", flat=True).get() == ""
        found = sync(firm_a, ALPINE)
        assert found.state == SyncRun.State.SUCCEEDED and found.failed_scopes == []
        assert found.calls_used == found.calls_planned + 1
        assert profile.values_list("tracking_report_layout", flat=True).get() == layout

        # Xero now combines `periods` with tracking: a full sync asks 12 months again, finds
        # it works, forgets the fallback, and makes the fewest calls Xero's rules allow.
        app.behaviour = Behaviour()
        full = sync(firm_a, ALPINE, kind=SyncRun.Kind.FULL)
        assert full.state == SyncRun.State.SUCCEEDED, full.error
        assert profile.values_list("tracking_report_layout", flat=True).get() == ""
        assert (
            full.calls_used
            == full.calls_planned
            == expected_calls(sandbox[ALPINE], Behaviour(), current, settings.XERO_ACTUALS_MONTHS)
        )
