"""A Budget Manager file import, as a Xero user does it (the only way to write a budget).

Rules from Xero Central (help.xero.com/uk/BudgetImportExport, xero-api-facts §7): column 1 is
"Account Name (Code)"; row 1 holds months; blank cells are ignored; imported values replace
existing values for the same account and month; entries are rounded to whole currency units.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from integrations.xero.sandbox.model import SandboxBudget, SandboxOrganisation

_ACCOUNT = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[^()]+)\)\s*$")
_MONTH_NAMES = {dt.date(2000, m, 1).strftime("%b").lower(): m for m in range(1, 13)}


class BudgetImportError(ValueError):
    pass


def parse_month(text: str) -> str:
    """'Jul-2016' or '07-2016' -> '2016-07'."""
    value = text.strip()
    match = re.fullmatch(r"(?P<month>[A-Za-z]{3}|\d{1,2})-(?P<year>\d{4})", value)
    if match is None:
        raise BudgetImportError(
            f"Cannot read the month {value!r}; use MMM-YYYY (Jul-2026) or MM-YYYY."
        )
    month_text = match["month"]
    month = _MONTH_NAMES.get(month_text.lower()) if month_text.isalpha() else int(month_text)
    if month is None or not 1 <= month <= 12:
        raise BudgetImportError(f"Cannot read the month {value!r}.")
    return f"{match['year']}-{month:02d}"


def budget_import_file(org: SandboxOrganisation, budget: SandboxBudget, content: str) -> int:
    """Apply a CSV import to `budget`; returns how many values were set.

    The whole file is checked before anything changes. The budget's UpdatedDateUTC is left
    alone: Xero does not move it for a file import, which is why a sync cannot rely on it.
    """
    rows = [
        row
        for row in csv.reader(io.StringIO(content.lstrip("\ufeff")))
        if any(c.strip() for c in row)
    ]
    if not rows:
        raise BudgetImportError("The file is empty.")
    periods = [parse_month(cell) if cell.strip() else None for cell in rows[0][1:]]
    accounts = {a.code: a for a in org.accounts}
    changes: list[tuple[str, str, Decimal]] = []
    for number, row in enumerate(rows[1:], start=2):
        label = row[0].strip()
        match = _ACCOUNT.match(label)
        account = accounts.get(match["code"].strip()) if match else None
        if account is None:
            raise BudgetImportError(f"Row {number}: no account matches {label!r}.")
        for column, cell in enumerate(row[1:]):
            if not cell.strip():
                continue
            if column >= len(periods) or periods[column] is None:
                raise BudgetImportError(f"Row {number}: a value has no month in row 1.")
            try:
                value = Decimal(cell.strip().replace(",", ""))
            except InvalidOperation as error:
                raise BudgetImportError(f"Row {number}: {cell!r} is not a number.") from error
            # "If you enter decimals into the Budget Manager they will be rounded: Up to the
            # nearest dollar if 50 cents or over" (help.xero.com/us/BudgetCreate).
            changes.append(
                (account.account_id, periods[column], value.quantize(Decimal(1), ROUND_HALF_UP))
            )
    for account_id, period, value in changes:
        budget.lines.setdefault(account_id, {})[period] = value
    return len(changes)
