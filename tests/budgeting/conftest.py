"""Fixtures of the budgeting tests: the approval chain of tests/budgeting/approval_data.py, and
the fake chat endpoint of the narrative provider (tests/fake_chat.py), which the variance and
draft tests use."""

from collections.abc import Iterator

import pytest

from tests.budgeting.approval_data import chain  # noqa: F401 - a fixture, used by name
from tests.fake_chat import FakeChatEndpoint, chat_endpoint_serve


@pytest.fixture
def chat_endpoint(settings) -> Iterator[FakeChatEndpoint]:
    # The fake endpoint listens on loopback, which the outbound guard refuses unless the
    # operator allows it (core/outbound.py); its own tests show the refusal.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    yield from chat_endpoint_serve()
