"""approvals/ listening to the jobs below it (connected in BudgetingConfig.ready)."""

from django.dispatch import receiver

from budgeting.approvals.models import ExternalApprover
from budgeting.approvals.services import approval_request_restart_if_changed
from budgeting.approvals.slack_actions import approval_slack_click
from budgeting.drafts.signals import submitted_draft_revised
from budgeting.variance.signals import narrative_people_wanted
from integrations.slack.signals import slack_action_clicked


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


@receiver(slack_action_clicked, dispatch_uid="budgeting.approvals.slack_click")
def _slack_click(sender, *, action_id, value, slack_user_id, team_id, **kwargs):
    # Approve / Request changes on an approval message: the same confirmation as the email
    # link, for a member allowed to decide; anyone else is told why.
    return approval_slack_click(
        action_id=action_id, value=value, slack_user_id=slack_user_id, team_id=team_id
    )
