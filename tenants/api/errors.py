"""The API's one error format, for every error:

    {"error": {"code": "not_found", "message": "No such client organisation.", "fields": {}}}

`code` is stable and meant for programs; `message` is for the person reading the logs; `fields`
maps an input field to what is wrong with it (only for 400s about input).
"""

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: e.g. not_found, missing_scope.")
    message = serializers.CharField(help_text="What went wrong and what to do, for people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Input field -> what is wrong with it (400 only; empty otherwise).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _field_messages(detail) -> dict[str, list[str]]:
    """Flatten DRF's nested validation detail into field path -> messages."""
    out: dict[str, list[str]] = {}

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(v, str) for v in value):
            for index, child in enumerate(value):
                walk(child, f"{path}.{index}" if path else str(index))
        else:
            messages = value if isinstance(value, list) else [value]
            out.setdefault(path or "non_field_errors", []).extend(str(m) for m in messages)

    walk(detail, "")
    return out


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code


def api_exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: DRF's handling, then the one format."""
    response = drf_exception_handler(exc, context)
    if response is None:
        # Not an API error: a bug. Log it in full, answer in the same format, leak nothing.
        logger.exception("Unhandled error in the API", exc_info=exc)
        return Response(
            error_body("server_error", "Something went wrong on our side. It has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_messages(exc.detail)
        names = ", ".join(sorted(fields))
        response.data = error_body(
            "invalid", f"Some input is not valid ({names}): see fields.", fields=fields
        )
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait) if exc.wait is not None else None
        message = "Too many requests for this key."
        if wait is not None:
            message += f" Try again in {wait} second{'s' if wait != 1 else ''}."
        response.data = error_body("throttled", message)
    elif isinstance(exc, exceptions.APIException):
        response.data = error_body(_code(exc), str(exc.detail))
    else:
        # Django's Http404 and PermissionDenied, which DRF has turned into responses.
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = error_body(code, str(detail))
    return response


# No CSRF check: it changes nothing, and a POST to a mistyped URL must get this 404, not an
# HTML 403 from the CSRF middleware.
@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any unknown URL under the API's prefix: 404 in the API's format, not an HTML page."""
    return JsonResponse(
        error_body("not_found", f"There is no API endpoint at {request.path}."), status=404
    )
