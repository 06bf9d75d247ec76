"""Faults lose nothing: a sync whose worker died is marked interrupted and queued again without
a click, a redelivered run does not save its checks twice, and a dropped database connection is
said in words and retried."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import datetime as dt
import json

import psycopg
import pytest
import redis
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.ledger.sync import organisation_sync, organisation_sync_start, sync_runs_recover
from budgeting.models import Reconciliation, SyncRun
from budgeting.pipeline import work_recover_task
from tenants.roles import Role
from tests.budgeting.screens import HTMX, connected, login, screen_url, sync_run, text

# The Xero sandbox fixtures of the integration tests: firm A connected to every organisation.
from tests.sandbox import sync

CAFE = "Harbour Lane Café"


def _dead_worker_run(cast, organisation, **fields):
    """A run left "running" at Saving (96%) by a worker killed ten minutes ago."""
    gone = timezone.now() - dt.timedelta(minutes=10)
    return sync_run(
        cast,
        organisation,
        state=SyncRun.State.RUNNING,
        progress=96,
        step="Saving",
        created_at=gone,
        started_at=gone,
        heartbeat_at=gone,
        **fields,
    )


def test_a_run_whose_worker_died_is_said_in_words_then_marked_interrupted_and_queued_again(
    client, firm_a, firm_b, django_capture_on_commit_callbacks
):
    for cast in (firm_a, firm_b):
        connected(cast, cast.organisation)
    dead = _dead_worker_run(firm_a, firm_a.organisation)
    alive = sync_run(
        firm_b,
        firm_b.organisation,
        state=SyncRun.State.RUNNING,
        progress=40,
        step="Actuals",
        heartbeat_at=timezone.now(),
    )
    login(client, firm_a, Role.PREPARER)
    dashboard = text(client.get(screen_url("firm_dashboard", firm_a)))
    row = dashboard.split(f'id="organisation-{firm_a.organisation.pk}"')[1].split("</tr>")[0]
    # Not a progress bar frozen at 96%, not "Never synced": what happened, in words.
    assert "The sync stopped at Saving (96%): its worker was lost" in row
    assert "<progress" not in row and "Never synced" not in row
    panel = text(
        client.get(
            screen_url("organisation_sync_status", firm_a, firm_a.organisation) + "?fragment=panel",
            headers=HTMX,
        )
    )
    assert "the worker running it was lost" in panel and "Sync now</button>" in panel

    # The beat job, with no click: the dead run is failed as interrupted, a new one is queued.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert work_recover_task() == {
            "syncs": 1,
            "forecasts": 0,
            "pipelines": 0,
            "sign_off_emails": 0,
        }
    assert len(callbacks) == 1  # the new run's Celery task, sent on commit
    with scopes_disabled():
        dead.refresh_from_db()
        alive.refresh_from_db()
        again = SyncRun.objects.filter(organisation=firm_a.organisation).exclude(pk=dead.pk).get()
        assert not SyncRun.objects.filter(organisation=firm_b.organisation).exclude(pk=alive.pk)
    assert dead.state == SyncRun.State.FAILED and dead.step == "Interrupted"
    assert dead.error.startswith("The sync stopped at Saving (96%): the worker running it was lost")
    assert "queued again automatically" in dead.error
    assert again.state == SyncRun.State.QUEUED and again.trigger == SyncRun.Trigger.SCHEDULE
    assert again.kind == dead.kind
    # Firm B's run still has its heartbeat: left alone.
    assert alive.state == SyncRun.State.RUNNING

    page = text(client.get(screen_url("organisation_detail", firm_a, firm_a.organisation)))
    assert "sync queued: waiting for a worker" in page and "<progress" in page
    with scopes_disabled():
        SyncRun.objects.filter(pk=again.pk).delete()
    history = text(
        client.get(screen_url("organisation_detail", firm_a, firm_a.organisation, tab="history"))
    )
    assert "✕ interrupted" in history and "the worker running it was lost" in history
    assert "OperationalError" not in history and "Traceback" not in history

    # Firm A's screens never show firm B's organisation.
    url = reverse("organisation_sync_status", args=[firm_a.firm.slug, firm_b.organisation.pk])
    assert client.get(url, headers=HTMX).status_code == 404


def test_an_organisation_interrupted_three_times_in_a_row_waits_for_a_click(
    firm_a, firm_b, django_capture_on_commit_callbacks
):
    connected(firm_a, firm_a.organisation)
    for _ in range(3):
        _dead_worker_run(firm_a, firm_a.organisation)
        with django_capture_on_commit_callbacks(execute=False):
            sync_runs_recover(firm=firm_a.firm)
        with scopes_disabled():
            # The queued retry is taken by a worker that dies in its turn.
            SyncRun.objects.filter(state=SyncRun.State.QUEUED).delete()
    with scopes_disabled():
        runs = list(SyncRun.objects.filter(organisation=firm_a.organisation))
    assert [r.step for r in runs] == ["Interrupted"] * 3
    assert "3 times in a row, so it was not queued again: use Sync now" in runs[0].error


def test_a_queued_run_whose_message_was_lost_is_sent_again_under_the_same_id(
    firm_a, firm_b, settings, django_capture_on_commit_callbacks
):
    connected(firm_a, firm_a.organisation)
    connected(firm_b, firm_b.organisation)
    lost = sync_run(
        firm_a,
        firm_a.organisation,
        created_at=timezone.now() - dt.timedelta(seconds=settings.XERO_SYNC_QUEUED_SECONDS + 60),
    )
    sync_run(firm_b, firm_b.organisation)  # just queued: waits its turn
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sync_runs_recover(firm=firm_a.firm) == {"interrupted": 0, "requeued": 1}
        assert sync_runs_recover(firm=firm_b.firm) == {"interrupted": 0, "requeued": 0}
    assert len(callbacks) == 1
    with scopes_disabled():
        assert SyncRun.objects.count() == 2
        lost.refresh_from_db()
    assert lost.state == SyncRun.State.QUEUED


def test_a_redelivered_run_replaces_its_reconciliation_rows_rather_than_adding_them_again(
    connected_firm, settings
):
    run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    with scopes_disabled():
        checks = sorted(
            Reconciliation.objects.filter(sync_run=run).values_list(
                "kind", "period", "tracking_option__option_id", "line", "expected", "synced"
            )
        )
    assert checks
    # The worker was killed after saving every scope, before recording the run's end: the run
    # is still "running", its heartbeat stale, and Celery redelivers its message.
    with scopes_disabled():
        SyncRun.objects.filter(pk=run.pk).update(
            state=SyncRun.State.RUNNING,
            progress=96,
            step="Saving",
            finished_at=None,
            heartbeat_at=timezone.now()
            - dt.timedelta(seconds=settings.XERO_SYNC_STALE_SECONDS + 60),
        )
    again = organisation_sync(firm=connected_firm.firm, run_id=run.pk)
    assert again.pk == run.pk and again.state == SyncRun.State.SUCCEEDED, again.error
    with scopes_disabled():
        after = sorted(
            Reconciliation.objects.filter(sync_run=run).values_list(
                "kind", "period", "tracking_option__option_id", "line", "expected", "synced"
            )
        )
    assert after == checks


@pytest.mark.django_db(transaction=True)
def test_a_dropped_database_connection_is_said_in_words_and_the_sync_queued_again(
    client, connected_firm, firm_b, settings
):
    organisation = connected_firm.linked[CAFE]
    run = organisation_sync_start(
        firm=connected_firm.firm, organisation=organisation, trigger="manual", enqueue=False
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    params = connection.get_connection_params()
    dsn = f"host={params.get('host') or '127.0.0.1'} port={params.get('port') or 5432} dbname={params['dbname']} user={params['user']}"

    def cut(percent: int, step: str) -> None:
        # The database drops this worker's connection just as it starts saving.
        if step == "Saving":
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    waiting = broker.llen(queue)
    done = organisation_sync(firm=connected_firm.firm, run_id=run.pk, on_progress=cut)

    assert done.state == SyncRun.State.FAILED and done.step == "Interrupted"
    assert done.error.startswith("Our database connection was lost during the sync")
    assert "OperationalError" not in done.error
    with scopes_disabled():
        stored = SyncRun.objects.get(pk=run.pk)
        again = SyncRun.objects.filter(organisation=organisation).exclude(pk=run.pk).get()
    assert stored.state == SyncRun.State.FAILED and stored.error == done.error
    assert again.state == SyncRun.State.QUEUED
    # Its task is on the broker (kombu pushes on the left): taken off again, it names the run.
    assert broker.llen(queue) == waiting + 1
    message = json.loads(broker.lpop(queue))
    assert message["headers"]["task"] == "integrations.xero.tasks.xero_sync_organisation"
    assert message["headers"]["argsrepr"] == repr((connected_firm.firm.pk, again.pk))

    login(client, connected_firm, Role.VIEWER)
    page = text(client.get(screen_url("organisation_detail", connected_firm, organisation)))
    assert "sync queued: waiting for a worker" in page and "OperationalError" not in page
    history = text(
        client.get(screen_url("organisation_detail", connected_firm, organisation, tab="history"))
    )
    assert "Our database connection was lost during the sync" in history
    assert "OperationalError" not in history
    url = reverse("organisation_detail", args=[connected_firm.firm.slug, firm_b.organisation.pk])
    assert client.get(url).status_code == 404


def test_a_forecast_run_whose_worker_died_is_marked_interrupted_and_queued_again(
    firm_a, firm_b, settings, django_capture_on_commit_callbacks
):
    from budgeting.drafts.services import forecast_runs_recover
    from budgeting.models import ForecastRun
    from tests.factories import ForecastRunFactory

    gone = timezone.now() - dt.timedelta(seconds=settings.FORECAST_RUN_STALE_SECONDS + 60)
    dead = ForecastRunFactory(
        organisation=firm_a.organisation,
        source="close",
        state=ForecastRun.State.RUNNING,
        progress=40,
        step="Forecasting lines",
        started_at=gone,
        heartbeat_at=gone,
        created_at=gone,
    )
    lost = ForecastRunFactory(
        organisation=firm_b.organisation,
        source="close",
        step="Queued",
        created_at=timezone.now() - dt.timedelta(seconds=settings.FORECAST_RUN_QUEUED_SECONDS + 60),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert forecast_runs_recover(firm=firm_a.firm) == {"interrupted": 1, "requeued": 1}
        # Firm B's queued run lost its message: sent again under its own id, nothing new made.
        assert forecast_runs_recover(firm=firm_b.firm) == {"interrupted": 0, "requeued": 1}
        # A second round finds nothing more to do for firm A.
        assert forecast_runs_recover(firm=firm_a.firm) == {"interrupted": 0, "requeued": 0}
    assert len(callbacks) == 2
    with scopes_disabled():
        dead.refresh_from_db()
        again = ForecastRun.objects.filter(organisation=firm_a.organisation).exclude(pk=dead.pk)
        assert ForecastRun.objects.filter(organisation=firm_b.organisation).get() == lost
        again = again.get()
    assert dead.state == ForecastRun.State.FAILED and dead.step == "Interrupted"
    assert dead.error.startswith("The forecast stopped at Forecasting lines (40%)")
    assert again.state == ForecastRun.State.QUEUED and again.source == "close"


def test_a_month_close_whose_pipeline_message_was_lost_is_sent_again(firm_a, firm_b, settings):
    from budgeting.models import ForecastRun
    from budgeting.pipeline import pipeline_runs_recover
    from tests.factories import ForecastRunFactory

    long_ago = timezone.now() - dt.timedelta(seconds=settings.FORECAST_RUN_QUEUED_SECONDS + 60)
    for cast in (firm_a, firm_b):
        sync_run(
            cast,
            cast.organisation,
            state=SyncRun.State.SUCCEEDED,
            counts={"closed_up_to": "2026-09-30"},
            started_at=long_ago,
            finished_at=long_ago,
        )
    # Firm B's close was taken up: its forecast run started after the sync ended.
    ForecastRunFactory(
        organisation=firm_b.organisation,
        source="close",
        state=ForecastRun.State.SUCCEEDED,
        created_at=long_ago + dt.timedelta(seconds=5),
        finished_at=long_ago + dt.timedelta(seconds=30),
    )
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    waiting = broker.llen(queue)
    assert pipeline_runs_recover(firm=firm_a.firm) == 1
    assert pipeline_runs_recover(firm=firm_b.firm) == 0
    assert broker.llen(queue) == waiting + 1
    message = json.loads(broker.lpop(queue))
    assert message["headers"]["task"] == "budgeting.tasks.organisation_after_sync_task"
    assert message["headers"]["argsrepr"] == repr((firm_a.firm.pk, firm_a.organisation.pk, True))


@pytest.mark.django_db(transaction=True)
def test_a_forecast_that_loses_the_database_says_so_and_is_queued_again_once(firm_a, firm_b):
    from budgeting.drafts.services import forecast_run_execute, forecast_run_start
    from budgeting.models import Draft, ForecastRun
    from tests.budgeting.draft_data import draft_organisation_create

    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    params = connection.get_connection_params()
    dsn = f"host={params.get('host') or '127.0.0.1'} port={params.get('port') or 5432} dbname={params['dbname']} user={params['user']}"

    def cut(percent: int, step: str) -> None:
        # The database drops this worker's connection as the draft is being saved.
        if step == "Saving":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                (pid,) = cursor.fetchone()
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])

    def run_once(cut_at=cut) -> ForecastRun:
        run = forecast_run_start(
            firm=firm_a.firm, organisation=firm_a.organisation, source="close", enqueue=False
        )
        return forecast_run_execute(firm=firm_a.firm, run_id=run.pk, on_progress=cut_at)

    first = run_once()

    assert first.state == ForecastRun.State.FAILED and first.step == "Interrupted"
    assert first.error.startswith("Our database connection was lost during the forecast")
    assert "OperationalError" not in first.error and "queued again automatically" in first.error
    with scopes_disabled():
        stored = ForecastRun.objects.get(pk=first.pk)
        again = ForecastRun.objects.exclude(pk=first.pk).get()
        assert not Draft.objects.exists()  # nothing half saved
    assert stored.state == ForecastRun.State.FAILED and stored.error == first.error
    assert (
        again.state == ForecastRun.State.QUEUED and again.organisation_id == first.organisation_id
    )

    # The queued one loses the database too: twice in a row waits for a person.
    second = forecast_run_execute(firm=firm_a.firm, run_id=again.pk, on_progress=cut)
    assert second.step == "Interrupted" and "twice in a row" in second.error
    with scopes_disabled():
        assert not ForecastRun.objects.filter(state=ForecastRun.State.QUEUED).exists()
        assert not ForecastRun.objects.filter(firm=firm_b.firm).exists()

    # When the database is back, the run goes through.
    third = run_once(cut_at=None)
    assert third.state == ForecastRun.State.SUCCEEDED and third.draft is not None


class WorkerKilled(BaseException):
    """kill -9 of the worker: nothing after it runs, not even an `except Exception`."""


def test_a_forecast_whose_worker_dies_right_after_saving_its_draft_is_not_run_again(
    firm_a, firm_b, settings
):
    # Found by bench/faults.py: the draft committed, the worker killed before the run was
    # marked done; the recovery took the run for lost and ran it again, making a second draft.
    from budgeting.drafts.services import (
        forecast_run_execute,
        forecast_run_start,
        forecast_runs_recover,
    )
    from budgeting.models import Draft, ForecastRun
    from tests.budgeting.draft_data import draft_organisation_create

    draft_organisation_create(firm=firm_a.firm, organisation=firm_a.organisation)
    run = forecast_run_start(
        firm=firm_a.firm, organisation=firm_a.organisation, source="close", enqueue=False
    )

    def killed_after_saving(percent: int, step: str) -> None:
        if percent == 100:
            raise WorkerKilled

    with pytest.raises(WorkerKilled):
        forecast_run_execute(firm=firm_a.firm, run_id=run.pk, on_progress=killed_after_saving)
    gone = timezone.now() - dt.timedelta(seconds=settings.FORECAST_RUN_STALE_SECONDS + 60)
    with scopes_disabled():
        ForecastRun.objects.filter(pk=run.pk).update(heartbeat_at=gone)

    assert forecast_runs_recover(firm=firm_a.firm) == {"interrupted": 0, "requeued": 0}
    with scopes_disabled():
        stored = ForecastRun.objects.get(pk=run.pk)
        draft = Draft.objects.filter(organisation=firm_a.organisation).get()
        assert ForecastRun.objects.filter(organisation=firm_a.organisation).count() == 1
        assert not Draft.objects.filter(firm=firm_b.firm).exists()
    assert stored.state == ForecastRun.State.SUCCEEDED and stored.draft == draft
    assert stored.progress == 100 and stored.finished_at is not None
