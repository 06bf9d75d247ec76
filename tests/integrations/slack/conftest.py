"""The Slack imitation, in-process, behind the product's Slack client."""

import contextlib
import threading

import httpx
import pytest

from integrations.slack.http import use_transport
from integrations.slack.imitation.app import SlackImitation


@pytest.fixture
def slack(settings):
    imitation = SlackImitation(signing_secret=settings.SLACK_SIGNING_SECRET)
    with use_transport(httpx.WSGITransport(app=imitation)):
        yield imitation


@contextlib.contextmanager
def served(app):
    """The app over real HTTP on a free loopback port, for faults only a socket shows."""
    from integrations.xero.sandbox.server import make_sandbox_server

    server = make_sandbox_server("127.0.0.1", 0, app, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
