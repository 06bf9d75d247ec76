"""Forecast drafts waiting for approval, for the approval tests: a draft of two accepted lines,
and a three-step chain (the `chain` fixture, shared through tests/budgeting/conftest.py)."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from budgeting.approvals import services as approvals
from budgeting.models import (
    Account,
    ApprovalRequest,
    ApprovalStep,
    Draft,
    DraftBalance,
)
from tests.factories import ForecastDraftLineFactory

NOV = dt.date(2026, 11, 1)


# --- Data --------------------------------------------------------------------------------------


def _draft(cast, *, prepared_by, change="500.00"):
    """A draft of two accepted lines (Rent, and Plant which the policy may call capex)."""
    firm, owned = cast.firm, {"firm": cast.firm, "organisation": cast.organisation}
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=prepared_by,
        horizon=2,
        first_period=NOV,
        last_actual_period=dt.date(2026, 10, 1),
        currency_code="NZD",
    )
    for code, name in (("469", "Rent"), ("710", "Plant")):
        account = Account.objects.for_firm(firm).create(
            **owned, account_id=f"acc-{code}-{draft.pk}", code=code, name=name, type="EXPENSE"
        )
        line = ForecastDraftLineFactory(
            **owned,
            draft=draft,
            account=account,
            confidence=60,
            accepted=True,
        )
        for period in (NOV, dt.date(2026, 12, 1)):
            DraftBalance.objects.for_firm(firm).create(
                **owned,
                line=line,
                period=period,
                original_amount=Decimal("5000.00"),
                suggested_amount=Decimal("5000.00") + Decimal(change),
                lo_80=0,
                hi_80=0,
                lo_95=0,
                hi_95=0,
            )
    return draft


@pytest.fixture
def chain(firm_a, celery_eager):
    """Prepared by the owner; step 1 the approver role; step 2 the owner role or the admin by
    name; step 3 the client's budget owner, only when a line changes by more than 5,000."""
    cast = firm_a
    owner = cast.member("owner").user
    admin = cast.member("admin").user
    client_owner = approvals.external_approver_register(
        firm=cast.firm,
        organisation=cast.organisation,
        email="Budget.Owner@Client.example",
        name="Bea Owner",
        user=admin,
    )
    policy = approvals.approval_chain_update(
        firm=cast.firm,
        organisation=cast.organisation,
        user=admin,
        steps=[
            {"name": "Manager", "roles": ["approver"]},
            {"name": "Partner", "roles": ["owner"], "member_ids": [admin.pk]},
            {
                "name": "Client",
                "external_approver_ids": [client_owner.pk],
                "condition": "change_above",
                "change_above": "5000",
            },
        ],
    )
    cast.client_owner = client_owner
    cast.policy = policy
    cast.draft = _draft(cast, prepared_by=owner)
    return cast


def _submit(cast, *, by=None, capture=None):
    by = by or cast.draft.created_by
    return approvals.draft_submit(firm=cast.firm, draft=cast.draft, user=by)


def _member(cast, role):
    return approvals.approver_for_member(firm=cast.firm, user=cast.member(role).user)


def _decide(cast, approver, decision="approve", **kwargs):
    return approvals.approval_decide(
        firm=cast.firm,
        draft=cast.draft,
        approver=approver,
        decision=decision,
        channel=kwargs.pop("channel", "screen"),
        **kwargs,
    )


def _pending(cast) -> ApprovalRequest:
    return ApprovalRequest.objects.for_firm(cast.firm).get(draft=cast.draft, status="pending")


def _steps(request):
    return ApprovalStep.objects.for_firm(request.firm).filter(request=request).order_by("position")


def _statuses(request) -> list[str]:
    return list(_steps(request).values_list("status", flat=True))


def _link_token(message) -> str:
    return re.search(r"/approvals/([^/\s]+)/", message.body)[1]
