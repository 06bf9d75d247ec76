"""Replay recorded Xero exchanges, and record them, so a client's problem can be reproduced.

File format (JSON Lines, one exchange a line):
  {"method": "GET", "path": "/api.xro/2.0/Budgets", "query": {"DateFrom": "2025-01-01"},
   "tenant": "<tenant id>", "status": 200, "headers": {...}, "body": <json or string>}

A request is answered by the first line whose method, path (case-insensitive, as Xero's paths
are) and tenant match and whose query parameters are all present in the request with equal
values (names compared case-insensitively; the request may carry more). Anything else is a 404
in Xero's error shape.

Identity in replay mode: authorize redirects straight back with a code, the token endpoint
accepts any grant and returns a fresh token set, and bearer tokens are not checked, so the
product's OAuth flow runs unchanged. GET /connections is answered from the file if it holds
such a line, otherwise with one connection per tenant seen in the file.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

from integrations.xero.sandbox.wsgi import (
    Request,
    Response,
    StartResponse,
    WSGIApp,
    json_response,
    not_found,
    redirect,
)

# Response headers that describe the transfer, not the exchange; never replayed or recorded.
_TRANSFER_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}
)


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    tenant: str | None
    status: int
    headers: dict[str, str]
    body: Any

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        return cls(
            method=data["method"].upper(),
            path=data["path"],
            query={str(k): str(v) for k, v in (data.get("query") or {}).items()},
            tenant=data.get("tenant"),
            status=int(data["status"]),
            headers=dict(data.get("headers") or {}),
            body=data.get("body"),
        )

    def matches(self, request: Request) -> bool:
        if self.method != request.method or self.path.lower() != request.path.lower():
            return False
        tenant = request.headers.get("xero-tenant-id")
        if (self.tenant or "").lower() != (tenant or "").lower():
            return False
        return all(request.param(name) == value for name, value in self.query.items())

    def response(self) -> Response:
        if isinstance(self.body, str):
            body = self.body.encode("utf-8")
        elif self.body is None:
            body = b""
        else:
            body = json.dumps(self.body).encode("utf-8")
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _TRANSFER_HEADERS]
        if self.body is not None and not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        return Response(self.status, body, headers)


def load_exchanges(path: str | Path) -> list[Exchange]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [Exchange.from_json(json.loads(line)) for line in lines if line.strip()]


class ReplayApp:
    def __init__(self, path: str | Path) -> None:
        self.exchanges = load_exchanges(path)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.handle(Request.from_environ(environ))(start_response)

    def handle(self, request: Request) -> Response:
        lowered = request.path.lower()
        if lowered == "/identity/connect/authorize":
            params = dict(request.query_items)
            query = {"code": secrets.token_urlsafe(16), "scope": params.get("scope", "")}
            if "state" in params:
                query["state"] = params["state"]
            return redirect(f"{params.get('redirect_uri', '/')}?{urlencode(query)}")
        if lowered == "/identity/connect/token":
            scope = dict(request.form()).get("scope", "")
            return json_response(
                200,
                {
                    "access_token": secrets.token_urlsafe(32),
                    "refresh_token": secrets.token_urlsafe(32),
                    "expires_in": 1800,
                    "token_type": "Bearer",
                    "scope": scope,
                },
            )
        if lowered == "/identity/connect/revocation":
            return Response(200)
        found = next((e for e in self.exchanges if e.matches(request)), None)
        if found is not None:
            return found.response()
        if lowered == "/connections" and request.method == "GET":
            return json_response(200, self._connections())
        return not_found()

    def _connections(self) -> list[dict[str, str]]:
        tenants = dict.fromkeys(e.tenant for e in self.exchanges if e.tenant)
        return [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"replay-connection:{tenant}")),
                "tenantId": tenant,
                "tenantType": "ORGANISATION",
                "tenantName": f"Replayed organisation {tenant[:8]}",
                "authEventId": str(uuid.uuid5(uuid.NAMESPACE_URL, "replay-auth-event")),
                "createdDateUtc": "2026-01-01T00:00:00.0000000",
                "updatedDateUtc": "2026-01-01T00:00:00.0000000",
            }
            for tenant in tenants
        ]


class ExchangeWriter:
    """Appends exchanges to a JSON Lines file; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def write(
        self,
        *,
        method: str,
        path: str,
        query: dict[str, str],
        tenant: str | None,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        try:
            parsed: Any = json.loads(body) if body else None
        except ValueError:
            # Keep what the server sent, malformed or not: that may be the problem to reproduce.
            parsed = body.decode("utf-8", errors="replace")
        line = {
            "method": method,
            "path": path,
            "query": query,
            "tenant": tenant,
            "status": status,
            "headers": {k: v for k, v in headers.items() if k.lower() not in _TRANSFER_HEADERS},
            "body": parsed,
        }
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def httpx_hook(self, response: httpx.Response) -> None:
        """An httpx response event hook: `httpx.Client(event_hooks={"response": [writer.httpx_hook]})`.

        Identity calls are skipped, so no token or client secret is ever written.
        """
        request = response.request
        if (
            request.url.path.lower().startswith("/identity/")
            or "/connect/" in request.url.path.lower()
        ):
            return
        response.read()
        self.write(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params),
            tenant=request.headers.get("xero-tenant-id"),
            status=response.status_code,
            headers=dict(response.headers),
            body=response.content,
        )


class RecordingApp:
    """Wraps a WSGI app and records every non-identity exchange to a JSON Lines file."""

    def __init__(self, inner: WSGIApp, path: str | Path) -> None:
        self.inner = inner
        self.writer = ExchangeWriter(path)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = int(status.split(" ", 1)[0]), headers
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        chunks = list(self.inner(environ, capture))
        path = environ.get("PATH_INFO", "")
        if not path.lower().startswith(("/identity/", "/_sandbox/")):
            self.writer.write(
                method=environ["REQUEST_METHOD"],
                path=path,
                query=dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
                tenant=environ.get("HTTP_XERO_TENANT_ID"),
                status=captured["status"],
                headers=dict(captured["headers"]),
                body=b"".join(chunks),
            )
        return chunks
