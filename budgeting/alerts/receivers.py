"""Alerts listen to the ledger (a webhook's changed documents are queued for a batched fetch)
and to Slack (Acknowledge and Snooze on an alert's message)."""

from django.dispatch import receiver

from budgeting.alerts.services import document_changes_record
from budgeting.alerts.slack_actions import alert_slack_click
from budgeting.ledger.signals import documents_changed
from integrations.slack.signals import slack_action_clicked


@receiver(documents_changed, dispatch_uid="alerts_documents_changed")
def _documents_changed(sender, *, firm_id, organisation_id, received_at, changes, **kwargs):
    document_changes_record(
        firm_id=firm_id, organisation_id=organisation_id, received_at=received_at, changes=changes
    )


@receiver(slack_action_clicked, dispatch_uid="budgeting.alerts.slack_click")
def _slack_click(sender, *, action_id, value, slack_user_id, team_id, **kwargs):
    return alert_slack_click(
        action_id=action_id, value=value, slack_user_id=slack_user_id, team_id=team_id
    )
