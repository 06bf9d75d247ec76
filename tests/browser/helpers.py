"""Data and waits for the browser tests: a small draft that can be published, and the outbox."""

import datetime as dt
import re
import time
from collections.abc import Callable
from decimal import Decimal

from django.core import mail

from budgeting.approvals import services as approvals
from budgeting.models import Account, Budget, Draft, DraftBalance, DraftLine

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)

# (code, name, original budget per month, suggested Nov and Dec)
LINES = [
    ("400", "Advertising", "3000.00", ("3000.00", "3500.00")),
    ("469", "Rent", "5000.00", ("6000.00", "6000.00")),
]


def publishable_draft(cast, *, prepared_by) -> Draft:
    """A two-month draft of two expense lines, neither accepted yet, against the organisation's
    overall Xero budget (so an approved draft can be published). Nothing else is needed to
    show, edit, approve and publish it."""
    firm, owned = cast.firm, {"firm": cast.firm, "organisation": cast.organisation}
    overall = Budget.objects.for_firm(firm).create(
        **owned, budget_id="bud-overall", type="OVERALL", description="Overall Budget"
    )
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=prepared_by,
        horizon=2,
        first_period=NOV,
        last_actual_period=dt.date(2026, 10, 1),
        currency_code="NZD",
        original_budget=overall,
    )
    for code, name, original, suggested in LINES:
        account = Account.objects.for_firm(firm).create(
            **owned,
            account_id=f"acc-{code}",
            code=code,
            name=name,
            type="EXPENSE",
            account_class="EXPENSE",
        )
        line = DraftLine.objects.for_firm(firm).create(
            **owned,
            draft=draft,
            account=account,
            section="operating_expenses",
            trigger="forecast",
            trigger_period=dt.date(2026, 10, 1),
            trigger_actual=Decimal(original),
            trigger_budget=Decimal(original),
            trigger_variance=0,
            forecast_total=0,
            budget_total=0,
            method="naive",
            confidence=60,
            confidence_label="medium",
            history_months=24,
            inputs_hash="0" * 64,
            accepted=False,
        )
        for period, amount in zip((NOV, DEC), suggested, strict=True):
            DraftBalance.objects.for_firm(firm).create(
                **owned,
                line=line,
                period=period,
                original_amount=Decimal(original),
                suggested_amount=Decimal(amount),
                lo_80=0,
                hi_80=0,
                lo_95=0,
                hi_95=0,
            )
    return draft


def approval_chain(cast, steps: list[dict]):
    return approvals.approval_chain_update(
        firm=cast.firm, organisation=cast.organisation, user=None, steps=steps
    )


def wait_for_mail(predicate: Callable, *, count: int = 1, timeout: float = 15.0) -> list:
    """The outbox messages matching `predicate` once there are `count` of them: the worker
    thread sends them, so they arrive a moment after the request that queued the task."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mail.outbox if predicate(m)]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{len(found)} of {count} emails after {timeout:.0f}s; the outbox holds "
                f"{[(m.to, m.subject) for m in mail.outbox]}"
            )
        time.sleep(0.1)


def wait_for(found: Callable, what: str, *, timeout: float = 15.0):
    """What `found()` returns once it is truthy, polled every 0.1 s: the worker thread does
    its part a moment after the request or call that queued it. Fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = found()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {timeout:.0f}s")
        time.sleep(0.1)


def link_path(message) -> str:
    """The path of the sign-off link in an approval email (the email's host is SITE_URL, not
    the live server's)."""
    return re.search(r"https?://[^/\s]+(/approvals/[^/\s]+/)", message.body)[1]


def fits_width(page) -> bool:
    """Whether the page needs no sideways scrolling at its viewport's width. Waits for the load
    event first: after a form's redirect the new page's text can be there while its stylesheet
    is still arriving, and unstyled, a wide table inside its scroll box widens the page."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
