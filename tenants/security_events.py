"""The security event log: who signed in or failed to, changed a second factor or a password,
made or revoked an API key, changed a member's role or removed one, connected or disconnected
Xero; when, and from which address (ASVS 7.1.3, 7.1.4, 7.2.1, 7.2.2).

Each event is a SecurityEvent row of the firm it concerns (owners read and export them on the
firm's settings), and one structured log line (JSON, so a newline in a name cannot forge a
line: 7.3.1). A person's own events (sign-in, second factor, password) are recorded in every
firm they belong to. The address is the client's, behind our trusted proxies, as for the rate
limits (tenants/http.py: client_ip).

Services record their events in their own transaction, so a change that rolls back leaves no
event. Services that have no request (they are called from a view) find it here:
SecurityEventRequestMiddleware keeps the request of the moment in a context variable.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from contextvars import ContextVar

from django.db.models import QuerySet
from django.http import HttpRequest
from django_scopes import scopes_disabled

from tenants.http import client_ip
from tenants.models import Firm, Membership, SecurityEvent, User

logger = logging.getLogger("security")

_current_request: ContextVar[HttpRequest | None] = ContextVar("security_request", default=None)

Kind = SecurityEvent.Kind


class SecurityEventRequestMiddleware:
    """Keeps the request being served where security_event_record can find who and from where."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def security_event_record(
    *,
    firm: Firm,
    kind: str,
    actor: User | None = None,
    detail: str = "",
    request: HttpRequest | None = None,
) -> SecurityEvent:
    """Record one event in the firm. Without an actor, the request's signed-in person acts."""
    request = request if request is not None else _current_request.get()
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    event = SecurityEvent(
        firm=firm,
        kind=kind,
        actor=actor,
        actor_email=actor.email if actor else "",
        detail=detail[:300],
        ip=_address(request),
    )
    event.save(force_insert=True)
    logger.info(
        "security event %s",
        json.dumps(
            {
                "event": kind,
                "firm": firm.slug,
                "actor": event.actor_email,
                "ip": event.ip,
                "detail": event.detail,
                "at": event.created_at.isoformat(),
            },
            ensure_ascii=True,
        ),
    )
    return event


def security_event_record_for_user(
    *, user: User, kind: str, detail: str = "", request: HttpRequest | None = None
) -> list[SecurityEvent]:
    """A person's own event, in each firm they belong to (none, if they belong to none)."""
    # Unscoped on purpose: the person's memberships decide the firms, one scoped write each.
    with scopes_disabled():
        firms = [m.firm for m in Membership.objects.select_related("firm").filter(user=user)]
    return [
        security_event_record(firm=firm, kind=kind, actor=user, detail=detail, request=request)
        for firm in firms
    ]


def security_event_list(*, firm: Firm) -> QuerySet[SecurityEvent]:
    return SecurityEvent.objects.for_firm(firm).order_by("-created_at", "-pk")


def _address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None
