"""Celery tasks of the Slack integration. They take ids (the firm's first), call one service,
and are safe to run twice (the message is claimed before it is posted)."""

from celery import shared_task

from tenants.models import Firm


# The service counts attempts and chooses each wait (SLACK_DELIVERY_RETRIES, growing waits, a
# 429's Retry-After); Celery only carries the countdown, so max_retries is left open here.
@shared_task(bind=True, acks_late=True, name="integrations.slack.tasks.slack_message_deliver_task")
def slack_message_deliver_task(self, firm_id: int, message_id: int) -> str:
    from integrations.slack.services import SlackDeliveryRetry, slack_message_deliver

    try:
        return slack_message_deliver(firm=Firm.objects.get(pk=firm_id), message_id=message_id)
    except SlackDeliveryRetry as exc:
        raise self.retry(countdown=exc.countdown, max_retries=None, exc=exc) from exc


@shared_task(acks_late=True, name="integrations.slack.tasks.slack_messages_recover_task")
def slack_messages_recover_task() -> int:
    """Beat, every two minutes: queue again the messages whose task was lost, firm by firm."""
    from integrations.slack.services import slack_messages_recover

    return sum(slack_messages_recover(firm=firm) for firm in Firm.objects.all())
