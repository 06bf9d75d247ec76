"""Browser tests: headless Chromium (Debian's, not a Playwright download) against pytest-django's
live server, with a real Celery worker thread on the test settings' Redis broker.

Every test here is marked `browser` (its module's pytestmark, and the hook below for any module
that forgets), so `-m browser` runs only them and `-m "not browser"` leaves them out. Chromium
missing is a failure, not a skip: CI installs it (.ci/run), and a skipped end-to-end test would
pass silently.
"""

import os
import uuid
from collections.abc import Callable

import pytest
import redis

# Playwright's sync API runs an event loop in the main thread; the test's own ORM calls (and the
# fixtures') are still synchronous code, which Django would otherwise refuse there.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("BROWSER_TESTS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
# Long enough for a loaded CI machine (a page that posts to the Slack imitation took over 10 s
# with both workers busy), short enough that a missing element fails within the minute.
TIMEOUT_MS = 20_000
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Every test in this directory is a browser test, even in a module that forgets its
    pytestmark: `-m "not browser"` must leave them all out. Run before `-m` selects."""
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. Install it "
            "with `apt-get install chromium` (as .ci/run does), or set BROWSER_TESTS_CHROMIUM.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_for(browser, live_server) -> Callable:
    """page_for(user) gives a page in a context of its own, signed in as `user` through a
    session cookie (no login form, no MFA); page_for(None) is a fresh, signed-out visitor.

    Every page is checked by axe-core (tests/browser/accessibility.py) before each request it
    makes and once more at the end: a serious or critical violation on any of them fails the
    test, as does anything the Content-Security-Policy refused."""
    from django.conf import settings
    from django.test import Client

    from tests.browser.accessibility import axe_check, axe_watch, blocking, describe

    contexts, watches = [], []
    violations: list[str] = []
    inaccessible: list = []

    def make(user=None):
        context = browser.new_context(base_url=live_server.url, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": live_server.url,
                    }
                ]
            )
        contexts.append(context)
        page = context.new_page()
        watches.append(axe_watch(page, inaccessible))
        # Chromium reports what the Content-Security-Policy refused on the console; any such
        # report fails the test (an inline script or style slipped into a template).
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield make
    for watch in watches:
        axe_check(watch)
    for context in contexts:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
    serious = blocking(inaccessible)
    assert not serious, "axe-core found serious or critical violations:\n" + describe(serious)


@pytest.fixture
def celery_worker_thread(transactional_db):
    """A real Celery worker (threads pool) on the Redis broker of the test settings, for the
    test's duration, as `manage.py demo` runs one. It consumes a queue of its own, so a worker
    of another test run on the same Redis never takes this run's tasks (their databases
    differ), and this one never takes theirs."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    queue = f"browser-tests-{uuid.uuid4().hex[:12]}"
    before = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            loglevel="WARNING",
            queues=[queue],
        ) as worker:
            yield worker
    finally:
        app.conf.task_default_queue = before
        # Drop the queue, anything left in it and kombu's bindings of it from the shared Redis:
        # every key naming this run's queue.
        broker = redis.Redis.from_url(app.conf.broker_url)
        keys = list(broker.scan_iter(f"*{queue}*", count=1000))
        if keys:
            broker.delete(*keys)
