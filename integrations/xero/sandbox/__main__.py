"""`python -m integrations.xero.sandbox serve --port 8765 [--replay FILE] [--seed N]`."""

from __future__ import annotations

import argparse
import datetime as dt

from integrations.xero.sandbox.app import DEFAULT_ADMIN_TOKEN, create_app
from integrations.xero.sandbox.behaviour import Behaviour
from integrations.xero.sandbox.clock import SandboxClock
from integrations.xero.sandbox.identity import DEFAULT_CLIENT, OAuthClient
from integrations.xero.sandbox.replay import RecordingApp, ReplayApp
from integrations.xero.sandbox.server import serve
from integrations.xero.sandbox.wsgi import WSGIApp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integrations.xero.sandbox")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("serve", help="serve the Xero sandbox over HTTP")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8765)
    run.add_argument(
        "--replay", metavar="FILE", help="serve recorded exchanges from a JSON Lines file"
    )
    run.add_argument(
        "--record", metavar="FILE", help="append every API exchange to a JSON Lines file"
    )
    run.add_argument("--seed", type=int, default=7)
    run.add_argument(
        "--today", type=dt.date.fromisoformat, help="the date the data treats as today"
    )
    run.add_argument(
        "--time-scale", type=float, default=1.0, help="sandbox seconds per real second"
    )
    run.add_argument("--admin-token", default=DEFAULT_ADMIN_TOKEN)
    run.add_argument("--client-id", default=DEFAULT_CLIENT.client_id)
    run.add_argument("--client-secret", default=DEFAULT_CLIENT.client_secret)
    run.add_argument(
        "--redirect-uri", action="append", default=[], help="repeatable; none: any URI"
    )
    run.add_argument(
        "--with-organisation",
        action="append",
        default=[],
        metavar="KEY",
        help="repeatable; add an opt-in organisation: alpine (NZ) or alpine-us (US)",
    )
    run.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="repeatable; a switch of behaviour.py, e.g. pl_periods_with_tracking=ignored",
    )
    run.add_argument("--quiet", action="store_true", help="do not log each request")
    return parser


def build_app(args: argparse.Namespace) -> WSGIApp:
    if args.replay:
        return ReplayApp(args.replay)
    app: WSGIApp = create_app(
        seed=args.seed,
        today=args.today,
        clock=SandboxClock(time_scale=args.time_scale, today=args.today),
        clients=[OAuthClient(args.client_id, args.client_secret, tuple(args.redirect_uri))],
        admin_token=args.admin_token,
        behaviour=Behaviour().updated_from_pairs(args.behaviour),
        extra_organisations=args.with_organisation,
    )
    return RecordingApp(app, args.record) if args.record else app


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        app = build_app(args)
    except ValueError as error:  # a bad --behaviour or --with-organisation
        parser.error(str(error))
    serve(args.host, args.port, app, verbose=not args.quiet)


if __name__ == "__main__":
    main()
