"""approvals/ listening to the jobs below it (connected in BudgetingConfig.ready)."""

from django.dispatch import receiver

from budgeting.approvals.models import ExternalApprover
from budgeting.approvals.services import approval_request_restart_if_changed
from budgeting.drafts.signals import submitted_draft_revised
from budgeting.variance.signals import narrative_people_wanted


@receiver(submitted_draft_revised, dispatch_uid="budgeting.approvals.restart_on_revision")
def _approval_restart(sender, *, firm, draft, **kwargs) -> None:
    # Earlier approvals were of other figures: approval starts again at the first step, in the
    # transaction of the change.
    approval_request_restart_if_changed(firm=firm, draft=draft)


@receiver(narrative_people_wanted, dispatch_uid="budgeting.approvals.external_approver_names")
def _external_approvers(sender, *, firm, organisation, **kwargs) -> list[tuple[str, str]]:
    # A client's budget owner may be named in its own transactions ("expenses: Bea Owner"):
    # masked like the firm's users before a narrative's facts leave the app.
    return list(
        ExternalApprover.objects.for_firm(firm)
        .filter(organisation=organisation)
        .order_by("email")
        .values_list("name", "email")
    )
