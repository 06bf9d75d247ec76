"""publishing/ answering the jobs below it (connected in BudgetingConfig.ready)."""

from django.dispatch import receiver

from budgeting.approvals.signals import extra_approval_reasons
from budgeting.publishing.selectors import REPLACE_ORIGINAL_REASON, publishing_setting_get


@receiver(extra_approval_reasons, dispatch_uid="budgeting.publishing.replace_original_step")
def _replace_original_step(sender, *, firm, draft, **kwargs) -> list[str]:
    # Publishing into the original replaces the figures the client's board signed off: with the
    # organisation's "replace the original" on, every draft gets the extra approval step.
    if publishing_setting_get(firm=firm, organisation=draft.organisation).replace_original:
        return [REPLACE_ORIGINAL_REASON]
    return []
