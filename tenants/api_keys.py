"""API keys of the partner API: create (shown once), revoke, authenticate, list.

A key reads `ll_<prefix>_<secret>`. The prefix is public (shown in lists, safe in logs); only the
SHA-256 of the whole key is stored, so a leaked database does not leak usable keys.
"""

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from core.history import history_note
from tenants.models import ApiKey, Firm, Membership, SecurityEvent, User
from tenants.roles import Action, role_allows
from tenants.security_events import security_event_record

KEY_PREFIX = "ll"
# The last-used time is a hint for people tidying keys, not an audit log: one write a minute.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# Writing drafts and approving both need to read what they act on.
_IMPLIED_SCOPES = {
    ApiKey.Scope.WRITE: {ApiKey.Scope.READ},
    ApiKey.Scope.APPROVE: {ApiKey.Scope.READ},
}


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    # The only time the full key exists outside the caller's hands.
    key: str


@transaction.atomic
def api_key_create(
    *,
    firm: Firm,
    actor: Membership,
    name: str,
    scopes: list[str],
    member: Membership | None = None,
    expires_at: dt.datetime | None = None,
) -> NewApiKey:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the key a name that says who or what uses it."})
    unknown = set(scopes) - set(ApiKey.Scope.values)
    if unknown or not scopes:
        raise ValidationError({"scopes": f"Choose scopes from {', '.join(ApiKey.Scope.values)}."})
    chosen = set(scopes)
    for scope in list(chosen):
        chosen |= _IMPLIED_SCOPES.get(scope, set())
    if member is not None and member.firm_id != firm.pk:
        raise ValidationError({"member": "Choose a member of this firm."})
    own_approve_key = ApiKey.Scope.APPROVE in chosen and (member is None or member.pk == actor.pk)
    if not role_allows(actor.role, Action.MANAGE_API_KEYS) and not own_approve_key:
        # Approvers reach the key screen for their own approve keys, and for nothing else.
        raise ValidationError(
            {
                "scopes": "You can create approve keys for yourself only. Ask an owner or "
                "admin for a read or write key."
            }
        )
    if ApiKey.Scope.APPROVE in chosen:
        # Segregation of duties: an approve key approves as the person who made it, never as
        # someone else, or an admin could approve in an approver's name.
        if member is None:
            member = actor
        if member.pk != actor.pk:
            raise ValidationError(
                {
                    "member": "An approve key acts for the person who creates it. "
                    f"{member.user.email} must sign in and create their own."
                }
            )
        if not role_allows(actor.role, Action.APPROVE):
            raise ValidationError(
                {
                    "scopes": f"You are a {actor.get_role_display()}, and that role cannot "
                    "approve, so you cannot create an approve key."
                }
            )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Choose an expiry in the future."})

    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        firm=firm,
        name=name,
        prefix=prefix,
        key_hash=_key_hash(key),
        scopes=[s for s in ApiKey.Scope.values if s in chosen],
        member=member,
        created_by=actor.user,
        expires_at=expires_at,
    )
    history_note(api_key, reason=f"Created by {actor.user.email}")
    api_key.save(force_insert=True)
    security_event_record(
        firm=firm,
        kind=SecurityEvent.Kind.API_KEY_CREATED,
        actor=actor.user,
        detail=_key_described(api_key),
    )
    return NewApiKey(api_key=api_key, key=key)


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: Membership) -> ApiKey:
    if not api_key_list(firm=actor.firm, actor=actor).filter(pk=api_key.pk).exists():
        raise PermissionDenied("You can revoke only the approve keys you made for yourself.")
    if api_key.revoked_at is not None:
        return api_key
    api_key.revoked_at = timezone.now()
    api_key.revoked_by = actor.user
    history_note(api_key, reason=f"Revoked by {actor.user.email}")
    api_key.save()
    security_event_record(
        firm=api_key.firm,
        kind=SecurityEvent.Kind.API_KEY_REVOKED,
        actor=actor.user,
        detail=_key_described(api_key),
    )
    return api_key


def _key_described(api_key: ApiKey) -> str:
    return f"{api_key.name} ({api_key.prefix}, {', '.join(api_key.scopes)})"


class ApiKeyError(Exception):
    """A key that cannot be used; `code` is the API error code, the message says what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def api_key_authenticate(*, key: str) -> tuple[ApiKey, Firm]:
    """The key and its firm, or ApiKeyError. Records the use at most once a minute."""
    # Unscoped on purpose: the key is what decides which firm is in scope.
    with scopes_disabled():
        api_key = (
            ApiKey.objects.select_related("firm", "member__user")
            .filter(key_hash=_key_hash(key))
            .first()
        )
    if api_key is None:
        raise ApiKeyError(
            "invalid_key",
            "This API key is not valid. Check that you sent the whole key, as shown when it "
            "was created.",
        )
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise ApiKeyError(
            "key_revoked",
            f"This API key ({api_key.prefix}) was revoked on "
            f"{api_key.revoked_at:%Y-%m-%d %H:%M} UTC. Ask the firm's owner or admin for a new key.",
        )
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyError(
            "key_expired",
            f"This API key ({api_key.prefix}) expired on {api_key.expires_at:%Y-%m-%d %H:%M} UTC. "
            "Ask the firm's owner or admin for a new key.",
        )
    if api_key.last_used_at is None or api_key.last_used_at < now - LAST_USED_RESOLUTION:
        # A conditional update: concurrent requests write at most once, and no history row.
        ApiKey.objects.for_firm(api_key.firm).filter(pk=api_key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key, api_key.firm


def api_key_list(*, firm: Firm, actor: Membership | None = None) -> QuerySet[ApiKey]:
    """The firm's keys; for an actor who does not manage keys, only the keys they made for
    themselves (their approve keys)."""
    keys = ApiKey.objects.for_firm(firm).select_related("member__user", "created_by")
    if actor is not None and not role_allows(actor.role, Action.MANAGE_API_KEYS):
        keys = keys.filter(member=actor, created_by=actor.user)
    return keys


def api_key_member_choices(*, firm: Firm, actor: Membership) -> QuerySet[Membership]:
    """Whom a new key may act for: anyone (read and write keys) for those who manage keys,
    themselves only otherwise (approve keys are always the creator's own)."""
    members = Membership.objects.for_firm(firm).select_related("user")
    if not role_allows(actor.role, Action.MANAGE_API_KEYS):
        members = members.filter(pk=actor.pk)
    return members


def api_key_acting_user(*, api_key: ApiKey) -> User | None:
    """The person a key acts for, if it names one (history rows record them)."""
    return api_key.member.user if api_key.member_id else None
