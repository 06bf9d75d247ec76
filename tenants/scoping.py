"""Fail-closed tenancy for requests.

The firm comes from the URL (`/f/<firm_slug>/...`) and the signed-in user's membership of it,
never from the session. A view declares the action it performs; the decorator resolves the firm,
checks the role allows the action, and runs the view inside the firm's query scope, so every
firm-owned queryset is filtered to that firm and a query outside any scope raises.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_scopes import scope

from tenants.models import ClientOrganisation, Firm, Membership
from tenants.roles import MFA_ELIGIBLE_ROLES, Action, role_allows
from tenants.selectors import membership_for_user, user_has_mfa

M = TypeVar("M", bound=models.Model)


class FirmRequest(HttpRequest):
    firm: Firm
    membership: Membership


def firm_view(action: Action) -> Callable:
    """Decorate a view under /f/<firm_slug>/ that performs `action`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, firm_slug: str, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = membership_for_user(user=request.user, firm_slug=firm_slug)
            if membership is None:
                # Same answer for "no such firm" and "not your firm".
                raise Http404("No such firm.")
            if not role_allows(membership.role, action):
                raise PermissionDenied(
                    f"Your role ({membership.get_role_display()}) cannot do this in "
                    f"{membership.firm.name}. Ask an owner or admin."
                )
            if (
                membership.firm.require_mfa
                and membership.role in MFA_ELIGIBLE_ROLES
                and not user_has_mfa(user=request.user)
            ):
                return redirect("mfa_required", firm_slug=firm_slug)
            request.firm = membership.firm
            request.membership = membership
            with scope(firm=membership.firm):
                return view(request, *args, **kwargs)

        wrapper.firm_action = action  # read by the tenant isolation sweep
        return wrapper

    return decorator


def get_firm_object_or_404(model: type[M], *, firm: Firm, **lookup) -> M:
    """Fetch a firm-owned object; 404 alike for "missing" and "another firm's"."""
    try:
        return model.objects.for_firm(firm).get(**lookup)
    except (model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No such {model._meta.verbose_name}.") from exc


def client_organisation_get_or_404(
    *, firm: Firm, organisation_id: object, select_related: tuple[str, ...] = ()
) -> ClientOrganisation:
    """The firm's (not archived) client organisation: the one lookup every screen of a client
    uses; 404 alike for "missing", "archived" and "another firm's"."""
    organisations = ClientOrganisation.objects.for_firm(firm).select_related(*select_related)
    try:
        return organisations.get(pk=organisation_id, archived_at__isnull=True)
    except (ClientOrganisation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such client organisation.") from exc
