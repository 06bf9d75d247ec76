"""The Slack imitation served over real HTTP on a loopback port, with the product pointed at it
(its Web API, its response URLs), and a firm's Slack turned on against it."""

import contextlib
from collections.abc import Iterator

from integrations.slack.imitation.app import BOT_TOKEN, SlackImitation
from integrations.slack.models import SlackSettings
from tests.served import served


@contextlib.contextmanager
def slack_served(settings) -> Iterator[SlackImitation]:
    """The imitation over HTTP; `settings` is pytest-django's fixture (restored after)."""
    imitation = SlackImitation(signing_secret=settings.SLACK_SIGNING_SECRET)
    with served(imitation) as url:
        imitation.base_url = url
        settings.SLACK_API_URL = f"{url}/api"
        settings.SLACK_URL_PREFIXES = [f"{url}/"]
        yield imitation


def slack_turn_on(
    firm, *, channel: str = "C0APPROVALS", approvals: bool = True, team_id: str = ""
) -> SlackSettings:
    """The firm posts with the imitation's bot token into `channel`."""
    current, _created = SlackSettings.objects.for_firm(firm).get_or_create(firm=firm)
    current.method = SlackSettings.Method.BOT
    current.bot_token = BOT_TOKEN
    current.default_channel = channel
    current.approvals_to_slack = approvals
    current.team_id = team_id
    current.save()
    return current
