"""Response headers Django does not set itself."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse


class PermissionsPolicyMiddleware:
    """Permissions-Policy (settings.PERMISSIONS_POLICY) on every response: the browser features
    no page of ours uses stay off, also for anything a page might embed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoStoreMiddleware:
    """`Cache-Control: private, no-store` (and HTTP/1.0's `Pragma: no-cache`) on every response
    a view makes: signed-in pages, API reads, sign-off pages and exports all hold a firm's
    figures, which no browser cache, shared computer's back button or proxy should keep.

    Placed after WhiteNoise, so static files (named by their hash) stay cacheable for ever. A
    view may choose its own caching for a public page; for a signed-in person or an API key,
    no-store replaces whatever the view chose.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # DRF sets the Django request's user too, so an API key's requests count as signed in.
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        if signed_in or "Cache-Control" not in response:
            response["Cache-Control"] = "private, no-store"
        if "no-store" in response["Cache-Control"]:
            response.headers.setdefault("Pragma", "no-cache")
        return response


# What the browser should forget when a person signs out (ASVS 8.2.3): what it cached and what
# pages stored. Cookies are Django's to end (the session's is deleted); "cookies" here would
# also drop the CSRF cookie the sign-in page needs next.
CLEAR_SITE_DATA = '"cache", "storage"'


@receiver(user_logged_out, dispatch_uid="core.middleware.signed_out")
def _signed_out(sender, request, **kwargs) -> None:
    if request is not None:
        request.signed_out = True


class ClearSiteDataMiddleware:
    """`Clear-Site-Data` on the response to a sign-out, whichever view signed the person out
    (allauth's, a session ended for MFA): the request is marked by the user_logged_out signal,
    so no URL is named here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "signed_out", False):
            response["Clear-Site-Data"] = CLEAR_SITE_DATA
        return response
