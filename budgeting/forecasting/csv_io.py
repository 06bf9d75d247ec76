"""Reading monthly series from CSV and writing forecasts back: validation lives here.

Columns in: unique_id, ds (YYYY-MM-DD, first of month), y. Columns out: unique_id, ds, yhat,
lo_<level>, hi_<level> per level, method.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from budgeting.forecasting.engine import forecast_series
from core.months import add_months

REQUIRED_COLUMNS = ("unique_id", "ds", "y")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CsvInputError(ValueError):
    """Bad input, with the line of the CSV file that shows the problem."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


@dataclass(frozen=True)
class MonthlySeries:
    unique_id: str
    start: date  # first month of the history
    values: tuple[float, ...]


@dataclass(frozen=True)
class _Row:
    line: int
    month: date
    value: float


def parse_levels(text: str) -> tuple[int, ...]:
    """'80,95' -> (80, 95); each level a whole percentage strictly between 0 and 100."""
    try:
        levels = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise ValueError(f"levels must be whole percentages like 80,95, got {text!r}") from None
    if not levels or any(not 0 < level < 100 for level in levels):
        raise ValueError(f"levels must be between 1 and 99, got {text!r}")
    return levels


def series_from_csv(source: TextIO) -> list[MonthlySeries]:
    """Every series in the file, in order of first appearance; raises CsvInputError."""
    reader = csv.DictReader(source)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CsvInputError(1, f"missing column(s): {', '.join(missing)}")
    rows: dict[str, list[_Row]] = {}
    for record in reader:
        line = reader.line_num
        unique_id = (record["unique_id"] or "").strip()
        if not unique_id:
            raise CsvInputError(line, "unique_id is empty")
        rows.setdefault(unique_id, []).append(
            _Row(line, parsed_month(record["ds"], line), parsed_value(record["y"], line))
        )
    if not rows:
        raise CsvInputError(2, "no data rows after the header")
    return [contiguous_series(unique_id, found) for unique_id, found in rows.items()]


def parsed_month(text: str | None, line: int) -> date:
    text = (text or "").strip()
    if not ISO_DATE.fullmatch(text):
        raise CsvInputError(line, f"ds {text!r} is not a date in YYYY-MM-DD form")
    try:
        month = date.fromisoformat(text)
    except ValueError:
        raise CsvInputError(line, f"ds {text!r} is not a valid date") from None
    if month.day != 1:
        raise CsvInputError(line, f"ds {text} is not the first day of a month")
    return month


def parsed_value(text: str | None, line: int) -> float:
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise CsvInputError(line, f"y {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CsvInputError(line, f"y {text!r} is not a finite number")
    return value


def contiguous_series(unique_id: str, rows: list[_Row]) -> MonthlySeries:
    """Months sorted; a repeated or a missing month is an error at the row that shows it."""
    ordered = sorted(rows, key=lambda row: (row.month, row.line))
    for previous, row in itertools.pairwise(ordered):
        if row.month == previous.month:
            raise CsvInputError(
                row.line,
                f"duplicate month {row.month:%Y-%m} for {unique_id!r} "
                f"(already on line {previous.line})",
            )
        if row.month != add_months(previous.month, 1):
            raise CsvInputError(
                row.line,
                f"gap in {unique_id!r}: {row.month:%Y-%m} follows {previous.month:%Y-%m} "
                f"(line {previous.line}); months in between are missing",
            )
    return MonthlySeries(unique_id, ordered[0].month, tuple(row.value for row in ordered))


def forecast_rows(
    series: Iterable[MonthlySeries], *, horizon: int, levels: Sequence[int]
) -> list[dict[str, object]]:
    """One output row per series and future month."""
    rows: list[dict[str, object]] = []
    for item in series:
        forecast = forecast_series(item.values, horizon=horizon, levels=levels)
        first = add_months(item.start, len(item.values))
        for step, point in enumerate(forecast.point):
            row: dict[str, object] = {
                "unique_id": item.unique_id,
                "ds": add_months(first, step).isoformat(),
                "yhat": point,
            }
            for level in levels:
                row[f"lo_{level}"] = forecast.lower(level)[step]
                row[f"hi_{level}"] = forecast.upper(level)[step]
            row["method"] = forecast.method
            rows.append(row)
    return rows


def output_columns(levels: Sequence[int]) -> list[str]:
    bounds = [f"{side}_{level}" for level in levels for side in ("lo", "hi")]
    return ["unique_id", "ds", "yhat", *bounds, "method"]


def write_forecasts(
    target: TextIO, rows: Iterable[dict[str, object]], levels: Sequence[int]
) -> None:
    writer = csv.DictWriter(target, fieldnames=output_columns(levels))
    writer.writeheader()
    writer.writerows(rows)
