"""Forecast every series in a CSV file: python manage.py forecast_csv --input IN --output OUT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from budgeting.forecasting import MAX_HORIZON
from budgeting.forecasting.csv_io import (
    forecast_rows,
    parse_levels,
    series_from_csv,
    write_forecasts,
)


class Command(BaseCommand):
    help = (
        "Forecast monthly series. IN.csv has unique_id, ds (YYYY-MM-DD, first of month), y; "
        "OUT.csv gets unique_id, ds, yhat, lo_/hi_ per level, method."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--input", required=True, type=Path)
        parser.add_argument("--output", required=True, type=Path)
        parser.add_argument("--horizon", required=True, type=int, help=f"1-{MAX_HORIZON} months")
        parser.add_argument("--levels", default="80,95", help="interval levels, e.g. 80,95")

    def handle(self, *args: Any, **options: Any) -> None:
        source: Path = options["input"]
        target: Path = options["output"]
        horizon: int = options["horizon"]
        if not 1 <= horizon <= MAX_HORIZON:
            raise CommandError(f"--horizon must be between 1 and {MAX_HORIZON}, got {horizon}")
        try:
            levels = parse_levels(options["levels"])
            with source.open(newline="", encoding="utf-8-sig") as handle:
                series = series_from_csv(handle)
        except OSError as error:
            raise CommandError(f"cannot read {source}: {error.strerror}") from error
        except ValueError as error:
            raise CommandError(f"{source}: {error}") from error
        rows = forecast_rows(series, horizon=horizon, levels=levels)
        with target.open("w", newline="", encoding="utf-8") as handle:
            write_forecasts(handle, rows, levels)
        self.stdout.write(f"Wrote {len(rows)} rows for {len(series)} series to {target}")
