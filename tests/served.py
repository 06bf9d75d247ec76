"""An app served over real HTTP on a free loopback port, for faults only a socket shows
(timeouts, refused connections)."""

import contextlib
import threading


@contextlib.contextmanager
def served(app):
    """The app over real HTTP on a free loopback port, for faults only a socket shows."""
    from integrations.xero.sandbox.server import make_sandbox_server

    server = make_sandbox_server("127.0.0.1", 0, app, verbose=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
