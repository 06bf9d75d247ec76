"""The firm dashboard and the organisation page: what a firm sees of its clients' syncs."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
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
from integrations.models import XeroConnection, XeroTenant
from tenants.roles import Role
from tests.factories import client_organisation_create

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.
from tests.sandbox import sync

HTMX = {"HX-Request": "true"}


def _login(client, cast, role=Role.PREPARER):
    client.force_login(cast.member(role).user)


def _url(name, cast, organisation=None, **query):
    args = [cast.firm.slug] + ([organisation.pk] if organisation is not None else [])
    url = reverse(name, args=args)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def _connected(cast, organisation, status=XeroConnection.Status.CONNECTED, tenant_id=None):
    """A Xero link made directly, for tests that never call Xero."""
    with scopes_disabled():
        xero_connection = XeroConnection.objects.create(
            firm=cast.firm,
            access_token="a",
            refresh_token="r",
            access_token_expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            status=status,
        )
        return XeroTenant.objects.create(
            firm=cast.firm,
            connection=xero_connection,
            tenant_id=tenant_id or f"tenant-{organisation.pk}",
            tenant_name=organisation.name,
            client_organisation=organisation,
        )


def _run(cast, organisation, **fields):
    with scopes_disabled():
        return SyncRun.objects.create(
            firm=cast.firm, organisation=organisation, kind=SyncRun.Kind.INITIAL, **fields
        )


def _synced_profile(cast, organisation, lock=dt.date(2026, 9, 30)):
    with scopes_disabled():
        return XeroOrganisation.objects.create(
            firm=cast.firm,
            organisation=organisation,
            xero_organisation_id=f"xero-{organisation.pk}",
            name=organisation.name,
            base_currency="AUD",
            financial_year_end_day=30,
            financial_year_end_month=6,
            period_lock_date=lock,
        )


# --- Firm dashboard ----------------------------------------------------------------------------


def test_dashboard_shows_each_client_after_a_sync(client, connected_firm, firm_b):
    run = sync(connected_firm, "Harbour Lane Café")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Harbour Lane Café"]
    with scopes_disabled():
        profile = XeroOrganisation.objects.get(organisation=organisation)
    _login(client, connected_firm, Role.VIEWER)

    page = _text(client.get(_url("firm_dashboard", connected_firm)))

    row = page.split(f'id="organisation-{organisation.pk}"')[1].split("</tr>")[0]
    assert "✓ Connected" in row
    assert "✓ Succeeded" in row
    assert f"{run.calls_used} calls" in row
    assert "✓ Reconciled" in row
    assert profile.period_lock_date is not None  # the sandbox locks the month before today
    assert f"{profile.period_lock_date:%b %Y}" in row
    # The others are linked but not synced yet; the fixture's own client is not linked at all.
    tidepool = connected_firm.linked["Tidepool Software"]
    other = page.split(f'id="organisation-{tidepool.pk}"')[1].split("</tr>")[0]
    assert "Never synced" in other and "Not checked" in other
    unlinked = page.split(f'id="organisation-{connected_firm.organisation.pk}"')[1]
    assert "Not connected" in unlinked.split("</tr>")[0]
    # A viewer cannot sync, so sees no button; firm B's client is nowhere.
    assert "Sync now" not in page
    assert firm_b.organisation.name not in page


def test_dashboard_states_are_in_words_not_colour_alone(client, firm_a, firm_b):
    firm_a_org = firm_a.organisation
    _connected(firm_a, firm_a_org, status=XeroConnection.Status.NEEDS_REAUTH)
    _synced_profile(firm_a, firm_a_org, lock=dt.date(2026, 9, 15))
    _run(
        firm_a,
        firm_a_org,
        state=SyncRun.State.SUCCEEDED,
        reconciled=False,
        finished_at=timezone.now(),
    )
    _run(
        firm_a,
        firm_a_org,
        state=SyncRun.State.FAILED,
        error="Xero said no. The previous data is unchanged.",
        finished_at=timezone.now(),
    )
    _login(client, firm_a)

    page = _text(client.get(_url("firm_dashboard", firm_a)))

    assert "⚠ Needs re-authorisation" in page
    assert "✕ Failed" in page
    # The data on screen is the successful run's, whose checks found differences.
    assert "✕ Differences" in page
    # Locked to the 15th: August is the last whole month closed.
    assert "Aug 2026" in page


def test_dashboard_filters_by_name_and_state(client, firm_a, firm_b):
    syncing = client_organisation_create(firm=firm_a.firm, name="Moana Surf Supplies")
    _connected(firm_a, syncing)
    _run(firm_a, syncing, state=SyncRun.State.RUNNING, progress=30)
    _login(client, firm_a)

    by_name = _text(client.get(_url("firm_dashboard", firm_a, q="moana")))
    assert "Moana Surf Supplies" in by_name and firm_a.organisation.name not in by_name

    by_state = _text(client.get(_url("firm_dashboard", firm_a, state="not_connected")))
    assert firm_a.organisation.name in by_state and "Moana Surf Supplies" not in by_state

    fragment = _text(
        client.get(
            _url("firm_dashboard", firm_a, state="syncing"),
            headers={**HTMX, "HX-Target": "organisation-table"},
        )
    )
    assert "<html" not in fragment
    assert "Moana Surf Supplies" in fragment and firm_a.organisation.name not in fragment


def test_dashboard_csv_has_one_row_per_client(client, connected_firm, firm_b):
    sync(connected_firm, "Tidepool Software")
    _login(client, connected_firm)

    rows = _csv(client.get(_url("firm_dashboard_csv", connected_firm)))

    assert rows[0][:3] == ["Client", "Xero", "Currency"]
    by_name = {row[0]: row for row in rows[1:]}
    # Five linked clients, plus the fixture's own unlinked one.
    assert len(rows) == 1 + 6
    assert by_name["Tidepool Software"][1] == "Connected"
    assert by_name["Tidepool Software"][4] == "Succeeded"
    assert by_name["Tidepool Software"][8] == "Reconciled"
    assert by_name["Harbour Lane Café"][8] in ("Not checked",)
    assert firm_b.organisation.name not in by_name

    filtered = _csv(client.get(_url("firm_dashboard_csv", connected_firm, q="tidepool")))
    assert [row[0] for row in filtered[1:]] == ["Tidepool Software"]


def _dashboard_queries(client, cast) -> int:
    with CaptureQueriesContext(connection) as queries:
        _text(client.get(_url("firm_dashboard", cast)))
    return len(queries)


def test_dashboard_queries_do_not_grow_with_the_number_of_clients(client, firm_a, firm_b):
    def add_clients(cast, count):
        for i in range(count):
            organisation = client_organisation_create(firm=cast.firm, name=f"Client {i:03d}")
            _connected(cast, organisation)
            _synced_profile(cast, organisation)
            _run(
                cast,
                organisation,
                state=SyncRun.State.SUCCEEDED,
                reconciled=True,
                finished_at=timezone.now(),
            )
            _run(cast, organisation, state=SyncRun.State.RUNNING, progress=50)

    _login(client, firm_a)
    add_clients(firm_a, 3)
    few = _dashboard_queries(client, firm_a)
    add_clients(firm_a, 27)
    many = _dashboard_queries(client, firm_a)
    assert few == many
    # And firm B's clients never show up in firm A's.
    add_clients(firm_b, 2)
    assert _dashboard_queries(client, firm_a) == many


# --- Sync now ----------------------------------------------------------------------------------


def test_sync_now_queues_one_run_and_shows_its_progress(
    client, connected_firm, firm_b, django_capture_on_commit_callbacks
):
    organisation = connected_firm.linked["Tidepool Software"]
    _login(client, connected_firm, Role.PREPARER)
    url = _url("organisation_sync_now", connected_firm, organisation)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"fragment": "row"}, headers=HTMX)

    row = _text(response)
    with scopes_disabled():
        run = SyncRun.objects.get(organisation=organisation)
    assert run.state == SyncRun.State.QUEUED
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert len(callbacks) == 1  # the Celery task, sent once the transaction commits
    assert "<progress" in row and 'hx-trigger="every 2s"' in row
    assert "Sync of Tidepool Software queued." in row

    # Asking again while it is queued starts nothing new.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = _text(client.post(url, {"fragment": "row"}, headers=HTMX))
    assert "already under way" in again
    assert not callbacks
    with scopes_disabled():
        assert SyncRun.objects.filter(organisation=organisation).count() == 1

    # Without htmx: a redirect back, with the message.
    with scopes_disabled():
        SyncRun.objects.filter(pk=run.pk).update(state=SyncRun.State.FAILED)
    with django_capture_on_commit_callbacks(execute=False):
        plain = client.post(url, {"fragment": "panel"})
    assert plain.status_code == 302
    assert plain["Location"] == _url("organisation_detail", connected_firm, organisation)


def test_sync_now_is_post_only_and_for_roles_that_may_sync(client, firm_a, firm_b):
    _connected(firm_a, firm_a.organisation)
    url = _url("organisation_sync_now", firm_a, firm_a.organisation)
    _login(client, firm_a, Role.PREPARER)
    assert client.get(url).status_code == 405
    for role in (Role.VIEWER, Role.APPROVER):
        _login(client, firm_a, role)
        assert client.post(url).status_code == 403
    with scopes_disabled():
        assert not SyncRun.objects.exists()
    # Firm B's organisation is simply not there for firm A's members.
    _login(client, firm_a, Role.OWNER)
    firm_b_url = reverse("organisation_sync_now", args=[firm_a.firm.slug, firm_b.organisation.pk])
    assert client.post(firm_b_url).status_code == 404
    with scopes_disabled():
        assert not SyncRun.objects.filter(firm=firm_b.firm).exists()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (None, "is not linked to a Xero organisation yet"),
        (XeroConnection.Status.NEEDS_REAUTH, "needs re-authorisation"),
        (XeroConnection.Status.REVOKED, "Connect Xero again"),
    ],
)
def test_sync_now_says_what_to_do_when_xero_is_not_usable(client, firm_a, firm_b, setup, expected):
    if setup:
        _connected(firm_a, firm_a.organisation, status=setup)
    _login(client, firm_a)
    url = _url("organisation_sync_now", firm_a, firm_a.organisation)

    row = _text(client.post(url, {"fragment": "row"}, headers=HTMX))
    assert expected in row and 'role="alert"' in row

    response = client.post(url, follow=True)
    assert expected in _text(response)
    with scopes_disabled():
        assert not SyncRun.objects.exists()


def test_progress_polls_while_running_and_stops_when_done(client, firm_a, firm_b):
    organisation = firm_a.organisation
    _connected(firm_a, organisation)
    run = _run(
        firm_a, organisation, state=SyncRun.State.RUNNING, progress=40, step="Actuals May 2026"
    )
    _login(client, firm_a, Role.VIEWER)
    url = _url("organisation_sync_status", firm_a, organisation)

    running = _text(client.get(url, headers=HTMX))
    assert 'value="40"' in running and "Actuals May 2026" in running
    assert 'hx-trigger="every 2s"' in running
    assert running.lstrip().startswith("<tr")

    panel = _text(client.get(url + "?fragment=panel", headers=HTMX))
    assert 'id="sync-panel"' in panel and 'hx-trigger="every 2s"' in panel

    with scopes_disabled():
        SyncRun.objects.filter(pk=run.pk).update(
            state=SyncRun.State.SUCCEEDED,
            progress=100,
            step="Done",
            reconciled=True,
            calls_used=12,
            started_at=timezone.now() - dt.timedelta(seconds=30),
            finished_at=timezone.now(),
        )
    done = _text(client.get(url, headers=HTMX))
    assert "hx-trigger" not in done  # no trigger: htmx stops polling
    assert "✓ Succeeded" in done and "12 calls" in done and "✓ Reconciled" in done
    panel = _text(client.get(url + "?fragment=panel", headers=HTMX))
    assert "hx-trigger" not in panel and "Reload to see the new figures" in panel

    firm_b_url = reverse(
        "organisation_sync_status", args=[firm_a.firm.slug, firm_b.organisation.pk]
    )
    assert client.get(firm_b_url, headers=HTMX).status_code == 404


# --- Organisation page -------------------------------------------------------------------------


def _page(client, cast, organisation, **query):
    return _text(client.get(_url("organisation_detail", cast, organisation, **query)))


def test_organisation_page_shows_budgets_actuals_and_history(client, connected_firm, firm_b):
    run = sync(connected_firm, "Kestrel Pacific Group")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Kestrel Pacific Group"]
    firm = connected_firm.firm
    _login(client, connected_firm, Role.VIEWER)

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
    fragment = _text(
        client.get(
            _url("organisation_detail", connected_firm, organisation, tab="history"),
            headers={**HTMX, "HX-Target": "organisation-tabs"},
        )
    )
    assert fragment.lstrip().startswith('<div id="organisation-tabs">')
    assert firm.name not in fragment  # no page chrome

    # Another firm's organisation, budget or option: 404 alike.
    assert (
        client.get(_url("organisation_detail", connected_firm, firm_b.organisation)).status_code
        == 404
    )


def test_actuals_filter_by_tracking_option_and_export(client, connected_firm, firm_b):
    run = sync(connected_firm, "Ashford & Vale Construction")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Ashford & Vale Construction"]
    _login(client, connected_firm, Role.VIEWER)
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

    filtered = _text(
        client.get(
            _url(
                "organisation_detail", connected_firm, organisation, tab="actuals", option=option.pk
            ),
            headers={**HTMX, "HX-Target": "organisation-tabs"},
        )
    )
    assert f"Actuals for {option.category.name}: {option.name}" in filtered
    assert f'<option value="{option.pk}" selected>' in filtered

    rows = _csv(
        client.get(_url("organisation_actuals_csv", connected_firm, organisation, option=option.pk))
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

    overall_rows = _csv(client.get(_url("organisation_actuals_csv", connected_firm, organisation)))
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
    url = _url("organisation_detail", connected_firm, organisation, tab="actuals", option=theirs.pk)
    assert client.get(url).status_code == 404

    budget_rows = _csv(client.get(_url("organisation_budget_csv", connected_firm, organisation)))
    with scopes_disabled():
        budget = Budget.objects.get(organisation=organisation)
        assert (
            len([r for r in budget_rows[1:] if not r[0].startswith("Total")])
            == budget.lines.count()
        )


def test_sync_history_lists_errors_and_reconciliation_differences(client, firm_a, firm_b):
    organisation = firm_a.organisation
    _connected(firm_a, organisation)
    started = timezone.now() - dt.timedelta(minutes=5)
    failed = _run(
        firm_a,
        organisation,
        state=SyncRun.State.FAILED,
        error="Xero answered 500 for Reports/ProfitAndLoss. The previous data is unchanged.",
        started_at=started,
        finished_at=started + dt.timedelta(seconds=65),
        calls_used=7,
    )
    differs = _run(
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
    _login(client, firm_a, Role.VIEWER)

    history = _page(client, firm_a, organisation, tab="history")

    assert failed.error in history
    assert "1 min 05 s" in history
    assert "budget balances: 480" in history
    assert "Where the synced actuals differ" in history
    assert "Apr 2026" in history and "Net profit" in history and "1,234.50" in history
    assert "\u221212.34" in history
    assert "Mar 2026" not in history  # a month that matched is not a difference

    rows = _csv(client.get(_url("organisation_sync_history_csv", firm_a, organisation)))
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
