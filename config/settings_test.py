"""Test runs: the one settings module, with test defaults put in the environment first.

The suite runs against the real PostgreSQL and Redis at DATABASE_URL / REDIS_URL (the local
servers by default). Anything already set in the environment wins.
"""

import os

_TEST_ENV = {
    "DEBUG": "0",
    # The test client speaks plain HTTP; production settings keep this on.
    "SECURE": "0",
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789-abcdefghijklmnopqrstuvwxyz",
    "FIELD_ENCRYPTION_KEY": "dGVzdC1vbmx5LWZpZWxkLWVuY3J5cHRpb24ta2V5LTA=",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/budgets",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "STATIC_MANIFEST": "0",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "SITE_URL": "http://testserver",
    "XERO_TRANSPORT": "http",
    # Tests hand the client an in-process sandbox transport; the host is never resolved.
    "XERO_SANDBOX_URL": "http://xero-sandbox.test",
    "XERO_WEBHOOK_KEY": "sandbox-webhook-key",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)

from config.settings import *  # noqa: E402, F403
