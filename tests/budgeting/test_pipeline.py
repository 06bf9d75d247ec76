"""The post-close pipeline: a sync that sees a month close leads to variances and a draft."""

from budgeting.drafts.services import forecast_run_execute
from budgeting.ledger import tasks
from budgeting.models import Draft, DraftLine, ForecastRun, SyncRun, VarianceSummary
from tests.sandbox import sync

SAAS = "Tidepool Software"


def test_after_a_sync_that_sees_a_close_variances_are_explained_and_a_draft_is_made(
    connected_firm, django_capture_on_commit_callbacks, monkeypatch
):
    firm = connected_firm.firm
    organisation = connected_firm.linked[SAAS]
    run = sync(connected_firm, SAAS)
    assert "closed_up_to" in run.counts  # the first sync sees the lock date arrive

    # The sync task hands over to the analysis task, which runs the pipeline.
    from budgeting import pipeline as budgeting_tasks

    handed_over = []
    monkeypatch.setattr(
        budgeting_tasks.organisation_after_sync_task,
        "delay",
        lambda *args: handed_over.append(args),
    )
    second = SyncRun.objects.for_firm(firm).create(
        firm=firm, organisation=organisation, kind=SyncRun.Kind.INCREMENTAL
    )
    assert tasks.xero_sync_organisation(firm.pk, second.pk) == SyncRun.State.SUCCEEDED
    assert handed_over == [(firm.pk, organisation.pk, False)]  # nothing new was closed

    with django_capture_on_commit_callbacks() as queued:
        budgeting_tasks.organisation_after_sync_task(firm.pk, organisation.pk, True)
    # The forecast run goes to Celery, then the closed month's report pack (which waits for it).
    assert len(queued) == 2
    summary = VarianceSummary.objects.for_firm(firm).get(organisation=organisation)
    assert summary.material_count > 0

    forecast = ForecastRun.objects.for_firm(firm).get(organisation=organisation)
    assert forecast_run_execute(firm=firm, run_id=forecast.pk).state == ForecastRun.State.SUCCEEDED
    draft = Draft.objects.for_firm(firm).get(organisation=organisation)
    assert draft.source == Draft.Source.CLOSE
    assert DraftLine.objects.for_firm(firm).filter(draft=draft).exists()


def test_a_close_seen_by_a_sync_lost_after_saving_is_seen_again_by_the_next(connected_firm):
    # Found by bench/faults.py: kill -9 at "Saving" after the profile's new lock date was
    # saved; the sync that took over saw no change, so no pipeline ran and no draft was made.
    firm = connected_firm.firm
    lost = sync(connected_firm, SAAS)
    assert "closed_up_to" in lost.counts
    SyncRun.objects.for_firm(firm).filter(pk=lost.pk).update(
        state=SyncRun.State.FAILED, step="Interrupted"
    )

    again = sync(connected_firm, SAAS)
    assert again.state == SyncRun.State.SUCCEEDED
    assert again.counts["closed_up_to"] == lost.counts["closed_up_to"]
    # Once one sync succeeded with it, the close is not new any more.
    assert "closed_up_to" not in sync(connected_firm, SAAS).counts
    assert not SyncRun.objects.exclude(firm=firm).exists()
