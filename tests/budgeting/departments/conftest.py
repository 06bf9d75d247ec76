"""Fixtures of the department tests: the draft by department of tests/budgeting/department_data.py."""

from tests.budgeting.department_data import departments  # noqa: F401 - a fixture, used by name
