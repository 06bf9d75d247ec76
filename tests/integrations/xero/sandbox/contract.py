"""Checking a response against Xero's own OpenAPI schemas (../shared/xero), and for fields
the schemas do not define: the sandbox must send nothing Xero's documentation does not show.

Notes on the spec as written (xero_accounting.yaml 16.1.0):
- money is `type: number` in documents and budgets, but report cells are strings; each is
  validated against the spec as it stands.
- the spec's example for GET /Budgets/{id} shows `Budgets` as an object; the schema says array,
  and the sandbox follows the schema.
- Xero's envelope (Id, Status, ProviderName, DateTimeUTC) and DateString/DueDateString are real
  Xero fields the schemas do not list; they are the only undocumented fields allowed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SHARED = Path(__file__).resolve().parents[4] / ".." / "shared" / "xero"
ACCOUNTING_URI = "urn:xero:accounting"
IDENTITY_URI = "urn:xero:identity"
ENVELOPE = {"Id", "Status", "ProviderName", "DateTimeUTC"}
UNDOCUMENTED_BUT_REAL = {"DateString", "DueDateString"}
API = "/api.xro/2.0"


@functools.cache
def _spec(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((SHARED / name).read_text(encoding="utf-8"), Loader=loader)


@functools.cache
def _registry() -> Registry:
    return Registry().with_resources(
        [
            (ACCOUNTING_URI, Resource.from_contents(_spec("xero_accounting.yaml"), DRAFT7)),
            (IDENTITY_URI, Resource.from_contents(_spec("xero-identity.yaml"), DRAFT7)),
        ]
    )


def validate(instance: Any, schema_name: str, *, uri: str = ACCOUNTING_URI) -> None:
    schema = {"$ref": f"{uri}#/components/schemas/{schema_name}"}
    validator = Draft7Validator(
        schema, registry=_registry(), format_checker=FormatChecker(["uuid"])
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    spec = _spec("xero_accounting.yaml" if uri == ACCOUNTING_URI else "xero-identity.yaml")
    unknown = sorted(_undocumented(instance, spec["components"]["schemas"][schema_name], spec, ""))
    assert not unknown, f"fields not in the spec: {unknown}"


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undocumented(
    instance: Any, schema: dict[str, Any], spec: dict[str, Any], where: str
) -> set[str]:
    """Property names the sandbox sends that the spec's schema does not define."""
    schema = _resolve(schema, spec)
    found: set[str] = set()
    if isinstance(instance, list) and "items" in schema:
        for item in instance:
            found |= _undocumented(item, schema["items"], spec, where + "[]")
    elif isinstance(instance, dict) and "properties" in schema:
        for key, value in instance.items():
            if key in schema["properties"]:
                found |= _undocumented(value, schema["properties"][key], spec, f"{where}.{key}")
            elif not (key in ENVELOPE and not where) and key not in UNDOCUMENTED_BUT_REAL:
                found.add(f"{where}.{key}")
    return found
