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
    "SLACK_TRANSPORT": "http",
    # Tests hand the Slack client an in-process imitation transport; the host is never resolved.
    "SLACK_IMITATION_URL": "http://slack-imitation.test",
    "SLACK_SIGNING_SECRET": "imitation-signing-secret",
}
for _name, _value in _TEST_ENV.items():
    os.environ.setdefault(_name, _value)


def _redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL of one pytest-xdist worker: gw0 keeps the configured db number, gwN takes
    the Nth below it (mod 16), so parallel workers never share a cache, broker or rate limiter.
    (The PostgreSQL test database pytest-django already suffixes per worker: test_budgets_gw0.)"""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url
    db = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(db - index) % 16}"))


# PYTEST_XDIST_WORKER is in a worker's environment before this module runs. The environment
# itself is changed, so child processes (manage.py xero_sync in the tests) use the worker's db;
# they inherit TEST_REDIS_WORKER too, so they do not move it down a second time.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("TEST_REDIS_WORKER") != _WORKER:
    for _name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if os.environ.get(_name):
            os.environ[_name] = _redis_url_for_worker(os.environ[_name], _WORKER)
    os.environ["TEST_REDIS_WORKER"] = _WORKER

from config.settings import *  # noqa: E402, F403
