"""Fixtures of the budgeting tests: the Xero sandbox, for tests that sync a sandbox organisation
first, and the approval chain of tests/budgeting/approval_data.py."""

from tests.budgeting.approval_data import chain  # noqa: F401 - a fixture, used by name
