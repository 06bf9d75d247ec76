"""Xero Budget Manager import files, and checking an import against what Xero then holds.

Pure: numbers and dates in, text and differences out; no ORM, no request.

Xero's Budgets API is read-only, so a budget reaches Xero only as a file a person imports in
Budget Manager. The format follows Xero Central (help.xero.com/uk/BudgetImportExport,
xero-api-facts §7): column 1 is "Account Name (Code)", row 1 holds the months as MMM-YYYY
(Jan-2026; MMM-YY is not in the documented list), blank cells leave Xero's figure alone, and
figures are whole currency units.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

A1_LABEL = "Account"


class ImportFileError(ValueError):
    """Data that cannot be written as a Budget Manager file; the message says which."""


@dataclass(frozen=True)
class ImportRow:
    """One account of the file: only the months in `amounts` are filled."""

    account_name: str
    account_code: str
    amounts: Mapping[dt.date, Decimal]

    @property
    def label(self) -> str:
        return account_label(self.account_name, self.account_code)


@dataclass(frozen=True)
class BudgetDifference:
    """A figure Xero holds after the import that is not the one the file asked for."""

    key: Hashable  # the account, as the caller names it
    period: dt.date
    expected: Decimal
    synced: Decimal | None  # None: Xero has no figure for that month


def account_label(name: str, code: str) -> str:
    """Column 1 of the file: Xero matches the account by the code in parentheses."""
    if not code or not code.strip():
        raise ImportFileError(
            f"The account {name!r} has no code in Xero; Budget Manager matches accounts by "
            "'Name (Code)'. Give it a code in Xero's chart of accounts and sync again."
        )
    return f"{name.strip()} ({code.strip()})"


def month_heading(period: dt.date) -> str:
    """Jan-2026: MMM-YYYY, with English month abbreviations whatever the locale."""
    return f"{_MONTHS[period.month - 1]}-{period.year:04d}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def whole_units(amount: Decimal) -> Decimal:
    """As Budget Manager rounds: "Up to the nearest dollar if 50 cents or over"
    (help.xero.com/us/BudgetCreate); half away from zero for negative figures."""
    return Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _cell(amount: Decimal) -> str:
    value = whole_units(amount)
    # "-0" would read as a change of sign to a person checking the file.
    return "0" if value == 0 else f"{value:f}"


def xero_budget_import_file(*, rows: Iterable[ImportRow], months: Iterable[dt.date]) -> str:
    """The CSV text of a Budget Manager import: A1 "Account", row 1 the months, then one row per
    account with its changed months filled and every other month blank."""
    months = sorted({dt.date(m.year, m.month, 1) for m in months})
    if not months:
        raise ImportFileError("The file needs at least one month.")
    rows = list(rows)
    labels = [row.label for row in rows]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ImportFileError(f"An account appears twice: {', '.join(duplicates)}.")
    out = io.StringIO()
    # Not core.csv: Xero matches column 1 to its accounts by name, so a guarding apostrophe
    # would make an account it cannot find. The file is for Xero, not for a spreadsheet.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([A1_LABEL, *(month_heading(m) for m in months)])
    for row in sorted(rows, key=lambda r: (r.account_code, r.account_name)):
        amounts = {dt.date(p.year, p.month, 1): a for p, a in row.amounts.items()}
        outside = sorted(set(amounts) - set(months))
        if outside:
            raise ImportFileError(
                f"{row.label} has a figure for {outside[0]:%b %Y}, a month not in the file."
            )
        if not amounts:
            continue
        writer.writerow([row.label, *(_cell(amounts[m]) if m in amounts else "" for m in months)])
    return out.getvalue()


def budget_import_verify(
    *,
    expected: Mapping[tuple[Hashable, dt.date], Decimal],
    synced: Mapping[tuple[Hashable, dt.date], Decimal],
) -> list[BudgetDifference]:
    """Every cell the file filled whose figure in Xero (as the next sync read it) is not the
    whole-unit figure the file asked for. Empty when the import matches."""
    differences = []
    for (key, period), amount in expected.items():
        want = whole_units(amount)
        got = synced.get((key, period))
        # Xero lists no balance for a month budgeted at zero.
        if got is None and want == 0:
            continue
        if got is None or Decimal(got) != want:
            differences.append(BudgetDifference(key, period, want, got))
    return sorted(differences, key=lambda d: (str(d.key), d.period))


def budget_import_touched(
    *,
    before: Mapping[tuple[Hashable, dt.date], Decimal | None],
    synced: Mapping[tuple[Hashable, dt.date], Decimal],
) -> bool:
    """Whether any cell of the file differs from the figure Xero held when the file was made:
    until one does, the file has not been imported yet (Xero does not tell us when it is)."""
    for cell, was in before.items():
        now = synced.get(cell)
        if (now or Decimal(0)) != (was or Decimal(0)):
            return True
    return False
