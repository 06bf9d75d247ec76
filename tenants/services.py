"""Writes to firms, members, invitations and client organisations."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django_scopes import scopes_disabled

from core.email import email_send
from core.history import history_note
from tenants.models import (
    INVITATION_LIFETIME,
    ClientOrganisation,
    Firm,
    Invitation,
    Membership,
    SecurityEvent,
    User,
)
from tenants.roles import Role
from tenants.security_events import security_event_record


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "firm"
    slug, n = base, 1
    while Firm.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def firm_create(*, name: str, owner: User, slug: str | None = None) -> Firm:
    firm = Firm(name=name.strip(), slug=slug or _unique_slug(name))
    history_note(firm, reason="Firm created")
    firm.save(force_insert=True)
    membership = Membership(firm=firm, user=owner, role=Role.OWNER)
    history_note(membership, reason="Creator of the firm is its first owner")
    membership.save(force_insert=True)
    return firm


def _owner_count(firm: Firm) -> int:
    return Membership.objects.for_firm(firm).filter(role=Role.OWNER).count()


def _check_can_grant(*, actor: Membership, role: str) -> None:
    # Admins manage members, but only owners can make or unmake owners.
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make someone an owner.")


@transaction.atomic
def invitation_create(
    *, firm: Firm, actor: Membership, email: str, role: str, send: bool = True
) -> tuple[Invitation, str]:
    """Invite someone by email. Returns the invitation and its token (only ever in the email)."""
    _check_can_grant(actor=actor, role=role)
    email = email.strip().lower()
    if Membership.objects.for_firm(firm).filter(user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {firm.name}.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        firm=firm,
        email=email,
        role=role,
        token_hash=_token_hash(token),
        invited_by=actor.user,
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    history_note(invitation, reason=f"Invited as {role}")
    invitation.save(force_insert=True)
    if send:
        transaction.on_commit(lambda: _invitation_send(invitation=invitation, token=token))
    return invitation, token


def _invitation_send(*, invitation: Invitation, token: str) -> None:
    context = {
        "invitation": invitation,
        "accept_url": settings.SITE_URL + reverse("invitation_accept", args=[token]),
        "site_name": settings.SITE_NAME,
    }
    email_send(
        template="invitation",
        to=[invitation.email],
        subject=f"You are invited to {invitation.firm.name} on {settings.SITE_NAME}",
        context=context,
    )


class InvitationError(Exception):
    """An invitation that cannot be accepted; the message says why and what to do."""


def invitation_for_token(*, token: str) -> Invitation:
    # The token itself is the scope: it names exactly one invitation of one firm.
    with scopes_disabled():
        invitation = (
            Invitation.objects.select_related("firm").filter(token_hash=_token_hash(token)).first()
        )
    if invitation is None:
        raise InvitationError(
            "This invitation link is not valid. Check that you copied the whole link, "
            "or ask the firm to send a new invitation."
        )
    return invitation


def invitation_check(*, invitation: Invitation, user: User | None) -> None:
    firm_name = invitation.firm.name
    if invitation.accepted_at is not None:
        raise InvitationError(
            f"This invitation to {firm_name} has already been used. "
            "If that was not you, tell the firm's owner."
        )
    if invitation.revoked_at is not None:
        raise InvitationError(f"This invitation to {firm_name} was withdrawn by the firm.")
    if invitation.expires_at <= timezone.now():
        raise InvitationError(
            f"This invitation to {firm_name} has expired. Ask the firm to send a new one."
        )
    if user is not None and user.email.lower() != invitation.email.lower():
        raise InvitationError(
            f"This invitation was sent to {invitation.email}, but you are signed in as "
            f"{user.email}. Sign out and sign in (or sign up) with {invitation.email}."
        )


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    invitation = invitation_for_token(token=token)
    firm = invitation.firm
    # Lock the row so two clicks cannot both accept a single-use invitation.
    invitation = Invitation.objects.for_firm(firm).select_for_update().get(pk=invitation.pk)
    invitation_check(invitation=invitation, user=user)
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    history_note(invitation, reason="Invitation accepted")
    invitation.save()
    membership = Membership.objects.for_firm(firm).filter(user=user).first()
    if membership is None:
        membership = Membership(firm=firm, user=user, role=invitation.role)
        history_note(membership, reason="Joined by invitation")
        membership.save(force_insert=True)
    return membership


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Membership) -> None:
    _check_can_grant(actor=actor, role=invitation.role)
    invitation.revoked_at = timezone.now()
    history_note(invitation, reason=f"Withdrawn by {actor.user.email}")
    invitation.save()


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: Membership, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    _check_can_grant(actor=actor, role=role)
    _check_can_grant(actor=actor, role=membership.role)
    firm = membership.firm
    membership = Membership.objects.for_firm(firm).select_for_update().get(pk=membership.pk)
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(firm) <= 1:
        raise ValidationError("A firm needs at least one owner. Make someone else an owner first.")
    before = membership.get_role_display()
    membership.role = role
    history_note(membership, reason=f"Role changed by {actor.user.email}")
    membership.save()
    if before != membership.get_role_display():
        security_event_record(
            firm=firm,
            kind=SecurityEvent.Kind.MEMBER_ROLE_CHANGED,
            actor=actor.user,
            detail=f"{membership.user.email}: {before} to {membership.get_role_display()}",
        )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    _check_can_grant(actor=actor, role=membership.role)
    if membership.role == Role.OWNER and _owner_count(membership.firm) <= 1:
        raise ValidationError("A firm needs at least one owner. Make someone else an owner first.")
    history_note(membership, reason=f"Removed by {actor.user.email}")
    security_event_record(
        firm=membership.firm,
        kind=SecurityEvent.Kind.MEMBER_REMOVED,
        actor=actor.user,
        detail=f"{membership.user.email} ({membership.get_role_display()})",
    )
    membership.delete()


@transaction.atomic
def firm_update_settings(*, firm: Firm, name: str, require_mfa: bool) -> Firm:
    firm.name = name.strip()
    firm.require_mfa = require_mfa
    history_note(firm, reason="Firm settings changed")
    firm.save()
    return firm


@transaction.atomic
def client_organisation_create(
    *, firm: Firm, name: str, base_currency: str = "NZD"
) -> ClientOrganisation:
    organisation = ClientOrganisation(firm=firm, name=name.strip(), base_currency=base_currency)
    history_note(organisation, reason="Client organisation created")
    organisation.save(force_insert=True)
    return organisation
