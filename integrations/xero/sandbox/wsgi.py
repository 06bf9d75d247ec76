"""Minimal WSGI request/response types and Xero's response envelopes and error shapes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from integrations.xero.sandbox.msdate import ms_date

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

PROVIDER_NAME = "Xero Sandbox"


@dataclass
class Request:
    method: str
    path: str
    # Query parameters in order; a name may repeat. Xero's names are matched case-insensitively.
    query_items: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        # PATH_INFO arrives latin-1 decoded (PEP 3333); Xero's paths are ASCII anyway.
        path = environ.get("PATH_INFO", "") or "/"
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return cls(environ["REQUEST_METHOD"].upper(), path, query, headers, body)

    def param(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.query_items:
            if key.lower() == lowered:
                return value
        return None

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def set_header(self, name: str, value: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def __call__(self, start_response: StartResponse) -> list[bytes]:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        headers = [*self.headers]
        if not any(k.lower() == "content-length" for k, _ in headers):
            headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {reason}", headers)
        return [self.body]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Xero writes money as JSON numbers (spec: type number, x-is-money).
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, default=_json_default, separators=(",", ":")).encode("utf-8")


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(
        status,
        json_bytes(payload),
        [("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
    )


def envelope(now: dt.datetime, key: str, items: Any, **extra: Any) -> dict[str, Any]:
    """Xero wraps every accounting response: Id, Status, ProviderName, DateTimeUTC, then data."""
    return {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_date(now),
        **extra,
        key: items,
    }


def problem(status: int, detail: str) -> Response:
    """Xero's identity-layer errors (401/403) use RFC 7807 problem details, e.g.
    {"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful",...}."""
    title = "Unauthorized" if status == 401 else HTTPStatus(status).phrase
    return json_response(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": str(uuid.uuid4()),
            "Extensions": {},
        },
    )


def unauthorized() -> Response:
    return problem(401, "AuthenticationUnsuccessful")


def forbidden() -> Response:
    return problem(403, "AuthorizationUnsuccessful")


def validation_error(message: str) -> Response:
    """A 400 in Xero's ApiException shape (spec schema Error; ErrorNumber 10 = ValidationException)."""
    return json_response(
        400,
        {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [{"ValidationErrors": [{"Message": message}]}],
        },
    )


def not_found() -> Response:
    # Xero's 404 message; the ErrorNumber/Type pair is the sandbox's reading of Xero's
    # ApiException shape (schema Error), not confirmed against a live 404.
    return json_response(
        404,
        {
            "ErrorNumber": 404,
            "Type": "NotFoundException",
            "Message": "The resource you're looking for cannot be found",
        },
    )


def oauth_error(error: str, status: int = 400) -> Response:
    return json_response(status, {"error": error})


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"), [("Content-Type", "text/html; charset=utf-8")])


def redirect(location: str) -> Response:
    return Response(302, b"", [("Location", location)])
