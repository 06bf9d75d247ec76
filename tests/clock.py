"""The suite's clock: every test starts at one instant, the real one by default.

`--clock=2028-02-29T22:30` (or TEST_CLOCK in the environment) moves the whole process clock
there for every test; `--clock=random` picks an instant and prints it, so that a failure can be
repeated with the printed option. Each test starts at the same instant and time then runs on
(time-machine's tick), so a test that sleeps or waits still sees time pass, and no test sees the
date change under it because the suite has been running for ten minutes.

The Xero sandbox's data is generated from the same instant (`suite_today`), so the product and
the sandbox agree on what "this month" is whatever the date.
"""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest
import time_machine

ENVIRONMENT = "TEST_CLOCK"

# Dates where month, year and time-zone arithmetic goes wrong first: month ends and starts, a
# leap day, financial year ends (New Zealand's March, Australia's June, the UK's April 5th) and
# the calendar year end.
EDGE_DATES = [
    dt.date(2027, 1, 31),
    dt.date(2027, 2, 1),
    dt.date(2027, 2, 28),
    dt.date(2027, 3, 31),
    dt.date(2027, 4, 1),
    dt.date(2027, 4, 5),
    dt.date(2027, 6, 30),
    dt.date(2027, 7, 1),
    dt.date(2027, 12, 31),
    dt.date(2028, 1, 1),
    dt.date(2028, 2, 29),
    dt.date(2028, 3, 1),
    dt.date(2026, 11, 30),
    dt.date(2026, 12, 1),
]
# UTC times of day: early morning, midday, and late evening when it is already tomorrow in
# Auckland (UTC+12/13) and Sydney (UTC+10/11).
EDGE_TIMES = [dt.time(0, 5), dt.time(10, 30), dt.time(11, 45), dt.time(13, 0), dt.time(22, 30)]


def random_instant(rng: random.Random) -> dt.datetime:
    """Half the time an edge date at an edge time, half the time any moment from 2025 to 2030."""
    if rng.random() < 0.5:
        day, time = rng.choice(EDGE_DATES), rng.choice(EDGE_TIMES)
    else:
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(6 * 365))
        time = dt.time(rng.randrange(24), rng.randrange(60))
    return dt.datetime.combine(day, time, tzinfo=dt.UTC)


def parse_instant(value: str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(dt.UTC)


def pytest_addoption(parser):
    parser.addoption(
        "--clock",
        default=os.environ.get(ENVIRONMENT, ""),
        help="Start every test at this instant (ISO 8601, UTC unless it says otherwise), "
        "or 'random' to pick one and print it. Default: the real time when the run starts.",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "clock(instant): start this test at this instant (ISO 8601, UTC), whatever --clock "
        "says; only for a test whose premise is a date, and the Xero sandbox's data is then "
        "generated from that date too",
    )
    value = config.getoption("--clock")
    if value == "random" and hasattr(config, "workerinput"):
        # A parallel worker: the controller picked the instant and put it in the environment.
        value = os.environ[ENVIRONMENT]
    if value == "random":
        value = random_instant(random.SystemRandom()).isoformat(timespec="minutes")
    if value:
        instant = parse_instant(value)
        # Parallel workers read the controller's choice from the environment.
        os.environ[ENVIRONMENT] = instant.isoformat(timespec="minutes")
    else:
        instant = dt.datetime.now(dt.UTC).replace(microsecond=0)
    config.suite_instant = instant
    config.suite_clock_moved = bool(value)


def _clock_line(config) -> str:
    instant = config.suite_instant
    if config.suite_clock_moved:
        return f"clock moved: every test started at {instant:%Y-%m-%dT%H:%M}Z; repeat with --clock={instant:%Y-%m-%dT%H:%M}"
    return f"clock: real time, every test started at {instant:%Y-%m-%dT%H:%M:%S}Z"


def pytest_report_header(config):
    return _clock_line(config)


def pytest_terminal_summary(terminalreporter, config):
    # Also at the end, where a failure's reader looks (-q hides the header).
    terminalreporter.write_line(_clock_line(config))


@pytest.fixture(scope="session")
def suite_instant(pytestconfig) -> dt.datetime:
    return pytestconfig.suite_instant


@pytest.fixture(scope="session")
def suite_today(suite_instant) -> dt.date:
    """The suite's date in UTC (the project's TIME_ZONE)."""
    return suite_instant.date()


def test_instant(request) -> dt.datetime:
    marker = request.node.get_closest_marker("clock")
    return parse_instant(marker.args[0]) if marker else request.config.suite_instant


@pytest.fixture
def test_today(request) -> dt.date:
    """The date this test starts on: the suite's, or the one its `clock` marker pins."""
    return test_instant(request).date()


@pytest.fixture(autouse=True)
def _suite_clock(request):
    with time_machine.travel(test_instant(request), tick=True):
        yield


def subprocess_command(instant: dt.datetime, *argv: str) -> list[str]:
    """The arguments that run `python argv...` in a child process on the suite's clock."""
    import sys

    return [sys.executable, "-m", "tests.clock_run", instant.isoformat(), *argv]
