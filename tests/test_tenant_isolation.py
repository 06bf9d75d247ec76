"""The cross-firm sweep: every route that names a firm or an object is asked, by a member of firm
A, for firm B's firm or objects, and must answer 404 (403 where the route is not object-scoped).

New routes are swept without editing this file: their URL parameters are filled from
OBJECT_FACTORIES. A route whose parameter has no factory fails the test until one is added, or
the route is listed in EXCLUDED with the reason it is left out.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.models import ApiKey
from tenants.roles import Role
from tests.conftest import FirmCast
from tests.factories import api_key_create

# URL parameter -> how to get firm B's value for it.
OBJECT_FACTORIES: dict[str, Callable[[FirmCast], object]] = {
    "membership_id": lambda cast: cast.member(Role.VIEWER).pk,
    "invitation_id": lambda cast: _invitation(cast).pk,
    "organisation_id": lambda cast: cast.organisation.pk,
    "organisation_public_id": lambda cast: cast.organisation.public_id,
    "api_key_id": lambda cast: api_key_create(firm=cast.firm)[0].pk,
    "connection_id": lambda cast: _xero_connection(cast).pk,
    "account_id": lambda cast: _account(cast).pk,
    # The partner API names a budget by Xero's BudgetID.
    "budget_id": lambda cast: _budget(cast).budget_id,
    # Forecast drafts: a draft, one of its lines, and a forecast run.
    "draft_id": lambda cast: _draft_line(cast).draft_id,
    "line_id": lambda cast: _draft_line(cast).pk,
    "forecast_run_id": lambda cast: _forecast_run(cast).pk,
    "publication_id": lambda cast: _budget_publication(cast).pk,
    # A step of a draft's approval round (the partner API's approve and reject).
    "step_id": lambda cast: _approval_step(cast).pk,
}

# Routes deliberately left out, by route name or by route prefix, with the reason.
EXCLUDED: dict[str, str] = {
    "invitation_accept": "the firm comes from the single-use token, not the URL; "
    "tests/tenants/test_invitations.py covers it",
    "prefix:accounts/": "django-allauth's per-user sign-in routes (tokens and keys); no firm data",
    "prefix:staff/": "Django admin: staff only, unscoped by design",
    "approval_link": "the firm comes from the signed, single-use token, not the URL; "
    "tests/budgeting/test_approvals.py covers it",
    "approval_digest_unsubscribe": "the firm and email come from the signed token, not the URL; "
    "tests/budgeting/test_approval_reminders.py covers it",
}


def _invitation(cast: FirmCast):
    from tenants import services

    invitation, _token = services.invitation_create(
        firm=cast.firm,
        actor=cast.member(Role.OWNER),
        email=f"invitee-{cast.firm.slug}@example.com",
        role=Role.VIEWER,
        send=False,
    )
    return invitation


def _xero_connection(cast: FirmCast):
    import datetime as dt

    from integrations.models import XeroConnection

    return XeroConnection.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        access_token="secret-access",
        refresh_token="secret-refresh",
        access_token_expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
    )


def _account(cast: FirmCast):
    from budgeting.models import Account

    return Account.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        account_id="acc-sweep",
        code="400",
        name="Advertising",
        type="EXPENSE",
        account_class="EXPENSE",
    )


def _budget(cast: FirmCast):
    from budgeting.models import Budget

    return Budget.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        budget_id="b0d9e7a2-0000-4000-8000-00000000b0d9",
        type=Budget.Type.OVERALL,
        description="Overall Budget",
    )


def _draft_line(cast: FirmCast):
    import datetime as dt
    import uuid

    from budgeting.models import Account, Draft, DraftLine

    owned = {"firm": cast.firm, "organisation": cast.organisation}
    account = Account.objects.for_firm(cast.firm).create(
        **owned, account_id=f"acc-draft-{uuid.uuid4()}", name="Rent", type="EXPENSE"
    )
    draft = Draft.objects.for_firm(cast.firm).create(
        **owned,
        horizon=6,
        first_period=dt.date(2026, 11, 1),
        last_actual_period=dt.date(2026, 10, 1),
    )
    return DraftLine.objects.for_firm(cast.firm).create(
        **owned,
        draft=draft,
        account=account,
        section="operating_expenses",
        trigger="forecast",
        trigger_period=dt.date(2026, 10, 1),
        trigger_actual=0,
        trigger_budget=0,
        trigger_variance=0,
        forecast_total=0,
        budget_total=0,
        method="naive",
        confidence=50,
        confidence_label="medium",
        history_months=24,
        inputs_hash="0" * 64,
    )


def _forecast_run(cast: FirmCast):
    from budgeting.models import ForecastRun

    return ForecastRun.objects.for_firm(cast.firm).create(
        firm=cast.firm, organisation=cast.organisation
    )


def _approval_step(cast: FirmCast):
    from budgeting.models import ApprovalRequest, ApprovalStep

    owned = {"firm": cast.firm, "organisation": cast.organisation}
    request = ApprovalRequest.objects.for_firm(cast.firm).create(
        **owned, draft_id=_draft_line(cast).draft_id, revision=1
    )
    return ApprovalStep.objects.for_firm(cast.firm).create(
        **owned, request=request, position=1, name="Manager", roles=["approver"], status="open"
    )


def _budget_publication(cast: FirmCast):
    from budgeting.models import BudgetPublication

    return BudgetPublication.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        xero_budget_id="b0d9e7a2-0000-4000-8000-00000000b0d9",
        budget_name="Overall Budget",
        file_name="import.csv",
        file_content="Account,Jan-2026\r\n",
    )


@dataclass
class Route:
    name: str
    route: str
    params: list[str]


def _walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            # From the whole route, so parameters of an include()'s prefix count too.
            params = re.findall(r"<(?:\w+:)?(\w+)>", route)
            if not params:
                params = list(pattern.pattern.regex.groupindex)
            name = f"{namespace}{pattern.name}" if pattern.name else route
            yield Route(name=name, route=route, params=params)


def _excluded_reason(route: Route) -> str | None:
    if route.name in EXCLUDED:
        return EXCLUDED[route.name]
    for key, reason in EXCLUDED.items():
        if key.startswith("prefix:") and route.route.startswith(key.removeprefix("prefix:")):
            return reason
    return None


# The partner API's key routes take the firm from the key, not the URL: swept with a key below.
KEY_API_PREFIX = "api/v1/"

ALL_ROUTES = list(_walk(get_resolver().url_patterns))
SWEPT = [
    r
    for r in ALL_ROUTES
    if r.params and _excluded_reason(r) is None and not r.route.startswith(KEY_API_PREFIX)
]
KEY_SWEPT = [
    r for r in ALL_ROUTES if r.route.startswith(KEY_API_PREFIX) and _excluded_reason(r) is None
]


def test_every_exclusion_names_a_route_that_exists():
    names = {r.name for r in ALL_ROUTES}
    for key in EXCLUDED:
        if key.startswith("prefix:"):
            prefix = key.removeprefix("prefix:")
            assert any(r.route.startswith(prefix) for r in ALL_ROUTES), f"stale exclusion {key}"
        else:
            assert key in names, f"EXCLUDED names {key!r}, which is no longer a route"


def test_the_sweep_covers_the_firm_routes():
    assert {"firm_dashboard", "membership_change_role", "invitation_revoke"} <= {
        r.name for r in SWEPT
    }
    assert {"firm_api:organisation_list", "firm_api:organisation_detail"} <= {r.name for r in SWEPT}
    assert {"api:organisation_list", "api:organisation_detail"} <= {r.name for r in KEY_SWEPT}
    assert {"api:budget_balance_list", "api:sync_run_list", "firm_api:actual_list"} <= {
        r.name for r in KEY_SWEPT + SWEPT
    }


def _url(route: Route, values: dict[str, object]) -> str:
    url = "/" + route.route
    for param in route.params:
        url = re.sub(rf"<(?:\w+:)?{param}>", str(values[param]), url)
    return url


@pytest.mark.parametrize("route", SWEPT, ids=[r.name for r in SWEPT])
def test_firm_a_member_cannot_reach_firm_b(client, firm_a, firm_b, route):
    missing = [p for p in route.params if p != "firm_slug" and p not in OBJECT_FACTORIES]
    assert not missing, (
        f"Route {route.name} ({route.route}) takes {missing}: add a factory to OBJECT_FACTORIES "
        "or list the route in EXCLUDED with a reason."
    )
    client.force_login(firm_a.member(Role.OWNER).user)
    object_params = [p for p in route.params if p != "firm_slug"]
    values = {p: OBJECT_FACTORIES[p](firm_b) for p in object_params}
    # With objects in the URL, firm A's own slug: the object lookup itself must refuse.
    # With only a firm in the URL, firm B's slug: the membership check must refuse.
    values["firm_slug"] = firm_a.firm.slug if object_params else firm_b.firm.slug
    url = _url(route, values)

    statuses = {}
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        statuses[method] = response.status_code
        assert firm_b.firm.name not in response.content.decode(errors="ignore"), (method, url)
        assert firm_b.organisation.name not in response.content.decode(errors="ignore")
    expected = {404} if object_params else {403, 404}
    assert set(statuses.values()) <= expected | {405}, (url, statuses)
    assert set(statuses.values()) & expected, (url, statuses)


@pytest.mark.parametrize("route", KEY_SWEPT, ids=[r.name for r in KEY_SWEPT])
def test_firm_a_api_key_cannot_reach_firm_b(client, firm_a, firm_b, route):
    """Every /api/v1/ route, asked with firm A's key (every scope) for firm B's objects."""
    missing = [p for p in route.params if p not in OBJECT_FACTORIES]
    assert not missing, (
        f"Route {route.name} ({route.route}) takes {missing}: add a factory to OBJECT_FACTORIES "
        "or list the route in EXCLUDED with a reason."
    )
    _api_key, key = api_key_create(
        firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
    )
    url = _url(route, {p: OBJECT_FACTORIES[p](firm_b) for p in route.params})
    headers = {"Authorization": f"Bearer {key}"}

    statuses = {}
    for method in ("get", "post"):
        response = getattr(client, method)(url, headers=headers)
        statuses[method] = response.status_code
        body = response.content.decode(errors="ignore")
        assert firm_b.firm.name not in body, (method, url)
        assert firm_b.organisation.name not in body, (method, url)
        assert str(firm_b.organisation.public_id) not in body, (method, url)
        assert response.status_code < 500, (method, url, body[:500])
    if route.params:
        assert set(statuses.values()) <= {404, 405}, (url, statuses)
        assert 404 in statuses.values(), (url, statuses)
