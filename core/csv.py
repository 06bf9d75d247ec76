"""CSV exports: one way to write rows to a download, every text cell guarded against formula
injection.

A spreadsheet runs a cell that starts with =, +, -, @, a tab or a carriage return as a formula,
and the names, reasons and comments we export come from people and from Xero. OWASP's advice is
to start such a cell with an apostrophe, which shows it as text:
https://owasp.org/www-community/attacks/CSV_Injection
Numbers stay numbers: a Decimal, int or float is written as it is, and so is text that is only a
number (a negative amount such as "-1200.00" written from a Decimal is a number, not a formula).
A moment (an aware datetime) is written in the site's time zone to the second, ISO 8601, so every
export reads the same and sorts as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
CONTENT_TYPE = "text/csv; charset=utf-8"


def csv_cell(value: Any) -> Any:
    """A cell as it is safe to write: numbers as they are, None as blank, text guarded."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_rows_write(out: Any, rows: Iterable[Iterable[Any]]) -> None:
    """Write `rows` to a file-like `out` (a command's stdout, say), every cell through csv_cell."""
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])


def csv_filename(*parts: Any) -> str:
    """The one way to name a download: the organisation's (or firm's) name, what the list is
    and its period, slugified to ASCII so every browser and mail client keeps it as it is:
    ("Pōhutukawa Press", "drafts", "2026-11") gives "pohutukawa-press-drafts-2026-11.csv".
    A date or month is written as it reads (2026-11-30); empty parts are left out."""
    words = (part.isoformat() if isinstance(part, dt.date) else str(part or "") for part in parts)
    return "-".join(slug for slug in (slugify(word) for word in words) if slug) + ".csv"


class _Echo:
    # csv.writer wants a file; this one hands each written line back, for a streamed response.
    def write(self, value: str) -> str:
        return value


def csv_response(
    *, filename: str, rows: Iterable[Iterable[Any]], streaming: bool = False
) -> HttpResponse | StreamingHttpResponse:
    """A CSV download named `filename`: `rows` (header rows included) with every cell through
    csv_cell. `streaming=True` writes rows as the client reads them, for an export too big to
    hold in memory; pass a generator then."""
    if streaming:
        writer = csv.writer(_Echo())
        lines = (writer.writerow([csv_cell(value) for value in row]) for row in rows)
        response = StreamingHttpResponse(lines, content_type=CONTENT_TYPE)
    else:
        response = HttpResponse(content_type=CONTENT_TYPE)
        csv_rows_write(response, rows)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
