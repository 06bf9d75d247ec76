"""The organisation page: what a firm sees of a client's budgets, actuals and syncs."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.ledger.selectors import organisation_month_window
from budgeting.models import (
    ActualBalance,
    Budget,
    Reconciliation,
    SyncRun,
    TrackingOption,
    XeroOrganisation,
)
from tenants.roles import Role
from tests.budgeting.screens import HTMX, connected, csv_rows, login, screen_url, sync_run, text

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.
from tests.sandbox import sync

# --- Organisation page -------------------------------------------------------------------------


def _page(client, cast, organisation, **query):
    return text(client.get(screen_url("organisation_detail", cast, organisation, **query)))


def test_organisation_page_shows_budgets_actuals_and_history(client, connected_firm, firm_b):
    run = sync(connected_firm, "Kestrel Pacific Group")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Kestrel Pacific Group"]
    firm = connected_firm.firm
    login(client, connected_firm, Role.VIEWER)

    page = _page(client, connected_firm, organisation)
    with scopes_disabled():
        profile = XeroOrganisation.objects.get(organisation=organisation)
        tracking = Budget.objects.filter(organisation=organisation, type="TRACKING").select_related(
            "tracking_option__category"
        )
        overall = Budget.objects.get(organisation=organisation, type="OVERALL")
        first_line = overall.lines.select_related("account").first()
        amount = first_line.balances.order_by("period").first().amount
    assert profile.base_currency in page
    assert f"amounts in {profile.base_currency}" in page
    # Tracking budgets are named by their option.
    with scopes_disabled():
        for budget in tracking:
            option = budget.tracking_option
            assert f"{option.category.name}: {option.name}" in page
    assert str(first_line.account) in page
    assert f"{amount:,.2f}".replace("-", "\u2212") in page
    assert firm_b.organisation.name not in page

    with scopes_disabled():
        tracking_budget = tracking.first()
    one = _page(client, connected_firm, organisation, budget=tracking_budget.pk)
    assert f'<option value="{tracking_budget.pk}" selected>' in one

    actuals = _page(client, connected_firm, organisation, tab="actuals")
    assert "Actuals, all tracking options" in actuals
    assert 'aria-current="page">Actuals by month' in actuals
    assert actuals.count('<th scope="col" class="num">') == 12 + 1  # 12 months and a total

    history = _page(client, connected_firm, organisation, tab="history")
    assert "✓ Succeeded" in history and "Initial" in history and "By hand" in history
    assert (
        f'<td class="num">{run.calls_used} <span class="muted">of {run.calls_planned} planned'
        in history
    )

    # Tabs come as fragments to htmx.
    fragment = text(
        client.get(
            screen_url("organisation_detail", connected_firm, organisation, tab="history"),
            headers={**HTMX, "HX-Target": "organisation-tabs"},
        )
    )
    assert fragment.lstrip().startswith('<div id="organisation-tabs">')
    assert firm.name not in fragment  # no page chrome

    # Another firm's organisation, budget or option: 404 alike.
    assert (
        client.get(
            screen_url("organisation_detail", connected_firm, firm_b.organisation)
        ).status_code
        == 404
    )


def test_actuals_filter_by_tracking_option_and_export(client, connected_firm, firm_b):
    run = sync(connected_firm, "Ashford & Vale Construction")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Ashford & Vale Construction"]
    login(client, connected_firm, Role.VIEWER)
    with scopes_disabled():
        option = (
            TrackingOption.objects.filter(organisation=organisation, actuals__isnull=False)
            .distinct()
            .first()
        )
        latest = ActualBalance.objects.filter(tracking_option=option).order_by("-period").first()
        option_rows = ActualBalance.objects.filter(
            tracking_option=option, period=latest.period
        ).select_related("account")
        expected = {str(a.account): a.amount for a in option_rows}
        overall = {
            str(a.account): a.amount
            for a in ActualBalance.objects.filter(
                organisation=organisation, tracking_option=None, period=latest.period
            ).select_related("account")
        }
    assert expected != overall

    filtered = text(
        client.get(
            screen_url(
                "organisation_detail", connected_firm, organisation, tab="actuals", option=option.pk
            ),
            headers={**HTMX, "HX-Target": "organisation-tabs"},
        )
    )
    assert f"Actuals for {option.category.name}: {option.name}" in filtered
    assert f'<option value="{option.pk}" selected>' in filtered

    rows = csv_rows(
        client.get(
            screen_url("organisation_actuals_csv", connected_firm, organisation, option=option.pk)
        )
    )
    header, body = rows[0], rows[1:]
    assert header[0] == "Account" and header[-1] == "Total" and len(header) == 12 + 2
    # The window ends at the organisation's open month, as on every screen, even when this
    # option has no actual in it yet (the first days of a month).
    with scopes_disabled():
        window = organisation_month_window(firm=connected_firm.firm, organisation=organisation)
    assert header[-2] == f"{window.open_month:%Y-%m}"
    assert f'{window.open_month:%b %Y} <abbr class="muted"' in filtered  # marked partial
    column = header.index(f"{latest.period:%Y-%m}")
    by_account = {row[0]: row for row in body if not row[0].startswith("Total")}
    assert {n: Decimal(row[column]) for n, row in by_account.items() if row[column]} == expected
    for row in by_account.values():
        assert Decimal(row[-1]) == sum((Decimal(v) for v in row[1:-1] if v), Decimal("0"))

    overall_rows = csv_rows(
        client.get(screen_url("organisation_actuals_csv", connected_firm, organisation))
    )
    overall_by_account = {row[0]: row for row in overall_rows[1:] if not row[0].startswith("Total")}
    assert overall_rows[0] == header  # the same months, filtered or not
    assert {n: Decimal(r[column]) for n, r in overall_by_account.items() if r[column]} == overall

    # Another firm's tracking option is not a filter here.
    with scopes_disabled():
        from budgeting.models import TrackingCategory

        category = TrackingCategory.objects.create(
            firm=firm_b.firm, organisation=firm_b.organisation, category_id="c", name="Region"
        )
        theirs = TrackingOption.objects.create(
            firm=firm_b.firm,
            organisation=firm_b.organisation,
            category=category,
            option_id="o",
            name="North",
        )
    url = screen_url(
        "organisation_detail", connected_firm, organisation, tab="actuals", option=theirs.pk
    )
    assert client.get(url).status_code == 404

    budget_rows = csv_rows(
        client.get(screen_url("organisation_budget_csv", connected_firm, organisation))
    )
    with scopes_disabled():
        budget = Budget.objects.get(organisation=organisation)
        assert (
            len([r for r in budget_rows[1:] if not r[0].startswith("Total")])
            == budget.lines.count()
        )


def test_sync_history_lists_errors_and_reconciliation_differences(client, firm_a, firm_b):
    organisation = firm_a.organisation
    connected(firm_a, organisation)
    started = timezone.now() - dt.timedelta(minutes=5)
    failed = sync_run(
        firm_a,
        organisation,
        state=SyncRun.State.FAILED,
        error="Xero answered 500 for Reports/ProfitAndLoss. The previous data is unchanged.",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=65),
        calls_used=7,
    )
    differs = sync_run(
        firm_a,
        organisation,
        state=SyncRun.State.SUCCEEDED,
        reconciled=False,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=30),
        counts={"accounts": 40, "budget_balances": 480},
    )
    with scopes_disabled():
        for period, line, difference in (
            (dt.date(2026, 3, 1), "income", Decimal("0.00")),
            (dt.date(2026, 4, 1), "expenses", Decimal("-12.34")),
            (dt.date(2026, 4, 1), "net_profit", Decimal("1234.50")),
        ):
            Reconciliation.objects.create(
                firm=firm_a.firm,
                organisation=organisation,
                sync_run=differs,
                kind=Reconciliation.Kind.ACTUALS,
                period=period,
                line=line,
                expected=Decimal("5000.00"),
                synced=Decimal("5000.00") + difference,
                difference=difference,
            )
    login(client, firm_a, Role.VIEWER)

    history = _page(client, firm_a, organisation, tab="history")

    assert failed.error in history
    assert "1 min 05 s" in history
    assert "budget balances: 480" in history
    assert "Where the synced actuals differ" in history
    assert "Apr 2026" in history and "Net profit" in history and "1,234.50" in history
    assert "\u221212.34" in history
    assert "Mar 2026" not in history  # a month that matched is not a difference

    rows = csv_rows(client.get(screen_url("organisation_sync_history_csv", firm_a, organisation)))
    assert len(rows) == 1 + 2
    assert rows[1][3] == "Succeeded" and "2026-04 expenses: -12.34" in rows[1][10]
    assert rows[2][3] == "Failed" and rows[2][7] == "7" and rows[2][11] == failed.error

    for name in (
        "organisation_sync_history_csv",
        "organisation_actuals_csv",
        "organisation_budget_csv",
    ):
        url = reverse(name, args=[firm_a.firm.slug, firm_b.organisation.pk])
        assert client.get(url).status_code == 404
