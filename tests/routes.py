"""Every route of the app, and for each URL parameter a way to make a firm's own object for it:
the cross-firm sweep (tests/test_tenant_isolation.py) fills them with another firm's objects,
the hostile-input sweep (tests/test_hostile_input.py) with the firm's own and with bad values.

A new route is swept without editing the sweeps: its URL parameters are filled from
OBJECT_FACTORIES. A route whose parameter has no factory fails the sweeps until one is added,
or the route is listed in EXCLUDED with the reason it is left out.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from tenants.roles import Role
from tests.factories import (
    BudgetRateFactory,
    FirmCast,
    ForecastDraftLineFactory,
    api_key_create,
)

# URL parameter -> how to get a firm's value for it.
OBJECT_FACTORIES: dict[str, Callable[[FirmCast], object]] = {
    "membership_id": lambda cast: cast.member(Role.VIEWER).pk,
    "invitation_id": lambda cast: _invitation(cast).pk,
    "organisation_id": lambda cast: cast.organisation.pk,
    "organisation_public_id": lambda cast: cast.organisation.public_id,
    "api_key_id": lambda cast: api_key_create(firm=cast.firm)[0].pk,
    "connection_id": lambda cast: _xero_connection(cast).pk,
    "account_id": lambda cast: _once(cast, "account", lambda: _account(cast)).pk,
    # The partner API names a budget by Xero's BudgetID.
    "budget_id": lambda cast: _once(cast, "budget", lambda: _budget(cast)).budget_id,
    # Forecast drafts: a draft, one of its lines, and a forecast run.
    # The draft has an approval round (its step's), so the approval routes find it too.
    # It is also an annual draft's (with a flag of its line), so the annual routes find it.
    "draft_id": lambda cast: _draft_id(cast),
    "line_id": lambda cast: _draft_line(cast).pk,
    "forecast_run_id": lambda cast: _once(cast, "run", lambda: _forecast_run(cast)).pk,
    "publication_id": lambda cast: _once(cast, "pub", lambda: _budget_publication(cast)).pk,
    # A built report pack (its PDF downloads, it can be sent).
    "pack_id": lambda cast: _once(cast, "pack", lambda: _report_pack(cast)).pk,
    # A scenario, and one of its adjustments.
    "scenario_id": lambda cast: _scenario_adjustment(cast).scenario_id,
    "adjustment_id": lambda cast: _scenario_adjustment(cast).pk,
    # A version of a client's sales pipeline, with one deal.
    "upload_id": lambda cast: _once(cast, "sales_pipeline", lambda: _sales_pipeline(cast)).pk,
    # A department of the draft (its tracking option given to a manager).
    "assignment_id": lambda cast: _once(cast, "assignment", lambda: _assignment(cast)).pk,
    # A flag of an annual draft's line (the draft's own line; the firm's tendency, to apply).
    "flag_id": lambda cast: _annual_flag(cast).pk,
    # A step of a draft's approval round (the partner API's approve and reject).
    "step_id": lambda cast: _approval_step(cast).pk,
    # A message of the firm's Slack outbox (sending it again).
    "message_id": lambda cast: _slack_message(cast).pk,
    # Client groups: a group with the cast's organisation as a member, a rate, a pair.
    "group_id": lambda cast: _group(cast).pk,
    "rate_id": lambda cast: _once(cast, "group_rate", lambda: _group_rate(cast)).pk,
    "mapping_id": lambda cast: _once(cast, "group_pair", lambda: _group_pair(cast)).pk,
    # Alerts: a rule and an alert it raised.
    "rule_id": lambda cast: _once(cast, "alert", lambda: _alert(cast)).rule_id,
    "alert_id": lambda cast: _once(cast, "alert", lambda: _alert(cast)).pk,
    # A budget rate of the organisation (budgeting/currency/).
    "budget_rate_id": lambda cast: _once(cast, "rate", lambda: _budget_rate(cast)).pk,
}

# Routes deliberately left out, by route name or by route prefix, with the reason.
EXCLUDED: dict[str, str] = {
    "invitation_accept": "the firm comes from the single-use token, not the URL; "
    "tests/tenants/test_invitations.py covers it",
    "prefix:accounts/": "django-allauth's per-user sign-in routes (tokens and keys); no firm data",
    "prefix:staff/": "Django admin: staff only, unscoped by design",
    "approval_link": "the firm comes from the signed, single-use token, not the URL; "
    "tests/budgeting/test_approvals.py covers it",
    "department_link": "the firm comes from the signed, expiring token, not the URL; "
    "tests/budgeting/departments/test_departments.py covers it (tampering, expiry, firms)",
    "approval_digest_unsubscribe": "the firm and email come from the signed token, not the URL; "
    "tests/budgeting/test_approval_reminders.py covers it",
    "slack_interactions": "Slack's signed requests; the firm comes from the button's signed "
    "value; tests/budgeting/approvals/test_slack_approvals.py covers it",
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


def _slack_message(cast: FirmCast):
    from integrations.models import SlackMessage

    return SlackMessage.objects.for_firm(cast.firm).create(
        firm=cast.firm, purpose="Sweep", text="Sweep", status=SlackMessage.Status.FAILED
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


def _alert(cast: FirmCast):
    from tests.budgeting.alert_data import alert_create

    return alert_create(cast)


def _budget(cast: FirmCast):
    import uuid

    from budgeting.models import Budget

    # Each firm's budget has its own Xero BudgetID, as real ones do: a shared one would let
    # firm A's own budget answer for firm B's id.
    return Budget.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        budget_id=str(uuid.uuid4()),
        type=Budget.Type.OVERALL,
        description="Overall Budget",
    )


def _once(cast: FirmCast, name: str, make: Callable[[], object]) -> object:
    """One object of each kind per firm cast, so a route's ids of one firm belong together
    (the line is the draft's own, the step is the draft's own)."""
    made = cast.__dict__.setdefault("_sweep_objects", {})
    if name not in made:
        made[name] = make()
    return made[name]


def _draft_line(cast: FirmCast):
    return _once(cast, "draft_line", lambda: _draft_line_create(cast))


def _scenario_adjustment(cast: FirmCast):
    from tests.factories import ScenarioAdjustmentFactory, ScenarioFactory

    def make():
        scenario = ScenarioFactory(organisation=cast.organisation)
        return ScenarioAdjustmentFactory(scenario=scenario, organisation=cast.organisation)

    return _once(cast, "scenario_adjustment", make)


def _group(cast: FirmCast):
    from tests.factories import ClientGroupFactory, ClientGroupMemberFactory

    def make():
        group = ClientGroupFactory(firm=cast.firm)
        ClientGroupMemberFactory(group=group, organisation=cast.organisation)
        return group

    return _once(cast, "group", make)


def _group_rate(cast: FirmCast):
    from tests.factories import GroupTranslationRateFactory

    return GroupTranslationRateFactory(group=_group(cast))


def _group_pair(cast: FirmCast):
    from tests.factories import IntercompanyMappingFactory

    return IntercompanyMappingFactory(group=_group(cast))


def _sales_pipeline(cast: FirmCast):
    from tests.factories import DealFactory, SalesPipelineUploadFactory

    upload = SalesPipelineUploadFactory(organisation=cast.organisation)
    DealFactory(upload=upload, organisation=cast.organisation)
    return upload


def _draft_line_create(cast: FirmCast):
    import datetime as dt
    import uuid

    from budgeting.models import Account, Draft

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
    return ForecastDraftLineFactory(
        **owned,
        draft=draft,
        account=account,
        confidence=50,
    )


def _assignment(cast: FirmCast):
    from tests.factories import DepartmentAssignmentFactory, TrackingOptionFactory

    draft = _approval_step(cast).request.draft
    option = TrackingOptionFactory(organisation=cast.organisation)
    return DepartmentAssignmentFactory(
        organisation=cast.organisation, draft=draft, tracking_option=option
    )


def _forecast_run(cast: FirmCast):
    from budgeting.models import ForecastRun

    return ForecastRun.objects.for_firm(cast.firm).create(
        firm=cast.firm, organisation=cast.organisation
    )


def _draft_id(cast: FirmCast) -> int:
    _annual_flag(cast)
    return _approval_step(cast).request.draft_id


def _annual_flag(cast: FirmCast):
    from decimal import Decimal

    from tests.factories import AnnualDraftFactory, AnnualLineFlagFactory

    def make():
        line = _draft_line(cast)
        annual = AnnualDraftFactory(organisation=cast.organisation, draft=line.draft)
        return AnnualLineFlagFactory(
            organisation=cast.organisation,
            annual=annual,
            line=line,
            kind="tendency",
            reason="Approvers lowered this line's suggestions in 3 of the last 3 drafts.",
            months=[],
            percent=Decimal("-10.0"),
        )

    return _once(cast, "annual_flag", make)


def _approval_step(cast: FirmCast):
    return _once(cast, "approval_step", lambda: _approval_step_create(cast))


def _approval_step_create(cast: FirmCast):
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


def _report_pack(cast: FirmCast):
    import datetime as dt

    from budgeting.models import ReportPack

    return ReportPack.objects.for_firm(cast.firm).create(
        firm=cast.firm,
        organisation=cast.organisation,
        period=dt.date(2026, 10, 1),
        state=ReportPack.State.READY,
        pdf=b"%PDF-1.7\n%%EOF\n",
    )


@dataclass
class Route:
    name: str
    route: str
    params: list[str]


def walk(patterns, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            # From the whole route, so parameters of an include()'s prefix count too.
            params = re.findall(r"<(?:\w+:)?(\w+)>", route)
            if not params:
                params = list(pattern.pattern.regex.groupindex)
            name = f"{namespace}{pattern.name}" if pattern.name else route
            yield Route(name=name, route=route, params=params)


def excluded_reason(route: Route) -> str | None:
    if route.name in EXCLUDED:
        return EXCLUDED[route.name]
    for key, reason in EXCLUDED.items():
        if key.startswith("prefix:") and route.route.startswith(key.removeprefix("prefix:")):
            return reason
    return None


# The partner API's key routes take the firm from the key, not the URL: swept with a key below.
KEY_API_PREFIX = "api/v1/"

ALL_ROUTES = list(walk(get_resolver().url_patterns))


def route_url(route: Route, values: dict[str, object]) -> str:
    url = "/" + route.route
    for param in route.params:
        url = re.sub(rf"<(?:\w+:)?{param}>", str(values[param]), url)
    return url


def _budget_rate(cast: FirmCast):
    return BudgetRateFactory(organisation=cast.organisation)
