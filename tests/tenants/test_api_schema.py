"""The published OpenAPI schema: valid with no warnings, and the API keeps to it (schemathesis)."""

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from config.wsgi import application
from tenants.models import ApiKey
from tenants.roles import Role
from tests.factories import api_key_create, client_organisation_create


def test_the_schema_is_valid_and_has_no_warnings(tmp_path):
    # Fails on any drf-spectacular warning: every endpoint must be typed.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yml"))
    assert "bearerAuth" in (tmp_path / "s.yml").read_text()


# The schema served by the app itself, read in-process through WSGI (no server, no network).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@schema.hook("map_query")
def _no_made_up_cursors(context, query):
    # A cursor is an opaque token from a page's `next` link; any other string is rightly a 400,
    # which a schema cannot say. tests/tenants/test_api.py covers cursors.
    if isinstance(query, dict):
        query.pop("cursor", None)
    return query


@pytest.fixture
def api_key_headers(firm_a, firm_b):
    for n in range(3):
        client_organisation_create(firm=firm_a.firm, name=f"Client {n}")
    _api_key, key = api_key_create(
        firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
    )
    # The WSGI handler closes "old" connections at each request; inside the test's transaction
    # that would close it. Django's own test client does the same disconnecting.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"Authorization": f"Bearer {key}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_to_its_schema(case, api_key_headers, settings_throttle_off):
    response = case.call(headers=api_key_headers)
    case.validate_response(response, headers=api_key_headers)


@pytest.fixture
def settings_throttle_off(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
