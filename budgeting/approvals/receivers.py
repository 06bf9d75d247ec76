"""approvals/ listening to the jobs below it (connected in BudgetingConfig.ready)."""

from django.dispatch import receiver

from budgeting.approvals.services import approval_request_restart_if_changed
from budgeting.drafts.signals import submitted_draft_revised


@receiver(submitted_draft_revised, dispatch_uid="budgeting.approvals.restart_on_revision")
def _approval_restart(sender, *, firm, draft, **kwargs) -> None:
    # Earlier approvals were of other figures: approval starts again at the first step, in the
    # transaction of the change.
    approval_request_restart_if_changed(firm=firm, draft=draft)
