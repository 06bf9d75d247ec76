"""`python manage.py scenario_parse --accounts ACCOUNTS.csv --start YYYY-MM --months N "sentence"`:
the scenario sentence parser on a chart of accounts from a file, printing what it read as JSON.

ACCOUNTS.csv has the columns code,name,class,type (Xero's Account Class and Type). The output
is {"adjustments": [...], "not_understood": [...]}, with "problems" and "suggestions" when a
part cannot apply (then the exit status is 1).
"""

import csv
import json

from django.core.management.base import BaseCommand, CommandError

from budgeting.scenarios.maths import ChartAccount
from budgeting.scenarios.sentences import scenario_months, sentence_parse
from core.months import parse_month


class Command(BaseCommand):
    help = "Read a what-if sentence into scenario adjustments over a chart of accounts."

    def add_arguments(self, parser):
        parser.add_argument("sentence")
        parser.add_argument("--accounts", required=True, help="CSV: code,name,class,type")
        parser.add_argument("--start", required=True, help="the first month, YYYY-MM")
        parser.add_argument("--months", type=int, default=12)

    def handle(self, *args, sentence, accounts, start, months, **options):
        first = parse_month(start)
        if first is None:
            raise CommandError(f"--start {start!r} is not a month (YYYY-MM).")
        if not 1 <= months <= 60:
            raise CommandError("--months is 1 to 60.")
        try:
            with open(accounts, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise CommandError(f"Cannot read {accounts}: {exc}") from exc
        missing = {"code", "name", "class", "type"} - set(rows[0] if rows else {})
        if missing:
            raise CommandError(f"{accounts} lacks the columns {', '.join(sorted(missing))}.")
        chart = [
            ChartAccount(
                key=index,
                code=row["code"].strip(),
                name=row["name"].strip(),
                account_type=row["type"].strip().upper(),
                account_class=row["class"].strip().upper(),
            )
            for index, row in enumerate(rows, start=1)
        ]
        result = sentence_parse(sentence, chart=chart, months=scenario_months(first, months))
        self.stdout.write(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        if result.problems:
            raise SystemExit(1)
