"""A forecast draft prepared by department, for the department tests: two months (November and
December 2026), NZD, the tracking category Department with Kitchen and Bar (and Events, which
the draft has no line for).

- Sales (200): overall 10,000 a month; Kitchen 6,000 and Bar 4,000: they add up.
- Wages (477): overall 5,000 a month; Kitchen 3,000 and Bar 1,500: a gap of 500 a month.
"""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.approvals import services as approvals
from budgeting.models import DraftBalance
from tests.factories import (
    AccountFactory,
    DraftFactory,
    ForecastDraftLineFactory,
    TrackingCategoryFactory,
    TrackingOptionFactory,
)

NOV = dt.date(2026, 11, 1)
DEC = dt.date(2026, 12, 1)

# account code -> overall, Kitchen, Bar (the same each month)
FIGURES = {"200": ("10000", "6000", "4000"), "477": ("5000", "3000", "1500")}


def department_line(cast, draft, account, option, amount: str):
    """A line of the draft (overall when `option` is None) at `amount` in November and December."""
    line = ForecastDraftLineFactory(
        organisation=cast.organisation,
        draft=draft,
        account=account,
        tracking_option=option,
        section="revenue" if account.code == "200" else "operating_expenses",
        accepted=True,
    )
    for period in (NOV, DEC):
        DraftBalance.objects.for_firm(cast.firm).create(
            firm=cast.firm,
            organisation=cast.organisation,
            line=line,
            period=period,
            original_amount=Decimal(amount),
            suggested_amount=Decimal(amount),
            lo_80=0,
            hi_80=0,
            lo_95=0,
            hi_95=0,
        )
    return line


def department_draft_create(cast):
    """The draft, prepared by the firm's preparer; the cast gets `draft`, `kitchen`, `bar`,
    `events`, `sales`, `wages` and `lines` ({(code, option name or None): line})."""
    organisation = cast.organisation
    draft = DraftFactory(
        organisation=organisation,
        created_by=cast.member("preparer").user,
        horizon=2,
        first_period=NOV,
        currency_code="NZD",
    )
    category = TrackingCategoryFactory(organisation=organisation, name="Department")
    options = {
        name: TrackingOptionFactory(organisation=organisation, category=category, name=name)
        for name in ("Kitchen", "Bar", "Events")
    }
    accounts = {
        "200": AccountFactory(organisation=organisation, code="200", name="Sales", type="REVENUE"),
        "477": AccountFactory(organisation=organisation, code="477", name="Wages", type="EXPENSE"),
    }
    lines = {}
    for code, (overall, kitchen, bar) in FIGURES.items():
        account = accounts[code]
        lines[(code, None)] = department_line(cast, draft, account, None, overall)
        lines[(code, "Kitchen")] = department_line(
            cast, draft, account, options["Kitchen"], kitchen
        )
        lines[(code, "Bar")] = department_line(cast, draft, account, options["Bar"], bar)
    cast.draft = draft
    cast.kitchen, cast.bar, cast.events = options["Kitchen"], options["Bar"], options["Events"]
    cast.sales, cast.wages = accounts["200"], accounts["477"]
    cast.lines = lines
    return cast


@pytest.fixture
def departments(firm_a, celery_eager, django_capture_on_commit_callbacks):
    """Firm A's draft by department, with a one-step approval chain (the approver role).
    `cast.committed()` runs what a service queued for after its commit (the link's email)."""
    department_draft_create(firm_a)
    firm_a.committed = lambda: django_capture_on_commit_callbacks(execute=True)
    approvals.approval_chain_update(
        firm=firm_a.firm,
        organisation=firm_a.organisation,
        user=firm_a.member("admin").user,
        steps=[{"name": "Manager", "roles": ["approver"]}],
    )
    return firm_a
