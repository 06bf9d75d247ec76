from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.crypto import decrypt, encrypt
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

    # Emailed links always use SITE_URL, like every other email of ours: allauth builds them
    # from the request's host, which may be one the reader cannot open (127.0.0.1, an
    # internal name behind the proxy).
    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return _on_site_url(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _on_site_url(super().get_reset_password_from_key_url(key))

    # The site in those emails ("Hello from …") is ours by name, not the request's host.
    def render_mail(self, template_prefix, email, context, headers=None):
        site = _SiteOfUrl()
        return super().render_mail(
            template_prefix, email, {**context, "current_site": site}, headers=headers
        )


class MFAAdapter(DefaultMFAAdapter):
    """Two-factor secrets (the TOTP key, the recovery codes' seed) encrypted at rest with
    FIELD_ENCRYPTION_KEY, like Xero tokens: a database dump alone cannot mint codes."""

    def encrypt(self, text: str) -> str:
        return encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt(encrypted_text)


class _SiteOfUrl:
    """What allauth's templates read of a Site: SITE_NAME, and SITE_URL's host."""

    def __init__(self):
        self.domain = urlsplit(settings.SITE_URL).netloc
        self.name = settings.SITE_NAME


def _on_site_url(url: str) -> str:
    parts = urlsplit(url)
    return settings.SITE_URL + parts.path + (f"?{parts.query}" if parts.query else "")
