"""Print an organisation's variance report: the same figures as the screen and its CSV.

python manage.py variance_report --org 12 --period 2026-10 [--tracking 34] --format csv|json
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from budgeting.ledger.models import TrackingOption, XeroOrganisation
from budgeting.variance.selectors import ReportFilters, variance_report_load
from budgeting.variance.views import CSV_HEADER, variance_report_rows
from core.csv import csv_rows_write
from core.months import parse_month
from tenants.models import ClientOrganisation


class Command(BaseCommand):
    help = "Print a client organisation's budget-against-actual variance for one month."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, type=int, help="Client organisation id")
        parser.add_argument("--period", required=True, help="The month, YYYY-MM")
        parser.add_argument(
            "--tracking",
            help="A tracking option: our id, or Xero's TrackingOptionID (default: overall)",
        )
        parser.add_argument("--format", choices=("csv", "json"), default="csv")
        parser.add_argument(
            "--material-only", action="store_true", help="Only lines with a material variance"
        )

    def handle(self, *args, org, period, tracking, format, material_only, **options):
        month = parse_month(period)
        if month is None or len(period.strip()) != 7:
            raise CommandError(f"--period must be a month as YYYY-MM, not {period!r}.")
        # An operator's command: the organisation names its firm, which scopes everything after.
        with scopes_disabled():
            organisation = ClientOrganisation.objects.select_related("firm").filter(pk=org).first()
        if organisation is None:
            raise CommandError(f"No client organisation with id {org}.")
        firm = organisation.firm
        profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
        if profile is None:
            raise CommandError(f"{organisation.name} has not been synced from Xero yet.")
        option = None
        if tracking:
            options = TrackingOption.objects.for_firm(firm).filter(organisation=organisation)
            option = (
                options.filter(pk=int(tracking)).first()
                if tracking.isdigit()
                else options.filter(option_id=tracking).first()
            )
            if option is None:
                raise CommandError(f"{organisation.name} has no tracking option {tracking!r}.")
        view = variance_report_load(
            firm=firm,
            organisation=organisation,
            profile=profile,
            period=month,
            tracking_option=option,
            filters=ReportFilters(material_only=material_only),
            with_narratives=format == "json",
        )
        rows = variance_report_rows(view)
        if format == "csv":
            header = ["Currency", view.data.currency, "Period", f"{month:%Y-%m}"]
            csv_rows_write(self.stdout, [header, CSV_HEADER, *rows])
            return
        narratives = {row.line.code: row.narrative.text for row in view.rows if row.narrative}
        document = {
            "organisation": organisation.name,
            "currency": view.data.currency,
            "period": f"{month:%Y-%m}",
            "financial_year_start": f"{view.report.financial_year_start:%Y-%m}",
            "tracking_option": option.name if option else None,
            "rows": [
                {
                    **dict(zip(CSV_HEADER, row, strict=True)),
                    "narrative": narratives.get(row[1]) if row[1] else None,
                }
                for row in rows
            ],
        }
        self.stdout.write(json.dumps(document, indent=2, ensure_ascii=False))
