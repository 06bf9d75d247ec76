"""`python manage.py demo [addrport]`: the zero-setup demo in one process.

Creates the demo firm and its members, connects them to the in-process Xero sandbox through the
real OAuth flow, syncs every client organisation, starts a Celery worker in a thread (kombu's
in-memory broker) and serves the app. Everything the demo needs lives in this process.
"""

import os
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from budgeting.alerts.services import alert_rule_save, cash_alerts_evaluate
from budgeting.cash.selectors import cash_view_load
from budgeting.cash.services import cash_threshold_set
from budgeting.drafts.forecast_history import forecast_records_backfill
from budgeting.drafts.services import forecast_run_execute
from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import ForecastRun, SyncRun
from budgeting.packs.selectors import report_pack_period
from budgeting.packs.services import pack_schedule_update, report_pack_build
from budgeting.pipeline import organisation_after_sync
from integrations.models import XeroTenant
from integrations.xero.demo import demo_xero_connect
from tenants.management.commands.demo_setup import DEMO_FIRM_SLUG
from tenants.models import Firm, Membership
from tenants.roles import Role


class Command(BaseCommand):
    help = "Run the demo: firm, users, Xero sandbox connection, synced clients, web server."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="set up, then stop")

    def handle(self, *args, addrport, no_serve, **options):
        if not settings.DEBUG or settings.XERO_TRANSPORT != "inprocess":
            raise CommandError("The demo runs with DEBUG=1 and the in-process Xero sandbox.")
        if ":" not in addrport:
            addrport = f"127.0.0.1:{addrport}"  # runserver's "9000" alone
        site = self._serve_at(addrport)
        call_command("demo_setup", site=site, stdout=self.stdout)
        firm = Firm.objects.get(slug=DEMO_FIRM_SLUG)
        owner = Membership.objects.for_firm(firm).filter(role=Role.OWNER).first().user
        self.stdout.write("Connecting the demo firm to the Xero sandbox (OAuth)...")
        demo_xero_connect(firm=firm, user=owner)
        for tenant in XeroTenant.objects.for_firm(firm).select_related("client_organisation"):
            organisation = tenant.client_organisation
            run = organisation_sync_start(
                firm=firm, organisation=organisation, trigger=SyncRun.Trigger.MANUAL, enqueue=False
            )
            run = organisation_sync(firm=firm, run_id=run.pk)
            state = "reconciled" if run.reconciled else run.error or run.state
            self.stdout.write(f"  synced {organisation.name}: {run.calls_used} calls, {state}")
            if run.state == SyncRun.State.SUCCEEDED:
                organisation_after_sync(
                    firm=firm, organisation=organisation, closed="closed_up_to" in run.counts
                )
            self._approval_chain(firm, organisation, owner)
        self._slack(firm, owner, site)
        # The drafts queued by the pipeline run now, so the demo starts with them in place.
        for forecast in ForecastRun.objects.for_firm(firm).filter(state=ForecastRun.State.QUEUED):
            forecast = forecast_run_execute(firm=firm, run_id=forecast.pk)
            self.stdout.write(f"  forecast draft for {forecast.organisation.name}: {forecast.step}")
        # Forecast accuracy shows what it is for from the first day: the forecasts the engine
        # would have made from the last few closed months, scored against the actuals since.
        for tenant in XeroTenant.objects.for_firm(firm).select_related("client_organisation"):
            organisation = tenant.client_organisation
            scored = forecast_records_backfill(firm=firm, organisation=organisation)
            self.stdout.write(f"  past forecasts of {organisation.name}: {scored} months scored")
            self._report_pack(firm, organisation, owner)
        self._cash(firm, owner)
        if no_serve:
            return
        self._start_worker()
        self.stdout.write(self.style.SUCCESS(f"\nOpen {site}/ and log in as above.\n"))
        call_command("runserver", addrport, use_reloader=False)

    def _report_pack(self, firm, organisation, owner) -> None:
        """Each client's pack of its last closed month, sent monthly to the owner (printed to
        the console), so the packs screen has one to download from the first visit."""
        period = report_pack_period(firm=firm, organisation=organisation)
        if period is None:
            return
        pack_schedule_update(
            firm=firm,
            organisation=organisation,
            frequency="monthly",
            send_day=5,
            after_close=True,
            member_ids=[owner.pk],
            external_emails=[],
            user=None,
        )
        pack = report_pack_build(
            firm=firm, organisation=organisation, period=period, reason="Built for the demo"
        )
        size = len(bytes(pack.pdf)) // 1024
        self.stdout.write(f"  report pack of {organisation.name}, {period:%B %Y}: {size} KB PDF")

    def _cash(self, firm, owner) -> None:
        """Harbour Lane Café's cash: a threshold just above its projected low point, and a cash
        alert rule telling the owner, so the Cash page shows the month it dips under and the
        alerts screen the alert it raised."""
        tenant = XeroTenant.objects.for_firm(firm).filter(tenant_name="Harbour Lane Café").first()
        if tenant is None:
            return
        organisation = tenant.client_organisation
        low = cash_view_load(firm=firm, organisation=organisation).projection.low
        if low is None:
            return
        # The next 5,000 above the low: the projection crosses it on the way down.
        threshold = (low.cash // 5000 + 1) * 5000
        cash_threshold_set(
            firm=firm, organisation=organisation, threshold=Decimal(threshold), user=owner
        )
        alert_rule_save(
            firm=firm,
            organisation=organisation,
            name="Cash below the threshold",
            threshold="cash",
            account_ids=[],
            recipients=[{"kind": "member", "user_id": owner.pk}],
            user=owner,
        )
        raised = cash_alerts_evaluate(firm=firm, organisation=organisation)
        self.stdout.write(
            f"  cash of {organisation.name}: low {low.cash} in {low.period:%B %Y}, threshold "
            f"{threshold}, {len(raised)} alert{'s' if len(raised) != 1 else ''}"
        )

    def _serve_at(self, addrport: str) -> str:
        """The address the demo serves on, in every link it makes: SITE_URL (email links, the
        OAuth callback) and the in-process Xero sandbox's URLs (its consent page is opened in
        the browser) were derived from port 8000 unless the environment set them."""
        if os.environ.get("SITE_URL"):
            return settings.SITE_URL
        site = f"http://{addrport}"
        default = settings.SITE_URL
        settings.SITE_URL = site
        for name in (
            "XERO_SANDBOX_URL",
            "XERO_AUTHORIZE_URL",
            "XERO_TOKEN_URL",
            "XERO_REVOCATION_URL",
            "XERO_CONNECTIONS_URL",
            "XERO_API_URL",
        ):
            if not os.environ.get(name):
                setattr(settings, name, getattr(settings, name).replace(default, site, 1))
        return site

    def _approval_chain(self, firm, organisation, owner) -> None:
        """A two-step chain, so a draft can be submitted at once: the approver role, then the
        owner role for a change above 10,000, or the client's budget owner (email links only)."""
        from budgeting.approvals import services as approvals
        from budgeting.models import ApprovalChain

        if ApprovalChain.objects.for_firm(firm).filter(organisation=organisation).exists():
            return
        client = approvals.external_approver_register(
            firm=firm,
            organisation=organisation,
            email=f"budget-owner+{organisation.pk}@client.example.com",
            name=f"Budget owner of {organisation.name}",
            user=owner,
        )
        approvals.approval_chain_update(
            firm=firm,
            organisation=organisation,
            user=owner,
            steps=[
                {"name": "Manager review", "roles": [Role.APPROVER]},
                {
                    "name": "Partner or client sign-off",
                    "roles": [Role.OWNER],
                    "external_approver_ids": [client.pk],
                    "condition": "change_above",
                    "change_above": "10000",
                },
            ],
            reason="Demo approval chain",
        )

    def _slack(self, firm, owner, site: str) -> None:
        """Slack on, against the in-process imitation: its workspace knows every demo member
        by email, the bot posts approval requests and digests into #approvals, and its page
        (/slack-imitation/) shows them with buttons to click as any of them."""
        from integrations.slack import services as slack
        from integrations.slack.http import slack_imitation_inprocess
        from integrations.slack.imitation.app import BOT_TOKEN

        if settings.SLACK_TRANSPORT != "inprocess":
            return
        imitation = slack_imitation_inprocess()
        for number, membership in enumerate(
            Membership.objects.for_firm(firm).select_related("user").order_by("role"), start=1
        ):
            imitation.users[f"U0DEMO{number:04d}"] = {
                "name": membership.role,
                "email": membership.user.email,
            }
        slack.slack_settings_update(
            firm=firm,
            user=owner,
            method="bot",
            webhook_url=None,
            bot_token=BOT_TOKEN,
            default_channel="#approvals",
            approvals_to_slack=True,
            reason="Demo: Slack through the imitation",
        )
        tested = slack.slack_connection_test(firm=firm, user=owner)
        found = slack.slack_members_lookup(firm=firm, by=owner).found
        state = "working" if tested.test_ok else tested.test_detail
        self.stdout.write(
            f"Slack (the imitation): #approvals, {state}, {found} members linked; "
            f"see {site}/slack-imitation/"
        )

    def _start_worker(self) -> None:
        from celery.contrib.testing.worker import start_worker

        from config.celery import app

        # A worker thread on the in-memory broker: tasks queued by requests run beside them.
        # Kept on the command: a dropped context manager would be collected, stopping the worker.
        self._worker = start_worker(
            app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING"
        )
        self._worker.__enter__()
