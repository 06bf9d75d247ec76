"""Which firm a request acts on, and whether it may: the API's side of `role_allows`.

Every view declares what each HTTP method does as an `Action` (`firm_actions`); the same
vocabulary the screens use. For a key, the action also needs the matching key scope; for a key
that names a member, and for a signed-in person, their role must allow the action.
"""

from rest_framework import exceptions, permissions

from tenants.models import ApiKey
from tenants.roles import MFA_ELIGIBLE_ROLES, Action, role_allows
from tenants.selectors import membership_for_user, user_has_mfa

# The key scope each action needs. Actions missing here (managing members, keys, the firm's
# settings) cannot be done with a key at all: people do them in the screens.
ACTION_KEY_SCOPES: dict[Action, str] = {
    Action.VIEW: ApiKey.Scope.READ,
    Action.PREPARE_DRAFTS: ApiKey.Scope.WRITE,
    # Alert rules (budgeting/alerts/api.py): a write key of a member allowed to set them.
    Action.MANAGE_POLICIES: ApiKey.Scope.WRITE,
    Action.SYNC: ApiKey.Scope.WRITE,
    Action.APPROVE: ApiKey.Scope.APPROVE,
}


class NotFound(exceptions.NotFound):
    default_detail = "No such firm."


def view_action(view, method: str) -> Action | None:
    actions = getattr(view, "firm_actions", {})
    if method in ("HEAD", "OPTIONS"):
        method = "GET"
    return actions.get(method)


class FirmPermission(permissions.BasePermission):
    """Resolves the firm (from the key, or from the URL for a session) and checks the action.

    Sets `request.firm`, `request.membership` (the acting member, or None for a key that names
    nobody) and `request.api_key` (None for a session). The view then runs inside the firm's
    django-scopes scope (FirmAPIView.initial).
    """

    def has_permission(self, request, view) -> bool:
        action = view_action(view, request.method)
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if api_key is not None:
            firm, membership = self._key_firm(api_key, view, action)
        elif request.user and request.user.is_authenticated:
            firm, membership = self._session_firm(request, view, action)
        else:
            raise exceptions.NotAuthenticated(
                "Send an API key as `Authorization: Bearer <key>`. A firm's owners and admins "
                "create keys under API keys."
            )
        request.firm = firm
        request.membership = membership
        request.api_key = api_key
        # A method the view does not declare falls through to DRF's 405.
        return True

    def _key_firm(self, api_key: ApiKey, view, action: Action | None):
        firm = api_key.firm
        slug = getattr(view, "firm_slug", None)
        if slug is not None and slug != firm.slug:
            # Same answer as for a firm that does not exist.
            raise NotFound()
        member = api_key.member
        self._key_mfa_check(api_key, member)
        if action is None:
            return firm, member
        scope = ACTION_KEY_SCOPES.get(action)
        if scope is None:
            raise exceptions.PermissionDenied(
                "API keys cannot do this; it is done by a signed-in owner or admin.",
                code="not_allowed_for_keys",
            )
        if not api_key.has_scope(scope):
            raise exceptions.PermissionDenied(
                f"This key ({api_key.prefix}) does not have the '{scope}' scope this needs. "
                f"Ask an owner or admin of {firm.name} for a key with it.",
                code="missing_scope",
            )
        if scope == ApiKey.Scope.APPROVE and member is None:
            raise exceptions.PermissionDenied(
                f"This key ({api_key.prefix}) no longer names a member to approve as "
                "(they may have left the firm). Create a new key.",
                code="no_member",
            )
        if scope == ApiKey.Scope.APPROVE and api_key.created_by_id != member.user_id:
            # Segregation of duties: approvals count as the member's only if they made the key
            # themselves (keys made for someone else before that rule stop approving).
            raise exceptions.PermissionDenied(
                f"This key ({api_key.prefix}) was not created by {member.user.email}, whom it "
                "approves as. An approve key must be created by the approver: they can do so "
                "under API keys.",
                code="not_own_approve_key",
            )
        if member is not None and not role_allows(member.role, action):
            raise exceptions.PermissionDenied(
                f"This key acts for {member.user.email}, whose role "
                f"({member.get_role_display()}) cannot do this.",
                code="role_not_allowed",
            )
        return firm, member

    def _key_mfa_check(self, api_key: ApiKey, member) -> None:
        """A firm that requires two-factor authentication refuses the keys of members who have
        not set it up, whether the key acts for them or they made it: a key must not be the
        way around the firm's rule. The key works again once they enrol."""
        firm = api_key.firm
        if not firm.require_mfa:
            return
        people = {m.user_id: m for m in (member,) if m is not None}
        if api_key.created_by_id and api_key.created_by_id not in people:
            creator = membership_for_user(user=api_key.created_by, firm_slug=firm.slug)
            if creator is not None:
                people[creator.user_id] = creator
        for person in people.values():
            if person.role in MFA_ELIGIBLE_ROLES and not user_has_mfa(user=person.user):
                raise exceptions.PermissionDenied(
                    f"{firm.name} requires two-factor authentication, and {person.user.email}, "
                    f"who this key ({api_key.prefix}) acts for or was made by, has not set it up. "
                    "The key works again once they do.",
                    code="mfa_required",
                )

    def _session_firm(self, request, view, action: Action | None):
        slug = getattr(view, "firm_slug", None)
        if slug is None:
            raise exceptions.PermissionDenied(
                "Signed-in requests name their firm in the URL: use /f/<firm_slug>/api/v1/... . "
                "Programs send an API key instead.",
                code="firm_required",
            )
        membership = membership_for_user(user=request.user, firm_slug=slug)
        if membership is None:
            raise NotFound()
        if action is not None and not role_allows(membership.role, action):
            raise exceptions.PermissionDenied(
                f"Your role ({membership.get_role_display()}) cannot do this in "
                f"{membership.firm.name}. Ask an owner or admin.",
                code="role_not_allowed",
            )
        if (
            membership.firm.require_mfa
            and membership.role in MFA_ELIGIBLE_ROLES
            and not user_has_mfa(user=request.user)
        ):
            raise exceptions.PermissionDenied(
                f"{membership.firm.name} requires two-factor authentication for your role. "
                "Set it up, then try again.",
                code="mfa_required",
            )
        return membership.firm, membership
