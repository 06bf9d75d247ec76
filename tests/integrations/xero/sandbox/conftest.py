"""The sandbox's own tests: a sandbox of the hand-built organisations, and a connection to it."""

from collections.abc import Iterator

import pytest

from integrations.xero.sandbox.app import SandboxApp
from tests.integrations.xero.sandbox.harness import Connected, connect, make_app


@pytest.fixture
def app() -> SandboxApp:
    return make_app()


@pytest.fixture
def api(app: SandboxApp) -> Iterator[Connected]:
    connected = connect(app)
    yield connected
    connected.client.close()
