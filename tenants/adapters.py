from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from tenants.http import client_ip


class AccountAdapter(DefaultAccountAdapter):
    """Open sign-up: anyone may create an account; access to a firm comes only by invitation."""

    def get_login_redirect_url(self, request):
        next_url = request.GET.get("next") or request.POST.get("next")
        if next_url and next_url.startswith("/invitations/"):
            return next_url
        return super().get_login_redirect_url(request)

    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth keys its login, sign-up and password-reset rate limits on this: the same
        # address, behind the same proxies, as our own rate limits.
        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip
