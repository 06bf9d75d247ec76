"""The Slack imitation, in-process, behind the product's Slack client."""

import httpx
import pytest

from integrations.slack.http import use_transport
from integrations.slack.imitation.app import SlackImitation


@pytest.fixture
def slack(settings):
    imitation = SlackImitation(signing_secret=settings.SLACK_SIGNING_SECRET)
    with use_transport(httpx.WSGITransport(app=imitation)):
        yield imitation
