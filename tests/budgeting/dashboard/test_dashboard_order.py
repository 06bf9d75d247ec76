"""The dashboard's orders, filters and sync counts as the database computes them: which run,
which month's summary and which Xero link each reads, ties, and what never counts."""

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.models import SyncRun
from integrations.models import XeroTenant
from tenants.models import ClientOrganisation
from tenants.roles import Role
from tests.budgeting.screens import connected, csv_rows, login, screen_url, sync_run, text
from tests.factories import VarianceSummaryFactory, client_organisation_create

NOVEMBER, OCTOBER = dt.date(2026, 11, 1), dt.date(2026, 10, 1)


def _names(cast, client, **query) -> list[str]:
    page = text(client.get(screen_url("firm_dashboard", cast, **query)))
    return re.findall(r'<th scope="row"><a href="[^"]*">([^<]*)</a></th>', page)


def _client(cast, name, *, link=True):
    organisation = client_organisation_create(firm=cast.firm, name=name)
    if link:
        connected(cast, organisation)
    return organisation


def _summary(organisation, *, variance="0", material=0, period=NOVEMBER, favourable=True):
    VarianceSummaryFactory(
        organisation=organisation,
        period=period,
        net_profit_actual=Decimal(variance),
        net_profit_budget=Decimal("0"),
        net_profit_variance=Decimal(variance),
        net_profit_favourable=favourable,
        material_count=material,
    )


def test_net_profit_order_reads_each_clients_latest_month(client, firm_a, firm_b):
    gamma = _client(firm_a, "Gamma")
    _summary(gamma, variance="-2000", favourable=False)
    # Equal figures fall back to the name, whatever its case.
    for name in ("beta", "Alpha"):
        _summary(_client(firm_a, name), variance="-500", favourable=False)
    delta = _client(firm_a, "delta")
    _summary(delta, variance="300")
    # An older month further under budget does not count: the latest month does.
    _summary(delta, variance="-9000", period=OCTOBER, favourable=False)
    _client(firm_a, "Epsilon")  # no summary yet: last
    _summary(_client(firm_b, "Birch worst client"), variance="-99999", favourable=False)
    login(client, firm_a, Role.VIEWER)

    names = _names(firm_a, client, sort="net_profit")

    assert names == ["Gamma", "Alpha", "beta", "delta", "Epsilon", firm_a.organisation.name]
    login(client, firm_b, Role.VIEWER)
    assert _names(firm_b, client, sort="net_profit") == [
        "Birch worst client",
        firm_b.organisation.name,
    ]
    assert client.get(screen_url("firm_dashboard", firm_a)).status_code == 404


def test_longest_since_a_sync_puts_never_finished_first_then_the_oldest(client, firm_a, firm_b):
    now = timezone.now()
    sync_run(
        firm_a,
        _client(firm_a, "Old"),
        state=SyncRun.State.SUCCEEDED,
        finished_at=now - dt.timedelta(days=3),
    )
    middle = _client(firm_a, "Middle")
    sync_run(firm_a, middle, state=SyncRun.State.SUCCEEDED, finished_at=now - dt.timedelta(days=1))
    # A sync under way has not finished: the client still waits since the last one that did.
    sync_run(firm_a, middle, state=SyncRun.State.RUNNING, heartbeat_at=now)
    sync_run(
        firm_a,
        _client(firm_a, "Recent failure"),
        state=SyncRun.State.FAILED,
        finished_at=now - dt.timedelta(hours=1),
    )
    sync_run(firm_a, _client(firm_a, "only running"), state=SyncRun.State.RUNNING)
    _client(firm_a, "Never")
    sync_run(
        firm_b,
        _client(firm_b, "Birch ancient"),
        state=SyncRun.State.SUCCEEDED,
        finished_at=now - dt.timedelta(days=400),
    )
    login(client, firm_a, Role.VIEWER)

    names = _names(firm_a, client, sort="last_sync")

    never = sorted([firm_a.organisation.name, "Never", "only running"], key=str.casefold)
    assert names == [*never, "Old", "Middle", "Recent failure"]
    assert "Birch ancient" not in names


def test_syncing_counts_only_runs_still_under_way(client, firm_a, firm_b):
    now = timezone.now()
    lost = now - dt.timedelta(seconds=settings.XERO_SYNC_STALE_SECONDS + 60)
    sync_run(firm_a, _client(firm_a, "Beating"), state=SyncRun.State.RUNNING, heartbeat_at=now)
    sync_run(firm_a, _client(firm_a, "Starting"), state=SyncRun.State.RUNNING)  # no beat yet
    sync_run(firm_a, _client(firm_a, "Waiting"), state=SyncRun.State.QUEUED)
    # Its worker was lost: the heartbeat stopped, so it neither counts nor polls.
    sync_run(firm_a, _client(firm_a, "Lost worker"), state=SyncRun.State.RUNNING, heartbeat_at=lost)
    sync_run(
        firm_a,
        _client(firm_a, "Forgotten"),
        state=SyncRun.State.QUEUED,
        created_at=now - dt.timedelta(hours=3),
    )
    # An older run still marked running behind a newer finished one is not the latest.
    superseded = _client(firm_a, "Superseded")
    sync_run(
        firm_a,
        superseded,
        state=SyncRun.State.RUNNING,
        heartbeat_at=now,
        created_at=now - dt.timedelta(minutes=5),
    )
    sync_run(firm_a, superseded, state=SyncRun.State.SUCCEEDED, finished_at=now)
    sync_run(firm_b, _client(firm_b, "Birch syncing"), state=SyncRun.State.RUNNING)
    login(client, firm_a, Role.VIEWER)
    url = reverse("firm_dashboard", args=[firm_a.firm.slug])

    banner = text(client.get(url + "?fragment=banner"))
    page = text(client.get(url))

    assert "Syncing 3 of 7 organisations: 2 running, 1 waiting for a worker." in banner
    assert "Syncing 3 of 7 organisations" in page
    assert _names(firm_a, client, state="syncing", sort="name") == [
        "Beating",
        "Starting",
        "Waiting",
    ]
    lost_row = page.split("Lost worker</a>")[1].split("</tr>")[0]
    assert "Interrupted" in lost_row and "<progress" not in lost_row
    narrowed = text(client.get(url + "?fragment=banner&q=wait"))
    assert "Syncing 1 of 1 organisation: 0 running, 1 waiting for a worker." in narrowed


def test_attention_reads_the_latest_finished_and_succeeded_runs(client, firm_a, firm_b):
    now = timezone.now()

    def runs(organisation, *states_and_checks):
        for minutes, (state, reconciled) in enumerate(states_and_checks):
            at = now - dt.timedelta(minutes=30 - minutes)
            finished = None if state == SyncRun.State.RUNNING else at
            fields = {"state": state, "reconciled": reconciled, "created_at": at}
            sync_run(firm_a, organisation, finished_at=finished, **fields)

    ok, failed, running = SyncRun.State.SUCCEEDED, SyncRun.State.FAILED, SyncRun.State.RUNNING
    removed = _client(firm_a, "Removed in Xero")
    with scopes_disabled():
        XeroTenant.objects.filter(client_organisation=removed).update(
            status=XeroTenant.Status.REMOVED
        )
    # A failed run's checks do not count: the figures on screen are the last success's.
    runs(_client(firm_a, "Fixed then failed"), (ok, True), (failed, False), (running, None))
    runs(_client(firm_a, "Failed then fixed"), (failed, None), (ok, True))
    runs(_client(firm_a, "Fine then differences"), (ok, True), (ok, False))
    runs(_client(firm_a, "Differences then fine"), (ok, False), (ok, True))
    _summary(_client(firm_a, "Material"), material=2)
    _summary(_client(firm_a, "Under budget"), variance="-10", favourable=False)
    was_material = _client(firm_a, "Was material")
    _summary(was_material, material=0)
    _summary(was_material, material=5, period=OCTOBER, favourable=False)
    archived = _client(firm_a, "Archived")
    runs(archived, (failed, None))
    with scopes_disabled():
        ClientOrganisation.objects.filter(pk=archived.pk).update(archived_at=now)
    _summary(_client(firm_b, "Birch material"), material=9)
    login(client, firm_a, Role.VIEWER)

    names = _names(firm_a, client)

    assert names == [
        "Removed in Xero",
        "Fixed then failed",
        "Fine then differences",
        "Material",
        "Under budget",
        firm_a.organisation.name,  # not linked to Xero
        "Differences then fine",
        "Failed then fixed",
        "Was material",
    ]
    assert _names(firm_a, client, state="revoked") == ["Removed in Xero"]
    assert _names(firm_a, client, state="sync_failed") == ["Fixed then failed"]
    assert _names(firm_a, client, state="differences") == ["Fine then differences"]
    assert _names(firm_a, client, state="not_connected") == [firm_a.organisation.name]
    # Most material first; a client with no summary after those with none material.
    assert _names(firm_a, client, sort="material") == [
        "Material",
        "Under budget",
        "Was material",
        "Differences then fine",
        "Failed then fixed",
        "Fine then differences",
        "Fixed then failed",
        firm_a.organisation.name,
        "Removed in Xero",
    ]
    rows = csv_rows(client.get(screen_url("firm_dashboard_csv", firm_a)))
    assert [row[0] for row in rows[1:]] == names
    login(client, firm_b, Role.VIEWER)
    assert _names(firm_b, client) == ["Birch material", firm_b.organisation.name]


def test_pages_of_equal_names_never_overlap(client, firm_a, firm_b):
    for _ in range(55):
        _client(firm_a, "Same Name Ltd", link=False)
    _client(firm_b, "Same Name Ltd", link=False)
    login(client, firm_a, Role.VIEWER)

    for sort in ("name", "attention", "net_profit", "last_sync", "material"):
        page_one = text(client.get(screen_url("firm_dashboard", firm_a, sort=sort)))
        page_two = text(client.get(screen_url("firm_dashboard", firm_a, sort=sort, page=2)))
        ids = [re.findall(r'id="organisation-(\d+)"', page) for page in (page_one, page_two)]
        assert len(ids[0]) == 50 and len(ids[1]) == 6, sort
        assert len(set(ids[0]) | set(ids[1])) == 56, sort
