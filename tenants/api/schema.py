"""The OpenAPI schema: the bearer key scheme, only the key routes, and the one error format
documented on every operation (so no endpoint can forget it)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from tenants.api.base import FirmAPIView

API_PREFIX = "/api/v1/"


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        scheme = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        scheme["description"] = (
            "A firm's API key, created by its owners and admins under API keys: "
            "`Authorization: Bearer ll_…`. The firm is always the key's firm."
        )
        return scheme


def preprocess_key_routes_only(endpoints):
    """Publish the `/api/v1/` routes; the `/f/<firm_slug>/api/v1/` session mirror is the same
    views for signed-in people, and documenting it twice would only confuse."""
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith(API_PREFIX)
    ]


_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs: not_found, missing_scope, invalid, …",
                },
                "message": {"type": "string", "description": "What went wrong and what to do."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Input field -> what is wrong with it (400 only).",
                },
            },
        }
    },
}
_ERRORS = {
    "400": "The input is not valid; `fields` says which and why.",
    "401": "No key, or a key that is not valid, revoked or expired.",
    "403": "The key lacks the scope, or the member's role does not allow this.",
    "404": "No such object in the key's firm (another firm's ids are never found).",
    "429": "Too many requests for this key; wait for the Retry-After seconds.",
}


def _view_class(generator, path: str, method: str):
    for endpoint_path, _regex, endpoint_method, callback in generator.endpoints or []:
        if endpoint_path == path and endpoint_method.lower() == method:
            return getattr(callback, "cls", None)
    return None


_RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "description": "Seconds to wait before the next request with this key.",
    }
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of a response you have: 304 with no body if it is unchanged.",
}
_SERVER_ERROR = (
    "Our fault, or a service of ours is down: the body is in the one error format (code "
    "server_error); retry later."
)


def postprocess_errors_and_etags(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _ERROR_SCHEMA
    # drf-spectacular made it for ErrorSerializer's nested body, which "Error" above replaces
    # whole: nothing refers to it any more.
    schemas.pop("ErrorBody", None)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            takes_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            )
            for code, description in _ERRORS.items():
                if code == "400" and not takes_input:
                    continue
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    },
                )
            responses["429"]["headers"] = _RETRY_AFTER
            responses.setdefault(
                "5XX",
                {
                    "description": _SERVER_ERROR,
                    "content": {"application/json": {"schema": _ERROR_REF}},
                },
            )
            view = _view_class(generator, path, method)
            if method == "get" and view is not None and issubclass(view, FirmAPIView) and view.etag:
                ok = responses.get("200")
                if ok is not None:
                    ok.setdefault("headers", {})["ETag"] = {
                        "schema": {"type": "string"},
                        "description": "Send it back as If-None-Match to get 304 when unchanged.",
                    }
                responses["304"] = {
                    "description": "Not modified since the ETag you sent.",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                }
                operation.setdefault("parameters", []).append(_IF_NONE_MATCH)
    return result
