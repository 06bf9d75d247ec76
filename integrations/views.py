import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.http.request import validate_host
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.forms import NEW, SKIP, TenantLinkForm
from integrations.models import XeroConnection, XeroTenant
from integrations.xero import oauth, webhooks
from integrations.xero.errors import XeroError
from tenants.models import ClientOrganisation, Firm
from tenants.roles import Action, role_allows
from tenants.scoping import FirmRequest, firm_view, get_firm_object_or_404
from tenants.selectors import client_organisation_list, membership_for_user

logger = logging.getLogger(__name__)
_NONCES = "xero_oauth_nonces"


@firm_view(Action.CONNECT_XERO)
@require_POST
def xero_connect(request: FirmRequest) -> HttpResponse:
    url, nonce = oauth.xero_authorize_url(
        firm=request.firm, user=request.user, origin=_origin(request)
    )
    # The session keeps only the CSRF nonce; the firm travels in the signed state.
    request.session[_NONCES] = [*request.session.get(_NONCES, [])[-4:], nonce]
    return redirect(url)


def _origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _elsewhere(request: HttpRequest, origin: str) -> str | None:
    """The callback's URL on the host the user started on, when that is not this one: Xero
    answers at SITE_URL (its one registered callback), but the session holding the sign-in
    and the nonce is the origin's. Only a host of ours (ALLOWED_HOSTS), from the signed state."""
    parts = urlsplit(origin)
    if not origin or origin == _origin(request) or parts.scheme not in ("http", "https"):
        return None
    if not validate_host(parts.netloc.lower(), settings.ALLOWED_HOSTS):
        return None
    return f"{parts.scheme}://{parts.netloc}{request.get_full_path()}"


def xero_callback(request: HttpRequest) -> HttpResponse:
    try:
        state = oauth.xero_state_read(state=request.GET.get("state", ""))
    except XeroError as exc:
        messages.error(request, str(exc))
        return redirect("home")
    bounce = _elsewhere(request, state.origin)
    if bounce is not None:
        return redirect(bounce)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    nonces = request.session.get(_NONCES, [])
    if state.user_id != request.user.pk or state.nonce not in nonces:
        messages.error(
            request, "This Xero reply was for another sign-in. Start Connect Xero again."
        )
        return redirect("home")
    request.session[_NONCES] = [n for n in nonces if n != state.nonce]
    firm = Firm.objects.filter(pk=state.firm_id).first()
    membership = membership_for_user(user=request.user, firm_slug=firm.slug) if firm else None
    if membership is None or not role_allows(membership.role, Action.CONNECT_XERO):
        raise Http404("No such firm.")

    error = request.GET.get("error")
    if error:
        if error == "access_denied":
            messages.info(request, "Xero connection cancelled; nothing was changed.")
        else:
            messages.error(request, f"Xero did not connect ({error}). Try Connect Xero again.")
        return redirect("firm_dashboard", firm_slug=firm.slug)
    try:
        connection = oauth.xero_connection_create_from_code(
            firm=firm, user=request.user, code=request.GET.get("code", "")
        )
    except XeroError as exc:
        messages.error(request, f"Xero did not connect: {exc}. Try Connect Xero again.")
        return redirect("firm_dashboard", firm_slug=firm.slug)
    return redirect("xero_connection_link", firm_slug=firm.slug, connection_id=connection.pk)


@firm_view(Action.CONNECT_XERO)
def xero_connection_link(request: FirmRequest, connection_id: int) -> HttpResponse:
    connection = get_firm_object_or_404(XeroConnection, firm=request.firm, pk=connection_id)
    tenants = XeroTenant.objects.for_firm(request.firm).filter(
        connection=connection, status=XeroTenant.Status.CONNECTED
    )
    organisations = list(client_organisation_list(firm=request.firm))
    form = TenantLinkForm(request.POST or None, tenants=tenants, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        linked = 0
        for tenant, choice in form.links():
            if choice == SKIP:
                continue
            organisation = (
                None
                if choice == NEW
                else get_firm_object_or_404(ClientOrganisation, firm=request.firm, pk=choice)
            )
            oauth.xero_tenant_link(tenant=tenant, client_organisation=organisation)
            linked += 1
        messages.success(request, f"Linked {linked} Xero organisation{'s' if linked != 1 else ''}.")
        return redirect("firm_dashboard", firm_slug=request.firm.slug)
    return render(
        request, "integrations/connection_link.html", {"form": form, "connection": connection}
    )


@firm_view(Action.CONNECT_XERO)
@require_POST
def xero_connection_disconnect(request: FirmRequest, connection_id: int) -> HttpResponse:
    connection = get_firm_object_or_404(XeroConnection, firm=request.firm, pk=connection_id)
    if oauth.xero_connection_revoke(connection=connection):
        messages.success(request, "Disconnected from Xero. Synced data is kept.")
    else:
        messages.warning(
            request,
            "Disconnected here; synced data is kept. Xero could not be reached to revoke access: "
            "remove Ledgerline Budgets in Xero's Connected Apps to end it there too.",
        )
    return redirect("firm_dashboard", firm_slug=request.firm.slug)


@csrf_exempt
@require_POST
def xero_webhook(request: HttpRequest) -> HttpResponse:
    """Xero's webhook endpoint: 401 for a bad signature, an empty 200 otherwise, at once."""
    body = request.body
    if not webhooks.webhook_signature_valid(
        body=body, signature=request.headers.get("x-xero-signature", "")
    ):
        return HttpResponse(status=401)
    try:
        webhooks.webhook_delivery_record(body=body)
    except ValueError as exc:
        # Signed by Xero but not JSON of Xero's shape: nothing we can act on; Xero must not retry
        # it. (json's JSONDecodeError and UnicodeDecodeError are ValueErrors too.)
        logger.warning("Xero webhook with a valid signature but an unreadable body: %s", exc)
    response = HttpResponse(status=200)
    del response["Content-Type"]
    return response
