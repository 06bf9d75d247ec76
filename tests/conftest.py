"""Two firms in every test: whatever firm A's members can do, firm B's data must stay out of."""

import uuid

import pytest

from tenants.roles import Role
from tests.factories import (
    FirmCast,
    FirmFactory,
    client_organisation_create,
    membership_create,
)

# Every test starts at one instant, the real one or the one --clock gives (tests/clock.py);
# the Xero sandbox fixtures (tests/sandbox.py) serve every test folder.
pytest_plugins = ["tests.clock", "tests.sandbox"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first: those marked `slow`, then those that sync a sandbox organisation.

    `make test` hands tests out in this order, one worker at a time (`--dist load`), so the long
    ones start at once on every worker and short ones fill in at the end; started last, a
    one-minute test would leave the other workers idle for that minute. The sort is stable, so
    tests keep their file order otherwise."""

    def weight(item: pytest.Item) -> int:
        if item.get_closest_marker("slow"):
            return 0
        return 1 if "connected_firm" in getattr(item, "fixturenames", ()) else 2

    items.sort(key=weight)


def _cast(name: str, slug: str, organisation_name: str) -> FirmCast:
    firm = FirmFactory(name=name, slug=slug)
    members = {role: membership_create(firm=firm, role=role) for role in Role.values}
    return FirmCast(
        firm=firm,
        members=members,
        organisation=client_organisation_create(firm=firm, name=organisation_name),
    )


@pytest.fixture
def firm_a(db) -> FirmCast:
    return _cast("Alder & Partners", "alder", "Harbour Lane Café")


@pytest.fixture
def firm_b(db) -> FirmCast:
    return _cast("Birch Accounting", "birch", "Kestrel Construction")


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_rate_limits(settings, request):
    # Each test gets its own Xero rate-limit counters: the sandbox is new for every test, and a
    # previous test's calls to the same (deterministic) tenant must not hold this one back. A
    # random part, not the time: every test starts at the same instant (tests/clock.py), and
    # schemathesis's cases share one node id, so they would share one minute's 60 calls.
    settings.XERO_RATE_LIMIT_PREFIX = f"test:{request.node.nodeid}:{uuid.uuid4().hex}"


@pytest.fixture(autouse=True)
def _clear_cache(settings):
    """Login rate limits and TOTP replay guards live in the cache (Redis): start each test clean.

    Only the cache's own keys go: Django's cache.clear() would FLUSHDB, taking the shared Xero
    rate limiter's and Celery's keys with it.
    """
    import redis

    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    connection = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(connection.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        connection.delete(*keys)
    yield


@pytest.fixture
def celery_eager():
    """Run tasks queued with delay() in the calling thread, through Celery's own task machinery.

    For tests inside a transaction, which a worker thread could not see. The tests that run a
    real worker (tests/browser) show the same tasks working through the Redis broker.
    """
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


def pytest_sessionstart(session):
    """Stop at once, saying what to start, when PostgreSQL or Redis is not reachable."""
    import os

    import psycopg
    import redis

    database_url = os.environ["DATABASE_URL"]
    try:
        psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.exit(
            f"PostgreSQL is not reachable at {database_url} ({exc}). Start it, e.g. "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, "
            "or set DATABASE_URL.",
            returncode=3,
        )
    redis_url = os.environ["REDIS_URL"]
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.exit(
            f"Redis is not reachable at {redis_url} ({exc}). Start it, e.g. "
            "`redis-server --daemonize yes --port 6379`, or set REDIS_URL.",
            returncode=3,
        )
