"""The published OpenAPI schema: valid with no warnings, and the API keeps to it (schemathesis)."""

# The Xero sandbox fixtures are imported below, so test arguments "redefine" them.

import hashlib

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks

from budgeting.models import Budget
from config.wsgi import application
from tenants.models import ApiKey, ClientOrganisation
from tenants.roles import Role
from tests.factories import api_key_create, client_organisation_create

# The Xero sandbox, so the data endpoints have synced rows to answer with.
from tests.sandbox import connect_firm_to_xero, link_all, sync


def test_the_schema_is_valid_and_has_no_warnings(tmp_path):
    # Fails on any drf-spectacular warning: every endpoint must be typed.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "bearerAuth" in (tmp_path / "s.yml").read_text()


# The schema served by the app itself, read in-process through WSGI (no server, no network).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@schema.hook("map_query")
def _few_made_up_cursors(context, query):
    # A cursor is an opaque token from a page's `next` link; any other string is a 400. Leave
    # most out so the other parameters get tried; tests/tenants/test_api.py covers cursors.
    if isinstance(query, dict):
        query.pop("cursor", None)
    return query


# Firm A's synced organisation and its overall budget get these ids, so that requests find
# something half the time.
SCHEMA_TEST_ORGANISATION = "5c4e3a7a-0000-4000-8000-000000000001"
SCHEMA_TEST_BUDGET = "5c4e3a7a-0000-4000-8000-00000000b0d9"
SCHEMA_TEST_XERO_ORGANISATION = "Ashford & Vale Construction"


@schema.hook("flatmap_path_parameters")
def _sometimes_a_real_organisation(context, path_parameters):
    if isinstance(path_parameters, dict) and "organisation_public_id" in path_parameters:
        real = {**path_parameters, "organisation_public_id": SCHEMA_TEST_ORGANISATION}
        if "budget_id" in path_parameters:
            real["budget_id"] = SCHEMA_TEST_BUDGET
        return st.sampled_from([path_parameters, real])
    return st.just(path_parameters)


# Cases are generated before any test runs, so the key they carry is fixed; the fixture below
# gives firm A a key with exactly this value.
SCHEMA_TEST_KEY = "ll_5c4e3a7a_schemathesis-test-key-not-a-secret"


@schema.auth(refresh_interval=None)
class _FirmAKey:
    """Firm A's key on every case, except where schemathesis leaves auth out on purpose."""

    def get(self, case, context):
        return SCHEMA_TEST_KEY

    def set(self, case, key, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}


@pytest.fixture
def firm_a_key(client, firm_a, firm_b, xero_sandbox):
    for n in range(3):
        client_organisation_create(firm=firm_a.firm, name=f"Client {n}")
    # One organisation synced for real from the sandbox: accounts, budgets, actuals, a run.
    connect_firm_to_xero(client, firm_a, xero_sandbox)
    client.logout()
    firm_a.linked = link_all(firm_a, tenant_names=[SCHEMA_TEST_XERO_ORGANISATION])
    sync(firm_a, SCHEMA_TEST_XERO_ORGANISATION)
    synced = firm_a.linked[SCHEMA_TEST_XERO_ORGANISATION]
    api_key, _key = api_key_create(
        firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
    )
    ApiKey.objects.for_firm(firm_a.firm).filter(pk=api_key.pk).update(
        key_hash=hashlib.sha256(SCHEMA_TEST_KEY.encode()).hexdigest()
    )
    ClientOrganisation.objects.for_firm(firm_a.firm).filter(pk=synced.pk).update(
        public_id=SCHEMA_TEST_ORGANISATION
    )
    Budget.objects.for_firm(firm_a.firm).filter(
        organisation=synced, type=Budget.Type.OVERALL
    ).update(budget_id=SCHEMA_TEST_BUDGET)
    # The WSGI handler closes "old" connections at each request; inside the test's transaction
    # that would close it. Django's own test client does the same disconnecting.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield api_key
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    # The same examples on every run, so CI is repeatable; drop it locally to explore others.
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, firm_a_key, settings_throttle_off):
    # Every default check: no 5xx, documented statuses, content types, headers and bodies,
    # bad input rejected, good input accepted, missing auth refused. Except: a made-up cursor
    # is "valid" to the schema (a string) yet rightly refused, so acceptance is not asked then.
    query = case.query or {}
    made_up_cursor = "cursor" in query
    # Likewise two months that are each valid but in the wrong order: rightly refused.
    reversed_months = str(query.get("period_from", "")) > str(query.get("period_to", "9999"))
    # An alert rule's validity depends on the organisation's accounts and the firm's members,
    # and a snooze's on the time now, which no schema can say: a schema-valid rule naming an
    # account of nobody's, or a snooze until last year, is rightly a 400 naming the field; so
    # is a sales pipeline's row whose amount is no number or whose month is out of range.
    # An annual draft's year is judged against the organisation's last close and its drafts
    # (a year with no history, or drafted already, is rightly a 409).
    path = case.operation.path
    judged = case.method == "POST" and path.endswith(
        ("/alert-rules/", "/snooze/", "/sales-pipelines/", "/annual-drafts/")
    )
    refused = made_up_cursor or reversed_months or judged
    excluded = [checks.positive_data_acceptance] if refused else []
    case.call_and_validate(excluded_checks=excluded)


@pytest.fixture
def settings_throttle_off(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
