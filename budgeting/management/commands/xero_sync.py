"""`python manage.py xero_sync --org <id or all> [--full]`: sync from Xero now, with progress.

An operator's tool: the organisation's id decides the firm, and everything after that runs in
the firm's scope like any task.
"""

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled
from tqdm import tqdm

from budgeting.ledger.models import SyncRun
from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from integrations.models import XeroTenant


class Command(BaseCommand):
    help = "Sync client organisations from Xero (--org <id> or --org all) [--full]."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="client organisation id, or 'all'")
        parser.add_argument("--full", action="store_true", help="re-read everything")

    def handle(self, *args, org, full, **options):
        # Unscoped on purpose: the operator names organisations across firms; each sync below
        # runs in its own firm's scope.
        with scopes_disabled():
            tenants = XeroTenant.objects.select_related("firm", "client_organisation").filter(
                client_organisation__isnull=False, status=XeroTenant.Status.CONNECTED
            )
            if org != "all":
                if not org.isdigit():
                    raise CommandError("--org takes a client organisation id (a number) or 'all'.")
                tenants = tenants.filter(client_organisation_id=int(org))
            tenants = list(tenants)
        if not tenants:
            raise CommandError(f"No connected client organisation matches --org {org}.")
        failed = 0
        for tenant in tenants:
            organisation = tenant.client_organisation
            run = organisation_sync_start(
                firm=tenant.firm,
                organisation=organisation,
                trigger=SyncRun.Trigger.MANUAL,
                kind=SyncRun.Kind.FULL if full else None,
                enqueue=False,
            )
            with tqdm(total=100, desc=organisation.name[:30], unit="%") as bar:

                def show(percent, step, bar=bar):
                    bar.set_postfix_str(step[:40])
                    bar.update(max(0, percent - bar.n))

                run = organisation_sync(firm=tenant.firm, run_id=run.pk, on_progress=show)
                bar.update(100 - bar.n)
            if run.state == SyncRun.State.SUCCEEDED:
                status = "reconciled" if run.reconciled else "NOT reconciled"
                self.stdout.write(
                    f"{organisation.name}: {run.get_kind_display().lower()} sync done, "
                    f"{run.calls_used} calls of {run.calls_planned} planned, {status}"
                )
                if run.error:
                    self.stdout.write(f"  {run.error}")
            else:
                failed += 1
                self.stderr.write(f"{organisation.name}: failed: {run.error}")
        if failed:
            raise CommandError(f"{failed} of {len(tenants)} syncs failed.")
