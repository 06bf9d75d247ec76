import re
import zoneinfo

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from tenants.api.errors import error_body


class UserTimezoneMiddleware:
    """Shows times in the signed-in user's timezone (stored on the user, UTC by default)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = getattr(request.user, "timezone", None) if request.user.is_authenticated else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(name)) if name else timezone.deactivate()
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.deactivate()
        return self.get_response(request)


# The API's two mounts: by key (/api/v1/) and by session under a firm (/f/<slug>/api/v1/).
_API_PATH = re.compile(r"^/(?:f/[-\w]+/)?api/")


class RefuseNullCharactersMiddleware:
    """A NUL character in a query parameter or form field is refused with a 400 that names the
    field, before any view reads it: PostgreSQL cannot store or compare text holding one, so a
    view passing it to a filter would fail with a 500. (Django's form fields refuse it too, but
    views also read request.GET directly; JSON bodies are the API serializers' to check.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # Keep the raw body readable for views that read it (the Xero webhook checks its
            # signature over it) after request.POST has parsed it. No route takes file uploads,
            # so the body is within DATA_UPLOAD_MAX_MEMORY_SIZE (a larger one is a 400).
            request.body  # noqa: B018
        for source in (request.GET, request.POST):
            for name, values in source.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    return _refused(request, name.replace("\x00", "\\x00"))
        return self.get_response(request)


def _refused(request, name: str):
    message = f'The field "{name}" contains a NUL character (\\x00), which no field accepts.'
    if _API_PATH.match(request.path):
        return JsonResponse(
            error_body("invalid", message, fields={name: ["NUL characters are not allowed."]}),
            status=400,
        )
    return render(request, "400.html", {"reason": message}, status=400)
