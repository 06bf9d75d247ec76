"""The demo serves the Xero sandbox from the app itself under /xero-sandbox/, so the browser can
reach the sandbox's consent page and the API calls stay in-process. Only mounted when
XERO_TRANSPORT is "inprocess"; production never has this route."""

from __future__ import annotations

import io
from functools import cache

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

MOUNT = "/xero-sandbox"


@cache
def sandbox_app():
    from integrations.xero.sandbox.app import create_app

    return create_app()


def sandbox_inprocess_app():
    """The sandbox as the product's Xero client reaches it in-process: the settings' URLs carry
    the /xero-sandbox prefix (the browser needs it), which the sandbox itself does not know."""
    app = sandbox_app()

    def strip_mount(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(MOUNT + "/"):
            environ = {**environ, "PATH_INFO": path[len(MOUNT) :], "SCRIPT_NAME": MOUNT}
        return app(environ, start_response)

    return strip_mount


@csrf_exempt
def sandbox_proxy(request: HttpRequest, path: str) -> HttpResponse:
    body = request.body
    environ = dict(request.META)
    environ.update(
        {
            "SCRIPT_NAME": MOUNT,
            "PATH_INFO": "/" + path,
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
    )
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers

    chunks = sandbox_app()(environ, start_response)
    content = b"".join(chunks)
    response = HttpResponse(content, status=captured["status"])
    for name, value in captured["headers"]:
        response[name] = value
    return response
