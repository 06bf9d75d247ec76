"""Fixtures of the budgeting tests: the Xero sandbox, for tests that sync a sandbox organisation
first, the approval chain of tests/budgeting/approval_data.py, and the fake chat endpoint of the
narrative provider (tests/budgeting/variance/conftest.py), which draft tests use too."""

from tests.budgeting.approval_data import chain  # noqa: F401 - a fixture, used by name
from tests.budgeting.variance.conftest import chat_endpoint  # noqa: F401 - a fixture, by name
