"""A mail server that goes down, for the tests of what a failed send leaves behind: Django's test
outbox (locmem) behind a server that refuses the next `failures` sends as SMTP would.

Set as EMAIL_BACKEND by its dotted path, so the product sends through it like through SMTP;
the `flaky_mail` fixture resets it and hands it to the test. Tasks run eagerly in the tests
and propagate a retry as Celery's Retry exception; worker_retries runs what it scheduled.
"""

import smtplib

import pytest
from celery.exceptions import Retry
from django.core.mail.backends import locmem


class FlakyMailServer(locmem.EmailBackend):
    # On the class: Django makes a new backend for every connection.
    failures = 0
    attempts = 0
    # Messages it still takes before the failures begin: a server lost part-way through a send.
    delivered_before_failing = 0

    def send_messages(self, email_messages):
        FlakyMailServer.attempts += 1
        sent = 0
        for message in email_messages:
            if FlakyMailServer.failures > 0 and FlakyMailServer.delivered_before_failing <= 0:
                FlakyMailServer.failures -= 1
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            FlakyMailServer.delivered_before_failing -= 1
            sent += super().send_messages([message])
        return sent


# Named apart from the function, so a test module imports it without shadowing its argument.
@pytest.fixture(name="flaky_mail")
def flaky_mail_fixture(settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyMailServer"
    FlakyMailServer.failures = 0
    FlakyMailServer.attempts = 0
    FlakyMailServer.delivered_before_failing = 0
    yield FlakyMailServer
    FlakyMailServer.failures = 0
    FlakyMailServer.delivered_before_failing = 0


def worker_retries(retry: Retry) -> tuple[list[float], BaseException | None]:
    """Run the retries a task scheduled, one after another, as a worker would when each
    countdown is up (without waiting for it). Returns the countdowns, and what the last attempt
    raised (None when it succeeded)."""
    countdowns: list[float] = []
    raised: BaseException | None = retry
    while isinstance(raised, Retry):
        countdowns.append(raised.when)
        try:
            raised.sig.apply()
            raised = None
        except Exception as exc:
            raised = exc
    return countdowns, raised
