"""`python manage.py xero_sandbox serve --port 8765 [--replay FILE] [--seed N] ...`

The sandbox is a standalone WSGI app; this only runs its own command line, so the options are
the same as `python -m integrations.xero.sandbox` (see integrations/xero/sandbox/README.md).
"""

import argparse

from django.core.management.base import BaseCommand

from integrations.xero.sandbox.__main__ import main as sandbox_main


class Command(BaseCommand):
    help = "Serve the Xero sandbox over HTTP (serve --port 8765 [--replay FILE] [--seed N])."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("sandbox_args", nargs=argparse.REMAINDER)

    def handle(self, *args, **options):
        sandbox_main(options["sandbox_args"])
