"""Serve a sandbox (or replay) WSGI app over HTTP with one thread per request.

Threads matter: Xero's 5-concurrent-calls limit can only be exercised by a server that runs
requests in parallel.
"""

from __future__ import annotations

import contextlib
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from integrations.xero.sandbox.wsgi import WSGIApp


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # Bursts of parallel connections from the product's workers should queue, not be refused.
    request_queue_size = 128
    verbose = True  # log each request, as wsgiref does


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "verbose", True):
            super().log_request(code, size)


def make_sandbox_server(
    host: str, port: int, app: WSGIApp, *, verbose: bool = True
) -> ThreadingWSGIServer:
    """A bound, not yet serving server; port 0 picks a free port (see server.server_port)."""
    server = make_server(
        host, port, app, server_class=ThreadingWSGIServer, handler_class=_QuietHandler
    )
    assert isinstance(server, ThreadingWSGIServer)
    server.verbose = verbose
    return server


def serve(host: str, port: int, app: WSGIApp, *, verbose: bool = True) -> None:
    """Serve until interrupted."""
    with make_sandbox_server(host, port, app, verbose=verbose) as server:
        print(f"Xero sandbox on http://{host}:{server.server_port}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
