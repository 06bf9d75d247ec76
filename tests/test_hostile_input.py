"""The hostile-input sweep: every route, asked by a signed-in owner (and by an API key of every
scope on the partner API) with bad values in each URL parameter, each query parameter and each
form field the app reads, answers 2xx, 3xx or 4xx: never a 500.

The names tried are found, not listed: every `request.GET/POST/query_params/data` name in the
code, every field of every form and serializer, every query parameter of the OpenAPI schema.
A new route or field is swept without editing this file. The values are fixed plus a seeded
random few (the seed is printed on failure, so a failure can be replayed)."""

import functools
import html
import importlib
import random
import re
from pathlib import Path

import pytest
from django import forms
from rest_framework import serializers

from tenants.models import ApiKey
from tenants.roles import Role
from tests.factories import api_key_create, reauthenticated_login
from tests.routes import ALL_ROUTES, KEY_API_PREFIX, OBJECT_FACTORIES, route_url

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("budgeting", "tenants", "integrations", "core")

# What a careless client or an attacker sends: empty, signs and overflows, numbers that are not,
# dates that are not, markup and SQL, a NUL byte (PostgreSQL refuses it in text), overlong and
# unicode text, JSON where text is expected, a spreadsheet formula.
HOSTILE = [
    "",
    "-1",
    "99999999999999999999",
    "NaN",
    "1e309",
    "2026-13",
    "'; DROP TABLE tenants_firm; --",
    "\x00",
    "<script>alert(1)</script>",
    "\U0001f642" * 300,
    "[]",
    '=HYPERLINK("http://x.test")',
]

# Seeded, so a run is repeatable; the seed is in every failure's message.
SEED = 20261207


def _random_values(rng: random.Random, count: int) -> list[str]:
    alphabet = "0123456789-.eE+/:%_aZ\u00e9\u4e2d\U0001f4a5 \t\n'\"\\<>&;,{}[]"
    return [
        "".join(rng.choice(alphabet) for _ in range(rng.choice((1, 3, 8, 40, 2000))))
        for _ in range(count)
    ]


@functools.cache
def field_names() -> list[str]:
    names: set[str] = set()
    read = re.compile(
        r"request\.(?:GET|POST|query_params|data)(?:\.get|\.getlist)?\(?\[?\s*[\"'](\w+)[\"']"
    )
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or "sandbox" in path.parts:
                continue
            names |= set(read.findall(path.read_text(encoding="utf-8")))
            if path.name in ("forms.py", "api.py", "serializers.py"):
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                importlib.import_module(module)
    for form in _subclasses(forms.BaseForm):
        if form.__module__.split(".")[0] in PACKAGES:
            names |= set(form.base_fields)
    for serializer in _subclasses(serializers.Serializer):
        if serializer.__module__.split(".")[0] in PACKAGES:
            names |= set(serializer._declared_fields)
    names |= _schema_query_names()
    return sorted(names)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def _schema_query_names() -> set[str]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        parameter["name"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for parameter in operation.get("parameters", [])
        if parameter.get("in") == "query"
    }


# The Django admin is staff-only and Django's own; every other route is swept.
SWEPT = [r for r in ALL_ROUTES if not r.route.startswith("staff/")]
# A placeholder for URL parameters no factory makes (signed tokens, allauth keys): a made-up
# value, which must be refused as one.
PLACEHOLDER = "made-up-token"


def _own_values(route, cast) -> dict[str, object]:
    values = {
        p: OBJECT_FACTORIES[p](cast) if p in OBJECT_FACTORIES else PLACEHOLDER for p in route.params
    }
    values["firm_slug"] = cast.firm.slug
    return values


def _url_variants(route, own: dict[str, object]) -> list[tuple[str, str]]:
    """The route with each object parameter in turn given a bad value its converter lets
    through: an overflowing or negative number for <int:>, any text for <str:>/<path:>."""
    variants = []
    for param in route.params:
        if param == "firm_slug":
            continue
        converter = re.search(rf"<(\w+):{param}>", route.route)
        kind = converter.group(1) if converter else "str"
        if kind == "int":
            bad = ["0", "99999999999999999999"]
        elif kind in ("str", "path"):
            bad = ["x" * 3000, "%00", "..%2F..%2Fetc", "\u00e9\U0001f642"]
        else:  # uuid and slug converters refuse anything else before a view runs
            continue
        for value in bad:
            variants.append((param, route_url(route, {**own, param: value})))
    return variants


def _send(client, method: str, url: str, data: dict, headers: dict):
    if method == "get":
        return client.get(url, data, headers=headers)
    return client.post(url, data, headers=headers)


@pytest.mark.parametrize("route", SWEPT, ids=[r.name for r in SWEPT])
def test_no_hostile_value_reaches_a_500(client, firm_a, firm_b, route):
    rng = random.Random(f"{SEED}:{route.name}")
    values = HOSTILE + _random_values(rng, 3)
    names = field_names()
    own = _own_values(route, firm_a)
    url = route_url(route, own)
    headers = {}
    if route.route.startswith(KEY_API_PREFIX):
        _api_key, key = api_key_create(
            firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
        )
        headers["Authorization"] = f"Bearer {key}"
    else:
        # The password entered again, so views that ask for it (roles, keys) read the input too.
        reauthenticated_login(client, firm_a.member(Role.OWNER).user)

    failures = []
    for index, value in enumerate(values):
        # Every name at once, and every other request as htmx asks (fragment paths).
        data = dict.fromkeys(names, value)
        asked = {**headers, "HX-Request": "true"} if index % 2 else headers
        for method in ("get", "post"):
            response = _send(client, method, url, data, asked)
            if response.status_code >= 500:
                failures.append((method, url, repr(value)[:80], response.status_code))
    for param, bad_url in _url_variants(route, own):
        for method in ("get", "post"):
            response = _send(client, method, bad_url, {}, headers)
            if response.status_code >= 500:
                failures.append((method, bad_url[:120], param, response.status_code))
    assert not failures, f"seed {SEED}, route {route.name}: {failures[:10]}"


def test_the_sweep_reads_the_names_the_app_reads():
    names = set(field_names())
    # From request.GET in views, from forms, from serializers and from the API schema.
    assert {"period", "section", "revision", "reason", "cursor"} <= names
    assert len(names) > 40


def test_a_nul_character_is_a_400_naming_the_field(client, firm_a, firm_b):
    client.force_login(firm_a.member(Role.OWNER).user)
    page = client.get(f"/f/{firm_a.firm.slug}/", {"q": "caf\x00e"})
    assert page.status_code == 400
    assert 'The field "q" contains a NUL character' in html.unescape(page.content.decode())

    _api_key, key = api_key_create(
        firm=firm_a.firm, scopes=ApiKey.Scope.values, member=firm_a.member(Role.OWNER)
    )
    answer = client.get(
        "/api/v1/organisations/", {"cursor": "\x00"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    assert answer.json()["error"]["fields"] == {"cursor": ["NUL characters are not allowed."]}


def test_the_schema_download_ignores_a_version_parameter(client):
    response = client.get("/api/v1/schema/", {"version": "1\nSet-Cookie: x=1"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'inline; filename="Ledgerline Budgets partner API (v1).yaml"'
    )
