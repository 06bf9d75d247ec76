"""Serve the Slack imitation over HTTP: `python -m integrations.slack.imitation --port 8766`.

Point the product at it with SLACK_API_URL=http://127.0.0.1:8766/api and
SLACK_SIGNING_SECRET=imitation-signing-secret; make a webhook with
`curl -X POST localhost:8766/_imitation/webhooks -d '{"channel": "C0ALERTS", "base_url":
"http://127.0.0.1:8766"}'` and read what arrived at /_imitation/messages.
"""

from __future__ import annotations

import argparse
import contextlib

from integrations.slack.imitation.app import SlackImitation
from integrations.xero.sandbox.server import make_sandbox_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--signing-secret", default=None)
    args = parser.parse_args()
    imitation = SlackImitation()
    if args.signing_secret:
        imitation.signing_secret = args.signing_secret
    with make_sandbox_server(args.host, args.port, imitation) as server:
        print(f"Slack imitation on http://{args.host}:{server.server_port}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


if __name__ == "__main__":
    main()
