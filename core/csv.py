"""CSV: one way to write rows to a download, every text cell guarded against formula
injection, and one way to read an uploaded file's rows (csv_upload_read).

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
import io
import re
from collections.abc import Iterable, Sequence
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


# --- Reading an uploaded CSV ---


class CsvReadError(ValueError):
    """A file that cannot be read as the CSV asked for; the message says why, for the user."""


def csv_column_name(header: str) -> str:
    """'Close Month', 'close-month' and ' close_month ' are one column: close_month."""
    return re.sub(r"[\s-]+", "_", header.strip().lower())


def csv_upload_read(
    data: bytes,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    max_bytes: int = 1_000_000,
    max_rows: int = 5_000,
) -> list[tuple[int, dict[str, str]]]:
    """The rows of an uploaded CSV (UTF-8, a byte order mark allowed) as (line number, cells by
    column), the header being line 1 and blank lines skipped. The header must name only
    `columns` (case, spaces and hyphens aside), each once, and every one of `required`; a file
    that is too big, not text, or has a row longer than its header is refused as a whole, with
    the line. Cells are stripped text; checking each value is the caller's, row by row."""
    if len(data) > max_bytes:
        raise CsvReadError(
            f"The file is {len(data) // 1024} KB; the limit is {max_bytes // 1024} KB."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvReadError(
            "The file is not UTF-8 text: save it from the CRM as CSV (UTF-8)."
        ) from exc
    if "\x00" in text:
        raise CsvReadError("The file holds NUL characters: it is not a CSV file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise CsvReadError("The file is empty: line 1 should name the columns.")
        names = [csv_column_name(cell) for cell in header]
        known = set(columns)
        unknown = [h for h, n in zip(header, names, strict=True) if n not in known]
        if unknown:
            raise CsvReadError(
                f"Line 1: unknown column{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(repr(u.strip()) for u in unknown)}; the columns are "
                f"{', '.join(columns)}."
            )
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise CsvReadError(f"Line 1: the column {', '.join(repeated)} is named twice.")
        missing = [n for n in required if n not in names]
        if missing:
            raise CsvReadError(f"Line 1: the column {', '.join(missing)} is missing.")
        rows: list[tuple[int, dict[str, str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                raise CsvReadError(
                    f"Line {reader.line_num}: {len(cells)} cells for {len(names)} columns."
                )
            if len(rows) == max_rows:
                raise CsvReadError(f"The file has more than {max_rows} rows.")
            cells = cells + [""] * (len(names) - len(cells))
            rows.append(
                (reader.line_num, {n: c.strip() for n, c in zip(names, cells, strict=True)})
            )
    except csv.Error as exc:
        raise CsvReadError(f"Line {reader.line_num}: not readable as CSV ({exc}).") from exc
    return rows
