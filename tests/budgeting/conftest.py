"""The Xero sandbox fixtures, for budgeting tests that sync a sandbox organisation first."""

from tests.integrations.conftest import (  # noqa: F401 - fixtures, used by name
    connected_firm,
    sandbox_today,
    shared_organisations,
    xero_sandbox,
)
