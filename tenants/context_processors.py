from django.http import HttpRequest

from tenants.roles import ROLE_ACTIONS
from tenants.selectors import membership_list_for_user


def firm_context(request: HttpRequest) -> dict:
    """The firm switcher: the user's firms, and the firm of the current URL if any."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)
    return {
        # What the member may do here, so templates show only the controls that will work.
        "current_permissions": {str(a) for a in ROLE_ACTIONS[membership.role]}
        if membership
        else set(),
        "user_memberships": lambda: membership_list_for_user(user=request.user),
        "current_firm": getattr(request, "firm", None),
        "current_membership": getattr(request, "membership", None),
    }
