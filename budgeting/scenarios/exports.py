"""Scenarios as rows for a download: the same rows in CSV (core.csv, formula-guarded) and XLSX
(openpyxl, every text cell guarded the same way, figures as numbers)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse
from django.utils.http import content_disposition_header

from budgeting.scenarios.maths import PNL_ROWS
from budgeting.scenarios.selectors import ScenarioView
from core.csv import csv_cell

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def comparison_rows(views: Sequence[ScenarioView]) -> Iterable[list[Any]]:
    """One row per scenario, P&L line and month, then its financial years' totals: scenario,
    base, scenario less base, and the actual of a closed month."""
    yield [
        "scenario",
        "version",
        "line",
        "month",
        "scenario_amount",
        "base_amount",
        "against_base",
        "actual",
        "currency",
    ]
    for view in views:
        name, version, currency = view.scenario.name, view.scenario.version, view.currency
        for attribute, label in PNL_ROWS:
            for month in view.result.months:
                yield [
                    name,
                    version,
                    label,
                    f"{month.period:%Y-%m}",
                    month.scenario.figure(attribute),
                    month.base.figure(attribute),
                    month.against_base.figure(attribute),
                    month.actual.figure(attribute) if month.actual is not None else None,
                    currency,
                ]
            for year in view.result.years:
                yield [
                    name,
                    version,
                    label,
                    f"FY from {year.start:%Y-%m}",
                    year.scenario.figure(attribute),
                    year.base.figure(attribute),
                    year.against_base.figure(attribute),
                    year.actual.figure(attribute) if year.closed_months else None,
                    currency,
                ]


def xlsx_response(*, filename: str, rows: Iterable[Iterable[Any]]) -> HttpResponse:
    from openpyxl import Workbook  # imported here: only the download needs it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Scenarios")
    for row in rows:
        # Text through the CSV guard too: a spreadsheet runs "=..." in an XLSX cell as well.
        sheet.append([csv_cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
