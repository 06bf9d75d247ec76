"""The firm dashboard: every client's sync state, its filters and CSV, Sync now and its live row."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.models import (
    SyncRun,
    XeroOrganisation,
)
from integrations.models import XeroConnection
from tenants.roles import Role
from tests.budgeting.screens import (
    HTMX,
    connected,
    csv_rows,
    login,
    screen_url,
    sync_run,
    synced_profile,
    text,
)
from tests.factories import VarianceSummaryFactory, client_organisation_create

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.
from tests.sandbox import sync


def test_dashboard_shows_each_client_after_a_sync(client, connected_firm, firm_b):
    run = sync(connected_firm, "Harbour Lane Café")
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    organisation = connected_firm.linked["Harbour Lane Café"]
    with scopes_disabled():
        profile = XeroOrganisation.objects.get(organisation=organisation)
    login(client, connected_firm, Role.VIEWER)

    page = text(client.get(screen_url("firm_dashboard", connected_firm)))

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
    connected(firm_a, firm_a_org, status=XeroConnection.Status.NEEDS_REAUTH)
    synced_profile(firm_a, firm_a_org, lock=dt.date(2026, 9, 15))
    sync_run(
        firm_a,
        firm_a_org,
        state=SyncRun.State.SUCCEEDED,
        reconciled=False,
        finished_at=timezone.now(),
    )
    sync_run(
        firm_a,
        firm_a_org,
        state=SyncRun.State.FAILED,
        error="Xero said no. The previous data is unchanged.",
        finished_at=timezone.now(),
    )
    login(client, firm_a)

    page = text(client.get(screen_url("firm_dashboard", firm_a)))

    assert "⚠ Needs re-authorisation" in page
    assert "✕ Failed" in page
    # The data on screen is the successful run's, whose checks found differences.
    assert "✕ Differences" in page
    # Locked to the 15th: August is the last whole month closed.
    assert "Aug 2026" in page


def test_dashboard_filters_by_name_and_state(client, firm_a, firm_b):
    syncing = client_organisation_create(firm=firm_a.firm, name="Moana Surf Supplies")
    connected(firm_a, syncing)
    sync_run(firm_a, syncing, state=SyncRun.State.RUNNING, progress=30)
    login(client, firm_a)

    by_name = text(client.get(screen_url("firm_dashboard", firm_a, q="moana")))
    assert "Moana Surf Supplies" in by_name and firm_a.organisation.name not in by_name

    by_state = text(client.get(screen_url("firm_dashboard", firm_a, state="not_connected")))
    assert firm_a.organisation.name in by_state and "Moana Surf Supplies" not in by_state

    fragment = text(
        client.get(
            screen_url("firm_dashboard", firm_a, state="syncing"),
            headers={**HTMX, "HX-Target": "organisation-table"},
        )
    )
    assert "<html" not in fragment
    assert "Moana Surf Supplies" in fragment and firm_a.organisation.name not in fragment


def test_dashboard_csv_has_one_row_per_client(client, connected_firm, firm_b):
    sync(connected_firm, "Tidepool Software")
    login(client, connected_firm)

    rows = csv_rows(client.get(screen_url("firm_dashboard_csv", connected_firm)))

    assert rows[0][:3] == ["Client", "Xero", "Currency"]
    by_name = {row[0]: row for row in rows[1:]}
    # Five linked clients, plus the fixture's own unlinked one.
    assert len(rows) == 1 + 6
    assert by_name["Tidepool Software"][1] == "Connected"
    assert by_name["Tidepool Software"][4] == "Succeeded"
    assert by_name["Tidepool Software"][8] == "Reconciled"
    assert by_name["Harbour Lane Café"][8] in ("Not checked",)
    assert firm_b.organisation.name not in by_name

    filtered = csv_rows(client.get(screen_url("firm_dashboard_csv", connected_firm, q="tidepool")))
    assert [row[0] for row in filtered[1:]] == ["Tidepool Software"]


def _dashboard_queries(client, cast) -> int:
    with CaptureQueriesContext(connection) as queries:
        text(client.get(screen_url("firm_dashboard", cast)))
    return len(queries)


def _add_clients(cast, count, *, first=0, material=0, prefix="Client"):
    for i in range(first, first + count):
        organisation = client_organisation_create(firm=cast.firm, name=f"{prefix} {i:03d}")
        connected(cast, organisation)
        synced_profile(cast, organisation)
        sync_run(
            cast,
            organisation,
            state=SyncRun.State.SUCCEEDED,
            reconciled=True,
            finished_at=timezone.now(),
        )
        sync_run(cast, organisation, state=SyncRun.State.RUNNING, progress=50)
        VarianceSummaryFactory(organisation=organisation, material_count=material)


def test_dashboard_queries_do_not_grow_with_the_number_of_clients(client, firm_a, firm_b):
    login(client, firm_a)
    _add_clients(firm_a, 10)
    few = _dashboard_queries(client, firm_a)
    _add_clients(firm_a, 50, first=10, material=2)
    many = _dashboard_queries(client, firm_a)
    assert few == many
    # And firm B's clients never show up in firm A's.
    _add_clients(firm_b, 2)
    assert _dashboard_queries(client, firm_a) == many


def _row_names(page: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="[^"]*">([^<]*)</a></th>', page)


def test_dashboard_puts_clients_needing_attention_first_and_pages(client, firm_a, firm_b):
    # 60 clients that need nothing, named to sort before the ones that do.
    _add_clients(firm_a, 60)
    _add_clients(firm_b, 3, material=9, prefix="Other firm's")
    reauth = client_organisation_create(firm=firm_a.firm, name="Zeta Reauth")
    connected(firm_a, reauth, status=XeroConnection.Status.NEEDS_REAUTH)
    failed = client_organisation_create(firm=firm_a.firm, name="Yarrow Failed")
    connected(firm_a, failed)
    sync_run(firm_a, failed, state=SyncRun.State.FAILED, finished_at=timezone.now())
    differences = client_organisation_create(firm=firm_a.firm, name="Xylo Differences")
    connected(firm_a, differences)
    sync_run(
        firm_a,
        differences,
        state=SyncRun.State.SUCCEEDED,
        reconciled=False,
        finished_at=timezone.now(),
    )
    one, three = (
        client_organisation_create(firm=firm_a.firm, name=f"Wombat {n} material") for n in (1, 3)
    )
    for organisation, count in ((one, 1), (three, 3)):
        connected(firm_a, organisation)
        VarianceSummaryFactory(organisation=organisation, material_count=count)
    login(client, firm_a, Role.VIEWER)

    first = text(client.get(screen_url("firm_dashboard", firm_a)))
    names = _row_names(first)
    assert names[:5] == [
        "Zeta Reauth",
        "Yarrow Failed",
        "Xylo Differences",
        "Wombat 3 material",
        "Wombat 1 material",
    ]
    # 50 rows a page: the page says where it is and links to the next.
    assert len(names) == 50
    assert "1\u201350 of 66" in first and "Page 1 of 2" in first
    assert 'page=2" hx-get' in first
    second = text(client.get(screen_url("firm_dashboard", firm_a, page=2)))
    rest = _row_names(second)
    assert len(rest) == 16 and not set(rest) & set(names)
    everyone = set(names) | set(rest)
    assert len(everyone) == 66
    assert "Other firm" not in first + second

    by_name = _row_names(text(client.get(screen_url("firm_dashboard", firm_a, sort="name"))))
    assert by_name == sorted(everyone, key=str.casefold)[:50]
    most_material = _row_names(
        text(client.get(screen_url("firm_dashboard", firm_a, sort="material")))
    )
    assert most_material[:2] == ["Wombat 3 material", "Wombat 1 material"]
    # Filters and order hold across pages; a page past the end shows the last one.
    failed_only = text(
        client.get(screen_url("firm_dashboard", firm_a, state="sync_failed", page=9))
    )
    assert _row_names(failed_only) == ["Yarrow Failed"]
    rows = csv_rows(client.get(screen_url("firm_dashboard_csv", firm_a)))
    assert [row[0] for row in rows[1:6]] == names[:5] and len(rows) == 1 + 66
    assert not any(row[0].startswith("Other firm") for row in rows)


# --- Sync now ----------------------------------------------------------------------------------


def test_sync_now_queues_one_run_and_shows_its_progress(
    client, connected_firm, firm_b, django_capture_on_commit_callbacks
):
    organisation = connected_firm.linked["Tidepool Software"]
    login(client, connected_firm, Role.PREPARER)
    url = screen_url("organisation_sync_now", connected_firm, organisation)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url, {"fragment": "row"}, headers=HTMX)

    row = text(response)
    with scopes_disabled():
        run = SyncRun.objects.get(organisation=organisation)
    assert run.state == SyncRun.State.QUEUED
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert len(callbacks) == 1  # the Celery task, sent once the transaction commits
    assert "<progress" in row and 'hx-trigger="every 2s"' in row
    assert "Sync of Tidepool Software queued." in row

    # Asking again while it is queued starts nothing new.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = text(client.post(url, {"fragment": "row"}, headers=HTMX))
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
    assert plain["Location"] == screen_url("organisation_detail", connected_firm, organisation)


def test_sync_now_is_post_only_and_for_roles_that_may_sync(client, firm_a, firm_b):
    connected(firm_a, firm_a.organisation)
    url = screen_url("organisation_sync_now", firm_a, firm_a.organisation)
    login(client, firm_a, Role.PREPARER)
    assert client.get(url).status_code == 405
    for role in (Role.VIEWER, Role.APPROVER):
        login(client, firm_a, role)
        assert client.post(url).status_code == 403
    with scopes_disabled():
        assert not SyncRun.objects.exists()
    # Firm B's organisation is simply not there for firm A's members.
    login(client, firm_a, Role.OWNER)
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
        connected(firm_a, firm_a.organisation, status=setup)
    login(client, firm_a)
    url = screen_url("organisation_sync_now", firm_a, firm_a.organisation)

    row = text(client.post(url, {"fragment": "row"}, headers=HTMX))
    assert expected in row and 'role="alert"' in row

    response = client.post(url, follow=True)
    assert expected in text(response)
    with scopes_disabled():
        assert not SyncRun.objects.exists()


def test_progress_polls_while_running_and_stops_when_done(client, firm_a, firm_b):
    organisation = firm_a.organisation
    connected(firm_a, organisation)
    run = sync_run(
        firm_a, organisation, state=SyncRun.State.RUNNING, progress=40, step="Actuals May 2026"
    )
    login(client, firm_a, Role.VIEWER)
    url = screen_url("organisation_sync_status", firm_a, organisation)

    running = text(client.get(url, headers=HTMX))
    assert 'value="40"' in running and "Actuals May 2026" in running
    assert 'hx-trigger="every 2s"' in running
    assert running.lstrip().startswith("<tr")

    panel = text(client.get(url + "?fragment=panel", headers=HTMX))
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
    done = text(client.get(url, headers=HTMX))
    assert "hx-trigger" not in done  # no trigger: htmx stops polling
    assert "✓ Succeeded" in done and "12 calls" in done and "✓ Reconciled" in done
    panel = text(client.get(url + "?fragment=panel", headers=HTMX))
    assert "hx-trigger" not in panel and "Reload to see the new figures" in panel

    firm_b_url = reverse(
        "organisation_sync_status", args=[firm_a.firm.slug, firm_b.organisation.pk]
    )
    assert client.get(firm_b_url, headers=HTMX).status_code == 404


def test_a_running_sync_shows_its_calls_and_time_left_and_the_dashboard_counts_the_syncs(
    client, firm_a, firm_b
):
    organisation = firm_a.organisation
    second = client_organisation_create(firm=firm_a.firm, name="Second Client")
    connected(firm_a, organisation)
    connected(firm_a, second)
    now = timezone.now()
    # The last incremental sync took ten minutes: this one, 30 s in, has about 9.5 left.
    sync_run(
        firm_a,
        organisation,
        kind=SyncRun.Kind.INCREMENTAL,
        state=SyncRun.State.SUCCEEDED,
        calls_used=40,
        created_at=now - dt.timedelta(days=1),
        started_at=now - dt.timedelta(days=1),
        finished_at=now - dt.timedelta(days=1) + dt.timedelta(minutes=10),
    )
    sync_run(
        firm_a,
        organisation,
        kind=SyncRun.Kind.INCREMENTAL,
        state=SyncRun.State.RUNNING,
        progress=30,
        step="Actuals May 2026",
        calls_used=12,
        started_at=now - dt.timedelta(seconds=30),
        heartbeat_at=now,
    )
    sync_run(firm_a, second, state=SyncRun.State.QUEUED)  # a first sync: nothing to go by
    login(client, firm_a, Role.VIEWER)
    url = screen_url("organisation_sync_status", firm_a, organisation)

    row = text(client.get(url, headers=HTMX))
    assert "(30%), 12 calls" in row
    assert re.search(r"about 9 min (2\d|30) s left", row)
    panel = text(client.get(url + "?fragment=panel", headers=HTMX))
    assert "12 calls to Xero so far" in panel and re.search(r"about 9 min (2\d|30) s left", panel)

    dashboard = text(client.get(reverse("firm_dashboard", args=[firm_a.firm.slug])))
    assert "Syncing 2 of 2 organisations: 1 running, 1 waiting for a worker." in dashboard
    # The banner polls its own small fragment, not the table.
    assert 'fragment=banner" hx-swap="outerHTML" hx-trigger="every 5s"' in dashboard
    assert re.search(r"about 9 min (2\d|30) s left", dashboard)
    # The queued first sync says nothing of time left: there is nothing to estimate from.
    second_row = text(
        client.get(screen_url("organisation_sync_status", firm_a, second), headers=HTMX)
    )
    assert "waiting for a worker (0%)" in second_row and " left" not in second_row

    # Firm B's dashboard counts none of firm A's syncs.
    login(client, firm_b, Role.VIEWER)
    page_b = text(client.get(reverse("firm_dashboard", args=[firm_b.firm.slug])))
    assert "Each row shows its own progress" not in page_b and "12 calls" not in page_b


def test_the_sync_banner_polls_a_small_fragment_of_its_own_firms_counts(client, firm_a, firm_b):
    organisation = firm_a.organisation
    second = client_organisation_create(firm=firm_a.firm, name="Second Client")
    for cast, org in ((firm_a, organisation), (firm_a, second), (firm_b, firm_b.organisation)):
        connected(cast, org)
    sync_run(firm_a, organisation, state=SyncRun.State.RUNNING, progress=30)
    sync_run(firm_a, second, state=SyncRun.State.QUEUED)
    sync_run(firm_b, firm_b.organisation, state=SyncRun.State.RUNNING, progress=10)
    login(client, firm_a, Role.VIEWER)
    url = reverse("firm_dashboard", args=[firm_a.firm.slug]) + "?fragment=banner"

    with CaptureQueriesContext(connection) as queries:
        banner = text(client.get(url, headers=HTMX))
    assert "Syncing 2 of 2 organisations: 1 running, 1 waiting for a worker." in banner
    assert 'hx-trigger="every 5s"' in banner and "fragment=banner" in banner
    # Only the banner: no table, no row, no organisation's name; a few hundred bytes.
    assert "<table" not in banner and "<tr" not in banner and "Second Client" not in banner
    assert len(banner) < 600, len(banner)
    assert len(queries) <= 12, [q["sql"] for q in queries.captured_queries]
    # Filtered as the page is: the name filter narrows the count, and the poll keeps it.
    narrowed = text(client.get(url + "&q=Second", headers=HTMX))
    assert "Syncing 1 of 1 organisation: 0 running, 1 waiting" in narrowed
    assert "q=Second&amp;fragment=banner" in narrowed

    # Once the syncs end, the banner hides and stops polling.
    with scopes_disabled():
        SyncRun.objects.filter(firm=firm_a.firm).update(state=SyncRun.State.SUCCEEDED)
    done = text(client.get(url, headers=HTMX))
    assert "hx-trigger" not in done and "hidden" in done and "Syncing" not in done

    # Firm B's banner counts only its own sync; its member gets 404 on firm A's.
    login(client, firm_b, Role.VIEWER)
    theirs = text(
        client.get(reverse("firm_dashboard", args=[firm_b.firm.slug]) + "?fragment=banner")
    )
    assert "Syncing 1 of 1 organisation: 1 running, 0 waiting for a worker." in theirs
    assert client.get(url, headers=HTMX).status_code == 404
