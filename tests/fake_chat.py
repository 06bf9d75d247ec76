"""A real HTTP server on 127.0.0.1 that plays an OpenAI-compatible chat endpoint, for the
optional narrative provider: the tests see the exact payload that would leave the app."""

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeChatEndpoint:
    base_url: str
    reply: Callable[[dict[str, Any]], tuple[int, bytes]]
    delay: float = 0.0
    received: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def answer_with(self, text_from_payload: Callable[[dict[str, Any]], str]) -> None:
        def reply(request: dict[str, Any]) -> tuple[int, bytes]:
            payload = json.loads(request["messages"][-1]["content"])
            content = text_from_payload(payload)
            body = {"choices": [{"message": {"role": "assistant", "content": content}}]}
            return 200, json.dumps(body).encode()

        self.reply = reply


def chat_endpoint_serve() -> Iterator[FakeChatEndpoint]:
    """Serve a fake chat endpoint until the generator is closed."""
    endpoint = FakeChatEndpoint(base_url="", reply=lambda request: (500, b"{}"))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            endpoint.received.append(body)
            endpoint.headers.append(dict(self.headers))
            time.sleep(endpoint.delay)
            status, response = endpoint.reply(json.loads(body))
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(response)))
                self.end_headers()
                self.wfile.write(response)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as the timeout test intends

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    endpoint.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield endpoint
    server.shutdown()
    server.server_close()
