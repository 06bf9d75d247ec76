import datetime as dt
import itertools

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from core import clock
from core.csv import csv_filename, csv_response
from tenants import api_keys, security_events, selectors, services
from tenants.forms import (
    ApiKeyForm,
    ClientOrganisationForm,
    FirmCreateForm,
    FirmSettingsForm,
    InvitationForm,
    RoleForm,
)
from tenants.models import Invitation, Membership
from tenants.roles import Action, Role, role_allows
from tenants.scoping import FirmRequest, firm_view, get_firm_object_or_404


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("account_login")
    memberships = selectors.membership_list_for_user(user=request.user)
    if len(memberships) == 1:
        return redirect("firm_dashboard", firm_slug=memberships[0].firm.slug)
    return render(
        request, "tenants/home.html", {"memberships": memberships, "form": FirmCreateForm()}
    )


@login_required
@require_POST
def firm_create(request: HttpRequest) -> HttpResponse:
    form = FirmCreateForm(request.POST)
    if not form.is_valid():
        memberships = selectors.membership_list_for_user(user=request.user)
        return render(
            request, "tenants/home.html", {"memberships": memberships, "form": form}, status=400
        )
    firm = services.firm_create(name=form.cleaned_data["name"], owner=request.user)
    messages.success(request, f"{firm.name} is ready. Add a client or connect Xero next.")
    return redirect("firm_dashboard", firm_slug=firm.slug)


@firm_view(Action.MANAGE_CLIENTS)
def client_organisation_create(request: FirmRequest) -> HttpResponse:
    form = ClientOrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.client_organisation_create(firm=request.firm, **form.cleaned_data)
        messages.success(request, f"Added {organisation.name}.")
        return redirect("firm_dashboard", firm_slug=request.firm.slug)
    return render(request, "tenants/client_organisation_form.html", {"form": form})


@firm_view(Action.VIEW)
def member_list(request: FirmRequest) -> HttpResponse:
    context = {
        "memberships": selectors.membership_list(firm=request.firm),
        "invitations": selectors.invitation_list_pending(firm=request.firm),
        "invitation_form": InvitationForm(),
        "roles": Role.choices,
        "can_manage": role_allows(request.membership.role, Action.MANAGE_MEMBERS),
    }
    return render(request, "tenants/members.html", context)


@firm_view(Action.VIEW)
def member_list_csv(request: FirmRequest) -> HttpResponse:
    """The members, then the invitations still open, as the members screen lists them."""
    header = ["Name", "Email", "Role", "Member since", "Status"]
    rows = [
        [m.user.full_name, m.user.email, m.get_role_display(), m.created_at, "Member"]
        for m in selectors.membership_list(firm=request.firm).order_by("user__email")
    ]
    rows += [
        ["", i.email, i.get_role_display(), i.created_at, "Invited"]
        for i in selectors.invitation_list_pending(firm=request.firm)
    ]
    filename = csv_filename(request.firm.name, "members", clock.today())
    return csv_response(filename=filename, rows=[header, *rows])


@firm_view(Action.MANAGE_MEMBERS)
@require_POST
def invitation_create(request: FirmRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                firm=request.firm, actor=request.membership, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
    else:
        messages.error(request, "Enter a valid email address and role.")
    return redirect("member_list", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_MEMBERS)
@require_POST
def invitation_revoke(request: FirmRequest, invitation_id: int) -> HttpResponse:
    invitation = get_firm_object_or_404(Invitation, firm=request.firm, pk=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.membership)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation to {invitation.email} withdrawn.")
    return redirect("member_list", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_MEMBERS)
@require_POST
# A role decides what someone can approve or publish: changing one asks for the password again
# when the session's last entry of it is older than a few minutes (allauth replays this POST after
# the password is entered), so a session left open on a shared machine cannot hand out rights.
@reauthentication_required
def membership_change_role(request: FirmRequest, membership_id: int) -> HttpResponse:
    membership = get_firm_object_or_404(Membership, firm=request.firm, pk=membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
    else:
        try:
            services.membership_change_role(
                membership=membership, actor=request.membership, role=form.cleaned_data["role"]
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(
                request, f"{membership.user.email} is now {form.cleaned_data['role']}."
            )
    return redirect("member_list", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_MEMBERS)
@require_POST
@reauthentication_required  # as a role change
def membership_remove(request: FirmRequest, membership_id: int) -> HttpResponse:
    membership = get_firm_object_or_404(Membership, firm=request.firm, pk=membership_id)
    try:
        services.membership_remove(membership=membership, actor=request.membership)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"{membership.user.email} was removed from {request.firm.name}.")
    return redirect("member_list", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_FIRM)
def firm_settings(request: FirmRequest) -> HttpResponse:
    firm = request.firm
    form = FirmSettingsForm(
        request.POST or None, initial={"name": firm.name, "require_mfa": firm.require_mfa}
    )
    if request.method == "POST" and form.is_valid():
        services.firm_update_settings(firm=firm, **form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("firm_settings", firm_slug=firm.slug)
    return render(request, "tenants/settings.html", {"form": form})


# The screen shows the latest events; the CSV holds every one.
SECURITY_EVENTS_SHOWN = 200


@firm_view(Action.MANAGE_FIRM)
def security_event_list(request: FirmRequest) -> HttpResponse:
    events = security_events.security_event_list(firm=request.firm)
    return render(
        request,
        "tenants/security_events.html",
        {"events": events[:SECURITY_EVENTS_SHOWN], "shown": SECURITY_EVENTS_SHOWN},
    )


@firm_view(Action.MANAGE_FIRM)
def security_event_list_csv(request: FirmRequest) -> HttpResponse:
    header = ["When", "Event", "Who", "IP address", "Detail"]
    rows = (
        [e.created_at, e.get_kind_display(), e.actor_email, e.ip or "", e.detail]
        for e in security_events.security_event_list(firm=request.firm).iterator()
    )
    filename = csv_filename(request.firm.name, "security-events", clock.today())
    return csv_response(filename=filename, rows=itertools.chain([header], rows), streaming=True)


@login_required
def mfa_required(request: HttpRequest, firm_slug: str) -> HttpResponse:
    # Not wrapped in firm_view: it is where firm_view sends members who lack MFA.
    membership = selectors.membership_for_user(user=request.user, firm_slug=firm_slug)
    firm_name = membership.firm.name if membership else None
    if membership is not None:
        # The firm's navigation stays on the page (its links lead back here until MFA is on).
        request.firm, request.membership = membership.firm, membership
    return render(request, "tenants/mfa_required.html", {"firm_name": firm_name}, status=403)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the invitation; only POST accepts it (mail scanners follow links)."""
    try:
        invitation = services.invitation_for_token(token=token)
        user = request.user if request.user.is_authenticated else None
        services.invitation_check(invitation=invitation, user=user)
    except services.InvitationError as exc:
        return render(request, "tenants/invitation_error.html", {"error": str(exc)}, status=400)
    if request.method == "POST":
        if user is None:
            return redirect(f"/accounts/login/?next={request.path}")
        try:
            membership = services.invitation_accept(token=token, user=user)
        except services.InvitationError as exc:
            return render(request, "tenants/invitation_error.html", {"error": str(exc)}, status=400)
        messages.success(request, f"Welcome to {membership.firm.name}.")
        return redirect("firm_dashboard", firm_slug=membership.firm.slug)
    return render(request, "tenants/invitation.html", {"invitation": invitation, "user": user})


def _api_key_form(request: FirmRequest, members, bound: bool = True) -> ApiKeyForm:
    manages_keys = role_allows(request.membership.role, Action.MANAGE_API_KEYS)
    data = request.POST if bound and request.method == "POST" else None
    return ApiKeyForm(data, members=members, approve_only=not manages_keys)


def _api_key_page(request: FirmRequest, form: ApiKeyForm, new_key=None, status: int = 200):
    context = {
        "api_keys": api_keys.api_key_list(firm=request.firm, actor=request.membership),
        "manages_keys": role_allows(request.membership.role, Action.MANAGE_API_KEYS),
        "form": form,
        "new_key": new_key,
    }
    response = render(request, "tenants/api_keys.html", context, status=status)
    if new_key is not None:
        # The page holds a secret shown only this once: keep it out of every cache.
        patch_cache_control(response, no_store=True, private=True)
    return response


@firm_view(Action.MANAGE_OWN_API_KEYS)
# A key acts for its member for months: making one asks for the password (and second factor)
# again if the member has not entered it in the last few minutes, so a session left open on a
# shared machine cannot mint one (ACCOUNT_REAUTHENTICATION_TIMEOUT).
@reauthentication_required(allow_get=True)
def api_key_list(request: FirmRequest) -> HttpResponse:
    """The firm's API keys, and the form that creates one (GET shows, POST creates). Owners and
    admins manage every key; approvers see, make and revoke only their own approve keys."""
    members = api_keys.api_key_member_choices(firm=request.firm, actor=request.membership)
    form = _api_key_form(request, members)
    if request.method != "POST":
        return _api_key_page(request, form)
    if form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        expires_at = (
            dt.datetime.combine(expires_on, dt.time.max, tzinfo=timezone.get_current_timezone())
            if expires_on
            else None
        )
        try:
            new_key = api_keys.api_key_create(
                firm=request.firm,
                actor=request.membership,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                member=form.cleaned_data.get("member"),
                expires_at=expires_at,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                name = "expires_on" if field == "expires_at" else field
                form.add_error(name if name in form.fields else None, errors)
        else:
            # Shown on this response only (no redirect): the key is never stored unhashed.
            form = _api_key_form(request, members, bound=False)
            return _api_key_page(request, form, new_key=new_key)
    return _api_key_page(request, form, status=400)


@firm_view(Action.MANAGE_OWN_API_KEYS)
def api_key_list_csv(request: FirmRequest) -> HttpResponse:
    """The keys the screen lists to this member (an approver: their own), never a secret: a
    key's start is all the screen shows too."""

    def status(key) -> str:
        if key.revoked_at:
            return "Revoked"
        return "Active" if key.is_active else "Expired"

    header = [
        "Name",
        "Key starts",
        "Scopes",
        "Acts for",
        "Created",
        "Created by",
        "Last used",
        "Expires",
        "Revoked",
        "Status",
    ]
    rows = [
        [
            key.name,
            f"ll_{key.prefix}_",
            ", ".join(key.scopes),
            key.member.user.email if key.member else "",
            key.created_at,
            key.created_by.email if key.created_by else "",
            key.last_used_at,
            key.expires_at,
            key.revoked_at,
            status(key),
        ]
        for key in api_keys.api_key_list(firm=request.firm, actor=request.membership)
    ]
    filename = csv_filename(request.firm.name, "api-keys", clock.today())
    return csv_response(filename=filename, rows=[header, *rows])


@firm_view(Action.MANAGE_OWN_API_KEYS)
@require_POST
def api_key_revoke(request: FirmRequest, api_key_id: int) -> HttpResponse:
    # Someone else's key, for an approver, is as missing as another firm's.
    keys = api_keys.api_key_list(firm=request.firm, actor=request.membership)
    api_key = keys.filter(pk=api_key_id).first()
    if api_key is None:
        raise Http404("No such API key.")
    api_keys.api_key_revoke(api_key=api_key, actor=request.membership)
    messages.success(request, f"Revoked the key “{api_key.name}” ({api_key.prefix}).")
    return redirect("api_key_list", firm_slug=request.firm.slug)
