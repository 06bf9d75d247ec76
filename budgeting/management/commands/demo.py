"""`python manage.py demo [addrport]`: the zero-setup demo in one process.

Creates the demo firm and its members, connects them to the in-process Xero sandbox through the
real OAuth flow, syncs every client organisation, starts a Celery worker in a thread (kombu's
in-memory broker) and serves the app. Everything the demo needs lives in this process.
"""

import csv
import io
import os
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from budgeting.alerts.services import alert_rule_save, cash_alerts_evaluate
from budgeting.cash.selectors import cash_view_load
from budgeting.cash.services import cash_threshold_set
from budgeting.currency.selectors import documents_first_month
from budgeting.currency.services import budget_rates_from_period
from budgeting.deals.selectors import actuals_last_month, pipeline_open_month
from budgeting.deals.services import sales_pipeline_import, sales_pipeline_import_csv
from budgeting.drafts.forecast_history import forecast_records_backfill
from budgeting.drafts.services import forecast_run_execute
from budgeting.groups.selectors import group_members, group_report_load, group_reporting_month
from budgeting.groups.services import GroupError, group_create
from budgeting.ledger.sync import organisation_sync, organisation_sync_start
from budgeting.models import ActualBalance, ClientGroup, ForecastRun, SyncRun, XeroOrganisation
from budgeting.packs.selectors import report_pack_period
from budgeting.packs.services import pack_schedule_update, report_pack_build
from budgeting.pipeline import organisation_after_sync
from core.months import add_months, month_key, months_between, parse_month
from integrations.models import XeroTenant
from integrations.xero.demo import demo_xero_connect
from tenants.management.commands.demo_setup import DEMO_FIRM_SLUG
from tenants.models import ClientOrganisation, Firm, Membership
from tenants.roles import Role

# The month demo_data/ashford_vale_pipeline.csv is written as of; the demo moves its close
# months by as many months as it is later now.
DEMO_PIPELINE_MONTH = parse_month("2026-12")


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
                self._budget_rates(firm, organisation)
                organisation_after_sync(
                    firm=firm, organisation=organisation, closed="closed_up_to" in run.counts
                )
            self._approval_chain(firm, organisation, owner)
        self._slack(firm, owner, site)
        self._alerts(firm, owner)
        self._client_group(firm, owner)
        self._sales_pipeline(firm, owner)
        # The drafts queued by the pipeline run now, so the demo starts with them in place.
        for forecast in ForecastRun.objects.for_firm(firm).filter(state=ForecastRun.State.QUEUED):
            forecast = forecast_run_execute(firm=firm, run_id=forecast.pk)
            self.stdout.write(f"  forecast draft for {forecast.organisation.name}: {forecast.step}")
        self._departments(firm)
        # Forecast accuracy shows what it is for from the first day: the forecasts the engine
        # would have made from the last few closed months, scored against the actuals since.
        for tenant in XeroTenant.objects.for_firm(firm).select_related("client_organisation"):
            organisation = tenant.client_organisation
            scored = forecast_records_backfill(firm=firm, organisation=organisation)
            self.stdout.write(f"  past forecasts of {organisation.name}: {scored} months scored")
            self._report_pack(firm, organisation, owner)
        self._annual_draft(firm, owner)
        self._cash(firm, owner)
        if no_serve:
            return
        self._start_worker()
        self.stdout.write(self.style.SUCCESS(f"\nOpen {site}/ and log in as above.\n"))
        call_command("runserver", addrport, use_reloader=False)

    def _budget_rates(self, firm, organisation) -> None:
        """Budget rates for a client that trades in foreign currencies (Tidemark Homewares buys
        in dollars and euros): the average of its first two synced months, so the variance
        report splits its stock variance into volume and rate from the first visit."""
        profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
        first = documents_first_month(firm=firm, organisation=organisation)
        if profile is None or first is None:
            return
        rates = budget_rates_from_period(
            firm=firm,
            organisation=organisation,
            base_currency=profile.base_currency,
            first=first,
            last=add_months(first, 1),
        )
        for rate in rates:
            self.stdout.write(f"  budget rate of {organisation.name}: {rate.currency} {rate.rate}")

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

    def _alerts(self, firm, owner) -> None:
        """A spending-pace rule for every client, told to the owner and #budget-alerts in Slack;
        and one alert for real: a large repairs bill posted in the sandbox reaches the app as
        Xero's webhook would (signed, through the webhook URL), is fetched in one batched call
        and breaks the café's repairs limit, so the alerts screen has one from the first visit
        (its email is printed to the console, its Slack message is on the imitation's page)."""
        import httpx
        from django.core.wsgi import get_wsgi_application
        from django.urls import reverse

        from budgeting.alerts import services as alerts
        from budgeting.ledger.webhooks import webhook_delivery_process
        from budgeting.models import Account, Alert, XeroOrganisation
        from core.clock import today as organisation_today
        from integrations.models import XeroWebhookDelivery
        from integrations.xero.http import xero_http_client
        from integrations.xero.sandbox.app import DEFAULT_ADMIN_TOKEN
        from integrations.xero.sandbox_mount import sandbox_app

        slack = [{"kind": "slack_channel", "channel": "#budget-alerts"}]
        if settings.SLACK_TRANSPORT != "inprocess":
            slack = []
        tenants = XeroTenant.objects.for_firm(firm).select_related("client_organisation")
        for tenant in tenants:
            alerts.alert_rule_save(
                firm=firm,
                organisation=tenant.client_organisation,
                name="Spending pace",
                threshold="band",
                account_ids=[],
                account_class="EXPENSE",
                recipients=[{"kind": "member", "user_id": owner.pk}, *slack],
                user=owner,
            )
        cafe = next((t for t in tenants if t.client_organisation.name == "Harbour Lane Café"), None)
        if cafe is None:
            return
        organisation = cafe.client_organisation
        account = (
            Account.objects.for_firm(firm)
            .filter(organisation=organisation, account_class="EXPENSE", name__icontains="repairs")
            .first()
        )
        if account is None:
            return
        profile = XeroOrganisation.objects.for_firm(firm).get(organisation=organisation)
        today = organisation_today(profile.timezone)
        so_far = alerts.month_to_date_amount(
            firm=firm, account=account, option_id=None, period=today.replace(day=1), until=today
        )
        rule = alerts.alert_rule_save(
            firm=firm,
            organisation=organisation,
            name="Repairs limit",
            threshold="limit",
            account_ids=[account.pk],
            limit=so_far + 1000,
            recipients=[{"kind": "member", "user_id": owner.pk}, *slack],
            user=owner,
        )
        # Xero's webhook, from the in-process sandbox to the app's webhook URL, signed with the
        # key the demo gives both.
        sender = sandbox_app().webhooks
        settings.XERO_WEBHOOK_KEY = settings.XERO_WEBHOOK_KEY or sender.key
        sender.key = settings.XERO_WEBHOOK_KEY
        sender.url = settings.SITE_URL + reverse("xero_webhook")
        sender.transport = httpx.WSGITransport(app=get_wsgi_application())
        with xero_http_client() as http:
            http.post(
                f"{settings.XERO_SANDBOX_URL}/_sandbox/organisations/cafe/invoices",
                headers={"X-Sandbox-Admin": DEFAULT_ADMIN_TOKEN},
                json={
                    "type": "ACCPAY",
                    "contact": "Quayside Fitouts Ltd",
                    "date": today.isoformat(),
                    "reference": "Coffee machine boiler, emergency call-out",
                    "lines": [
                        {
                            "accountCode": account.code,
                            "description": "Boiler replacement and call-out",
                            "amount": "2800.00",
                        }
                    ],
                },
            ).raise_for_status()
        delivery = sender.deliver()
        # Processing the delivery, the fetch and the sending are queued for the worker; done
        # here, so the alert is in place before the first page (the queued tasks then find
        # nothing left to do).
        for recorded in XeroWebhookDelivery.objects.values_list("pk", flat=True):
            webhook_delivery_process(delivery_id=recorded)
        alerts.document_batches_fetch(firm=firm, organisation=organisation)
        for alert in Alert.objects.for_firm(firm).filter(rule=rule):
            alerts.alert_deliveries_send(firm=firm, alert_id=alert.pk)
            self.stdout.write(
                f"  alert for {organisation.name} (webhook {delivery.status if delivery else '-'}): "
                f"{alert.summary}"
            )

    def _client_group(self, firm, owner) -> None:
        """Kestrel Pacific Group and Tidepool Software (both AUD, years ending 30 June) as one
        client group, so the groups screen opens on a consolidated report in AUD."""
        names = ["Kestrel Pacific Group", "Tidepool Software"]
        profiles = XeroOrganisation.objects.for_firm(firm).filter(name__in=names)
        members = sorted(profiles, key=lambda p: names.index(p.name))
        if len(members) != 2 or ClientGroup.objects.for_firm(firm).exists():
            return
        try:
            group = group_create(
                firm=firm,
                name="Kestrel Pacific Group (consolidated)",
                reporting_currency="AUD",
                organisation_ids=[p.organisation_id for p in members],
                parent_id=members[0].organisation_id,
                user=owner,
            )
        except GroupError as exc:
            self.stdout.write(f"  no client group: {exc}")
            return
        period = group_reporting_month(group_members(firm=firm, group=group))
        view = group_report_load(firm=firm, group=group, period=period, with_narratives=False)
        net = view.report.net_profit.month if view.report else None
        figure = f"net profit AUD {net.actual} against {net.budget}" if net else view.problem
        self.stdout.write(f"  client group {group.name}, {period:%B %Y}: {figure}")

    def _sales_pipeline(self, firm, owner) -> None:
        """Ashford & Vale Construction's CRM export (demo_data/ashford_vale_pipeline.csv,
        written as of DEMO_PIPELINE_MONTH and moved to this month), after two older exports
        whose won work is what the books then showed, so the backtest has a history to weigh
        the pipeline by. Before the forecast runs, so its draft's revenue line blends it."""
        organisation = (
            ClientOrganisation.objects.for_firm(firm)
            .filter(name="Ashford & Vale Construction")
            .first()
        )
        if organisation is None:
            return
        open_month = pipeline_open_month(firm=firm, organisation=organisation)
        last = actuals_last_month(firm=firm, organisation=organisation)
        actual = dict(
            ActualBalance.objects.for_firm(firm)
            .filter(organisation=organisation, account__code="200", tracking_option__isnull=True)
            .values_list("period", "amount")
        )
        for back in (6, 3):
            as_of = add_months(open_month, -back)
            rows = [
                (n, {
                    "deal": f"Progress claims {month:%b %Y}",
                    "amount": str(actual.get(month, Decimal(0))),
                    "stage": "Commit",
                    "close_month": month_key(month),
                })
                for n, month in enumerate(months_between(as_of, last), start=2)
                if actual.get(month)
            ]  # fmt: skip
            if rows:
                sales_pipeline_import(
                    firm=firm, organisation=organisation, rows=rows, user=owner, as_of=as_of,
                    file_name=f"crm-export-{month_key(as_of)}.csv",
                )  # fmt: skip
        source = Path(__file__).parent / "demo_data" / "ashford_vale_pipeline.csv"
        shift = (open_month.year - DEMO_PIPELINE_MONTH.year) * 12 + (
            open_month.month - DEMO_PIPELINE_MONTH.month
        )
        out = io.StringIO()
        writer = csv.writer(out)
        for n, row in enumerate(csv.reader(io.StringIO(source.read_text(encoding="utf-8")))):
            if n:
                row[4] = month_key(add_months(parse_month(row[4]), shift))
            writer.writerow(row)
        upload = sales_pipeline_import_csv(
            firm=firm,
            organisation=organisation,
            data=out.getvalue().encode(),
            file_name=source.name,
            user=owner,
        )
        self.stdout.write(
            f"  sales pipeline of {organisation.name}: v{upload.version}, "
            f"{upload.deal_count} deals, {upload.weighted_amount} weighted"
        )

    def _departments(self, firm) -> None:
        """The newest draft with lines for two options of a tracking category goes to two
        managers by department: the demo's viewer, and a client's manager by email (their link
        is printed to the console with the email)."""
        from django.db.models import Count

        from budgeting.departments import services as departments
        from budgeting.models import Draft, DraftLine, TrackingOption

        users = {m.role: m.user for m in Membership.objects.for_firm(firm).select_related("user")}
        for draft in Draft.objects.for_firm(firm).filter(status=Draft.Status.DRAFT).order_by("-pk"):
            per_category = (
                DraftLine.objects.for_firm(firm)
                .filter(draft=draft, tracking_option__isnull=False)
                .values("tracking_option__category")
                .annotate(options=Count("tracking_option", distinct=True))
                .order_by("-options", "tracking_option__category")
                .first()
            )
            if per_category is None or per_category["options"] < 2:
                continue
            options = list(
                TrackingOption.objects.for_firm(firm)
                .filter(
                    category=per_category["tracking_option__category"],
                    pk__in=DraftLine.objects.for_firm(firm)
                    .filter(draft=draft)
                    .values("tracking_option"),
                )
                .order_by("name")[:2]
            )
            managers = [
                {"manager_user": users[Role.VIEWER]},
                {
                    "email": f"manager+{draft.pk}@client.example.com",
                    "name": "Client department head",
                },
            ]
            for option, manager in zip(options, managers, strict=True):
                departments.department_assign(
                    firm=firm, draft=draft, option=option, user=users[Role.OWNER], **manager
                )
            names = " and ".join(o.name for o in options)
            self.stdout.write(f"  draft by department for {draft.organisation.name}: {names}")
            return

    def _annual_draft(self, firm, owner) -> None:
        """Next year's budget already drafted for Harbour Lane Café (no departments), so an
        annual review and its flags show at once. Ashford & Vale Construction is left for the
        owner to draft: its projects (tracking options) go to their managers, and its sales
        pipeline page has a sample CRM export to upload (README: the demo)."""
        from budgeting.annual.selectors import annual_counts
        from budgeting.annual.services import AnnualDraftError, annual_draft_create

        organisation = (
            ClientOrganisation.objects.for_firm(firm).filter(name="Harbour Lane Café").first()
        )
        if organisation is None:
            return
        try:
            annual = annual_draft_create(firm=firm, organisation=organisation, user=owner)
        except AnnualDraftError as exc:
            self.stdout.write(f"  next year's budget of {organisation.name}: {exc}")
            return
        counts = annual_counts(firm=firm, annual=annual)
        self.stdout.write(
            f"  next year's budget of {organisation.name}: FY{annual.financial_year} drafted, "
            f"{counts.lines} lines, {counts.flags} flags; Ashford & Vale Construction's (by "
            "project) is for you to draft from its page"
        )

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
