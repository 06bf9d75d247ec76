"""A running sync's progress is real: the calls made against the calls the organisation's last
sync of the same kind took, written with each step so the screens can poll it."""

import pytest
from django_scopes import scopes_disabled

from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import SyncRun

CAFE = "Harbour Lane Café"


@pytest.mark.django_db
def test_a_sync_reports_its_calls_and_its_share_of_the_last_such_syncs_calls(
    connected_firm, firm_b
):
    firm, organisation = connected_firm.firm, connected_firm.linked[CAFE]

    def start() -> SyncRun:
        return organisation_sync_start(
            firm=firm,
            organisation=organisation,
            trigger="manual",
            kind=SyncRun.Kind.FULL,
            enqueue=False,
        )

    first = organisation_sync(firm=firm, run_id=start().pk)
    assert first.state == SyncRun.State.SUCCEEDED and first.calls_used > 3

    seen = []
    run = start()

    def record(percent: int, step: str) -> None:
        with scopes_disabled():
            stored = SyncRun.objects.get(pk=run.pk)
        seen.append((percent, stored.progress, stored.calls_used, step))

    done = organisation_sync(firm=firm, run_id=run.pk, on_progress=record)

    assert done.state == SyncRun.State.SUCCEEDED
    assert done.calls_used == first.calls_used  # the same organisation, the same calls
    percents = [percent for percent, *_ in seen]
    calls = [c for _, _, c, _ in seen]
    assert percents == sorted(percents) and calls == sorted(calls)
    assert calls[-1] == done.calls_used
    # What the screen polls is what the callback was told, and before saving it is the share
    # of the calls made so far.
    assert all(stored == percent for percent, stored, _, _ in seen)
    before_saving = [(p, c) for p, _, c, step in seen if step != "Saving"]
    assert len(before_saving) > 3
    assert all(p == max(2, min(95, c * 95 // first.calls_used)) for p, c in before_saving)
    assert "Saving" in {step for *_, step in seen} and done.progress == 100
    # Firm B has no run: firm A's progress writes only firm A's row.
    with scopes_disabled():
        assert not SyncRun.objects.filter(firm=firm_b.firm).exists()
