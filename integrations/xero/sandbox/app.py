"""The sandbox WSGI application: identity, the accounting API, rate limits, faults, control API.

Standalone: no Django, no database. All mutable state sits behind locks because the product
calls it from many threads (and over HTTP from many workers).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations.xero.sandbox import accounting
from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.context import ApiContext, Handler
from integrations.xero.sandbox.control import control
from integrations.xero.sandbox.faults import FaultBook
from integrations.xero.sandbox.identity import DEFAULT_CLIENT, IdentityService, OAuthClient
from integrations.xero.sandbox.model import SandboxOrganisation
from integrations.xero.sandbox.ratelimit import RateLimiter, SandboxLimits
from integrations.xero.sandbox.scopes import scope_allows
from integrations.xero.sandbox.webhooks import WebhookSender
from integrations.xero.sandbox.wsgi import (
    Request,
    Response,
    StartResponse,
    forbidden,
    not_found,
    problem,
    unauthorized,
)

API_PREFIX = "/api.xro/2.0/"
DEFAULT_ADMIN_TOKEN = "sandbox-admin"


@dataclass
class SandboxState:
    organisations: list[SandboxOrganisation]
    clients: list[OAuthClient]
    clock: SandboxClock
    limits: SandboxLimits
    admin_token: str = DEFAULT_ADMIN_TOKEN
    # What the sandbox does where Xero's docs are silent (behaviour.py); replaced, never mutated.
    behaviour: Behaviour = field(default_factory=Behaviour)
    # Guards the organisations' data: handlers read under it, the control API writes under it.
    lock: threading.RLock = field(default_factory=threading.RLock)

    def organisation(self, key_or_tenant: str) -> SandboxOrganisation | None:
        wanted = key_or_tenant.lower()
        return next(
            (o for o in self.organisations if wanted in (o.key.lower(), o.organisation_id.lower())),
            None,
        )


class SandboxApp:
    def __init__(self, state: SandboxState, *, webhooks: WebhookSender | None = None) -> None:
        self.state = state
        self.clock = state.clock
        self.identity = IdentityService(
            state.clock, state.organisations, {c.client_id: c for c in state.clients}
        )
        self.limiter = RateLimiter(state.limits, state.clock)
        self.faults = FaultBook()
        self.webhooks = webhooks or WebhookSender(state.clock)
        self._counter_lock = threading.Lock()
        # tenant id -> endpoint -> {"calls": n, "rateLimited": n}
        self._counters: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: {"calls": 0, "rateLimited": 0})
        )

    @property
    def behaviour(self) -> Behaviour:
        return self.state.behaviour

    @behaviour.setter
    def behaviour(self, value: Behaviour) -> None:
        self.state.behaviour = value

    @property
    def minute_window_seconds(self) -> float:
        """Real seconds in the sandbox's rate-limit minute: configure the product's limiter so."""
        return SandboxLimits.minute_window_seconds(self.clock)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self.handle(Request.from_environ(environ))(start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        lowered = path.lower()
        if lowered.startswith("/_sandbox/"):
            return control(self, request)
        if lowered == "/identity/connect/authorize" and request.method in ("GET", "POST"):
            return self.identity.authorize(request)
        if lowered == "/identity/connect/token" and request.method == "POST":
            return self.identity.token(request)
        if lowered == "/identity/connect/revocation" and request.method == "POST":
            return self.identity.revocation(request)
        if lowered == "/connections" and request.method == "GET":
            return self.identity.connections(request)
        if lowered.startswith("/connections/") and request.method == "DELETE":
            return self.identity.delete_connection(request, path.split("/", 2)[2])
        if lowered.startswith(API_PREFIX.lower()):
            return self._accounting(request, path[len(API_PREFIX) :])
        return not_found()

    # --- the accounting pipeline ------------------------------------------------------------------

    def _accounting(self, request: Request, subpath: str) -> Response:
        grant = self.identity.authenticate(request)
        if grant is None:
            return _with_headers(unauthorized(), self.limiter.headers(None))
        tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
        org = next(
            (o for o in self.state.organisations if o.organisation_id.lower() == tenant_id), None
        )
        if org is None or not self.identity.tenant_connected(grant, org.organisation_id):
            return _with_headers(forbidden(), self.limiter.headers(None))
        tenant_id = org.organisation_id
        routed = accounting.route(subpath)
        if routed is None:
            return _with_headers(not_found(), self.limiter.headers(tenant_id))
        endpoint, handler = routed
        if request.method != "GET":
            # The sandbox serves the read side of the API only.
            return _with_headers(
                problem(405, "Only GET is supported by the Xero sandbox"),
                self.limiter.headers(tenant_id),
            )
        if not scope_allows(grant.scopes, endpoint):
            return _with_headers(forbidden(), self.limiter.headers(tenant_id))
        decision = self.limiter.acquire(tenant_id)
        self._count(tenant_id, endpoint, limited=not decision.allowed)
        if not decision.allowed:
            body = problem(429, f"Rate limit exceeded: {decision.problem}")
            return _with_headers(body, decision.headers)
        try:
            response = self._run(request, org, endpoint, handler, grant.grant_id)
        finally:
            self.limiter.release(tenant_id)
        return _with_headers(response, decision.headers)

    def _run(
        self,
        request: Request,
        org: SandboxOrganisation,
        endpoint: str,
        handler: Handler,
        grant_id: str,
    ) -> Response:
        fired = self.faults.draw(org.organisation_id, org.key, endpoint)
        delay = sum(f.delay_ms for f in fired if f.kind == "latency")
        if delay:
            time.sleep(delay / 1000)
        for fault in fired:
            if fault.kind == "revoke_token":
                self.identity.revoke_grant(grant_id)
                return unauthorized()
            if fault.kind == "timeout":
                # Held past the client's timeout, then what a gateway answers.
                time.sleep(fault.delay_ms / 1000)
                return problem(504, "Gateway Timeout")
            if fault.kind == "status":
                return problem(fault.status, "Fault injected by the Xero sandbox")
            if fault.kind == "rate_limit":
                return _with_headers(
                    problem(429, "Rate limit exceeded: minute"),
                    [("Retry-After", str(fault.retry_after)), ("X-Rate-Limit-Problem", "minute")],
                )
        with self.state.lock:
            context = ApiContext(
                org, request, self.clock.now(), self.clock.today(), self.state.behaviour
            )
            response = handler(context)
        for fault in fired:
            if fault.kind == "malformed_json":
                # A stray character after the opening brace: a syntax error a parser must catch.
                response.body = response.body[:1] + b"<" + response.body[1:]
            if fault.kind == "truncated_json":
                response.body = response.body[: len(response.body) // 2]
        return response

    def _count(self, tenant_id: str, endpoint: str, *, limited: bool) -> None:
        with self._counter_lock:
            entry = self._counters[tenant_id][endpoint]
            entry["calls"] += 1
            entry["rateLimited"] += int(limited)

    def counters(self) -> dict[str, dict[str, dict[str, int]]]:
        with self._counter_lock:
            return {t: {e: dict(c) for e, c in eps.items()} for t, eps in self._counters.items()}

    def reset_counters(self) -> None:
        with self._counter_lock:
            self._counters.clear()


def _with_headers(response: Response, headers: list[tuple[str, str]]) -> Response:
    for name, value in headers:
        response.set_header(name, value)
    return response


def create_app(
    *,
    organisations: list[SandboxOrganisation] | None = None,
    seed: int = 7,
    today: dt.date | None = None,
    clock: SandboxClock | None = None,
    limits: SandboxLimits | None = None,
    clients: list[OAuthClient] | None = None,
    admin_token: str = DEFAULT_ADMIN_TOKEN,
    webhook_url: str | None = None,
    webhook_key: str = "sandbox-webhook-key",
    webhook_transport: httpx.BaseTransport | None = None,
    behaviour: Behaviour | None = None,
    extra_organisations: Sequence[str] = (),
) -> SandboxApp:
    """Build a sandbox. Without `organisations`, the generator builds them from `seed` for `today`
    (the five named organisations, then the opt-in ones in `extra_organisations`)."""
    clock = clock or SandboxClock(today=today)
    if today is not None:
        clock.set_today(today)
    if organisations is None:
        from integrations.xero.sandbox.generator import generate_organisations

        organisations = generate_organisations(
            seed=seed, today=clock.today(), extra=extra_organisations
        )
    state = SandboxState(
        organisations=organisations,
        clients=clients or [DEFAULT_CLIENT],
        clock=clock,
        limits=limits or SandboxLimits(),
        admin_token=admin_token,
        behaviour=behaviour or Behaviour(),
    )
    webhooks = WebhookSender(clock, url=webhook_url, key=webhook_key, transport=webhook_transport)
    return SandboxApp(state, webhooks=webhooks)
