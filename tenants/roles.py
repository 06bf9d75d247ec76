"""Roles and what they allow: the one permission mechanism for screens, the API and tasks.

Views declare the action they perform (`@firm_view(Action.MANAGE_MEMBERS)`); the API's permission
class asks the same `role_allows`. Nothing checks a role name anywhere else.
"""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    PREPARER = "preparer", "Preparer"
    APPROVER = "approver", "Approver"
    VIEWER = "viewer", "Viewer"


class Action(StrEnum):
    VIEW = "view"
    MANAGE_FIRM = "manage_firm"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_CLIENTS = "manage_clients"
    CONNECT_XERO = "connect_xero"
    SYNC = "sync"
    PREPARE_DRAFTS = "prepare_drafts"
    APPROVE = "approve"
    MANAGE_POLICIES = "manage_policies"
    MANAGE_API_KEYS = "manage_api_keys"
    # Create and revoke one's own approve keys only (tenants/api_keys.py): approvals through a
    # key stay the approver's own, so nobody can hand approval power to a key for someone else.
    MANAGE_OWN_API_KEYS = "manage_own_api_keys"


_EVERYONE = {Action.VIEW}
_PREPARING = {Action.SYNC, Action.PREPARE_DRAFTS, Action.CONNECT_XERO, Action.MANAGE_CLIENTS}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ADMIN: frozenset(set(Action) - {Action.MANAGE_FIRM}),
    Role.PREPARER: frozenset(_EVERYONE | _PREPARING),
    # Approvers decide; they do not prepare, so segregation of duties holds by default.
    Role.APPROVER: frozenset(_EVERYONE | {Action.APPROVE, Action.MANAGE_OWN_API_KEYS}),
    Role.VIEWER: frozenset(_EVERYONE),
}

# Roles a firm can require to use multi-factor authentication.
MFA_ELIGIBLE_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.APPROVER})


def role_allows(role: str, action: Action) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
