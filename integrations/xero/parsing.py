"""Typed parsing of Xero's payloads: MS dates, string amounts, and Xero's variations in shape.

Every parser takes the endpoint name so a bad payload is reported as "Xero Budgets/{id}:
Budgets[0].BudgetLines[3].BudgetBalances[2].Amount: not a number ('n/a')" and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.xero.errors import XeroPayloadError

CENT = Decimal("0.01")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class _Reader:
    """Reads fields of one object, naming the path in any error."""

    def __init__(self, endpoint: str, data: Any, path: str):
        if not isinstance(data, dict):
            raise XeroPayloadError(
                endpoint, path or "(body)", f"expected an object, got {_kind(data)}"
            )
        self.endpoint, self.data, self.path = endpoint, data, path

    def _where(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def raw(self, name: str, *, required: bool = True) -> Any:
        value = self.data.get(name)
        if value is None and required:
            problem = "missing" if name not in self.data else "null"
            raise XeroPayloadError(self.endpoint, self._where(name), problem)
        return value

    def str(self, name: str, *, required: bool = True, default: str = "") -> str:
        value = self.raw(name, required=required)
        if value is None:
            return default
        if not isinstance(value, str):
            raise XeroPayloadError(
                self.endpoint, self._where(name), f"expected text, got {_kind(value)}"
            )
        return value

    def int(self, name: str, *, required: bool = True) -> int | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise XeroPayloadError(
                self.endpoint, self._where(name), f"not a whole number ({value!r})"
            ) from exc

    def money(self, name: str, *, required: bool = True) -> Decimal | None:
        value = self.raw(name, required=required)
        if value is None or value == "":
            if required:
                raise XeroPayloadError(self.endpoint, self._where(name), "empty")
            return None
        return parse_money(value, endpoint=self.endpoint, where=self._where(name))

    def msdate(self, name: str, *, required: bool = True) -> dt.datetime | None:
        value = self.raw(name, required=required)
        if value is None:
            return None
        return parse_xero_datetime(value, endpoint=self.endpoint, where=self._where(name))

    def list(self, name: str, *, required: bool = False) -> list[Any]:
        value = self.raw(name, required=required)
        if value is None:
            return []
        if not isinstance(value, list):
            raise XeroPayloadError(
                self.endpoint, self._where(name), f"expected a list, got {_kind(value)}"
            )
        return value

    def child(self, value: Any, suffix: str) -> _Reader:
        return _Reader(self.endpoint, value, self._where(suffix))


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def parse_money(value: Any, *, endpoint: str, where: str) -> Decimal:
    """Xero sends amounts as numbers or as strings ("9608.0000", "1,234.50" in reports)."""
    if isinstance(value, bool):
        raise XeroPayloadError(endpoint, where, f"not a number ({value!r})")
    text = str(value).replace(",", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise XeroPayloadError(endpoint, where, f"not a number ({value!r})") from exc
    if not amount.is_finite():
        raise XeroPayloadError(endpoint, where, f"not a finite number ({value!r})")
    return amount.quantize(CENT)


def parse_xero_datetime(value: Any, *, endpoint: str, where: str) -> dt.datetime:
    """MS JSON dates (/Date(1573755038314+0000)/) and ISO strings ("2017-08-14T01:18:26.74")."""
    if not isinstance(value, str):
        raise XeroPayloadError(endpoint, where, f"expected a date, got {_kind(value)}")
    match = _MS_DATE.match(value)
    if match:
        millis = int(match.group(1))
        return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise XeroPayloadError(endpoint, where, f"not a date ({value!r})") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _period(value: str, *, endpoint: str, where: str) -> dt.date:
    # BudgetBalance.Period is "YYYY-MM" with no day (xero-python PR #58).
    match = re.match(r"^(\d{4})-(\d{2})", value or "")
    if not match:
        raise XeroPayloadError(endpoint, where, f"not a YYYY-MM period ({value!r})")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


# --- Shapes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class XeroOrganisation:
    organisation_id: str
    name: str
    base_currency: str
    country_code: str
    timezone: str
    financial_year_end_day: int
    financial_year_end_month: int
    period_lock_date: dt.date | None
    end_of_year_lock_date: dt.date | None


@dataclass(frozen=True)
class XeroAccount:
    account_id: str
    code: str
    name: str
    type: str
    account_class: str
    status: str
    updated_utc: dt.datetime | None
    system_account: str = ""  # Xero's SystemAccount: REALISEDCURRENCYGAIN, DEBTORS, ...


@dataclass(frozen=True)
class XeroTrackingOption:
    option_id: str
    name: str
    status: str


@dataclass(frozen=True)
class XeroTrackingCategory:
    category_id: str
    name: str
    status: str
    options: tuple[XeroTrackingOption, ...]


@dataclass(frozen=True)
class XeroBudgetBalance:
    period: dt.date
    amount: Decimal
    notes: str


@dataclass(frozen=True)
class XeroBudgetLine:
    account_id: str
    account_code: str
    balances: tuple[XeroBudgetBalance, ...]


@dataclass(frozen=True)
class XeroBudget:
    budget_id: str
    type: str
    description: str
    updated_utc: dt.datetime | None
    tracking: tuple[tuple[str, str], ...]  # (TrackingCategoryID, TrackingOptionID)
    lines: tuple[XeroBudgetLine, ...]


@dataclass(frozen=True)
class ReportAccountRow:
    account_id: str
    name: str
    section: str
    values: tuple[Decimal, ...]


@dataclass(frozen=True)
class ProfitAndLoss:
    """A P&L report: account rows and the report's own summary rows, one value per column."""

    columns: tuple[str, ...]
    rows: tuple[ReportAccountRow, ...]
    # Summary rows by title ("Total Income", "Gross Profit", "NET PROFIT", ...).
    totals: dict[str, tuple[Decimal, ...]] = field(default_factory=dict)


# --- Parsers ----------------------------------------------------------------------------------


def _list_of(body: Any, key: str, endpoint: str) -> list[Any]:
    root = _Reader(endpoint, body, "")
    value = root.raw(key)
    # The spec example shows Budgets as an object for a single budget; the schema says a list.
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise XeroPayloadError(endpoint, key, f"expected a list, got {_kind(value)}")
    return value


def parse_organisation(body: Any) -> XeroOrganisation:
    endpoint = "Organisation"
    items = _list_of(body, "Organisations", endpoint)
    if not items:
        raise XeroPayloadError(endpoint, "Organisations", "empty")
    r = _Reader(endpoint, items[0], "Organisations[0]")
    lock = r.msdate("PeriodLockDate", required=False)
    eoy = r.msdate("EndOfYearLockDate", required=False)
    return XeroOrganisation(
        organisation_id=r.str("OrganisationID"),
        name=r.str("Name"),
        base_currency=r.str("BaseCurrency"),
        country_code=r.str("CountryCode", required=False),
        timezone=r.str("Timezone", required=False),
        financial_year_end_day=r.int("FinancialYearEndDay"),
        financial_year_end_month=r.int("FinancialYearEndMonth"),
        period_lock_date=lock.date() if lock else None,
        end_of_year_lock_date=eoy.date() if eoy else None,
    )


def parse_accounts(body: Any) -> list[XeroAccount]:
    endpoint = "Accounts"
    accounts = []
    for i, item in enumerate(_list_of(body, "Accounts", endpoint)):
        r = _Reader(endpoint, item, f"Accounts[{i}]")
        accounts.append(
            XeroAccount(
                account_id=r.str("AccountID"),
                code=r.str("Code", required=False),
                name=r.str("Name"),
                type=r.str("Type"),
                account_class=r.str("Class", required=False),
                status=r.str("Status", required=False, default="ACTIVE"),
                updated_utc=r.msdate("UpdatedDateUTC", required=False),
                system_account=r.str("SystemAccount", required=False),
            )
        )
    return accounts


def parse_tracking_categories(body: Any) -> list[XeroTrackingCategory]:
    endpoint = "TrackingCategories"
    categories = []
    for i, item in enumerate(_list_of(body, "TrackingCategories", endpoint)):
        r = _Reader(endpoint, item, f"TrackingCategories[{i}]")
        options = []
        for j, option in enumerate(r.list("Options")):
            o = r.child(option, f"Options[{j}]")
            options.append(
                XeroTrackingOption(
                    option_id=o.str("TrackingOptionID"),
                    name=o.str("Name"),
                    status=o.str("Status", required=False, default="ACTIVE"),
                )
            )
        categories.append(
            XeroTrackingCategory(
                category_id=r.str("TrackingCategoryID"),
                name=r.str("Name"),
                status=r.str("Status", required=False, default="ACTIVE"),
                options=tuple(options),
            )
        )
    return categories


def parse_budgets(body: Any, *, endpoint: str = "Budgets") -> list[XeroBudget]:
    budgets = []
    for i, item in enumerate(_list_of(body, "Budgets", endpoint)):
        r = _Reader(endpoint, item, f"Budgets[{i}]")
        tracking = []
        for j, t in enumerate(r.list("Tracking")):
            tr = r.child(t, f"Tracking[{j}]")
            tracking.append((tr.str("TrackingCategoryID"), tr.str("TrackingOptionID")))
        lines = []
        for j, line in enumerate(r.list("BudgetLines")):
            lr = r.child(line, f"BudgetLines[{j}]")
            balances = []
            for k, balance in enumerate(lr.list("BudgetBalances")):
                br = lr.child(balance, f"BudgetBalances[{k}]")
                # Xero's budgeted figure is Amount; UnitAmount is optional (xero-api-facts §1).
                amount = br.money("Amount", required=False)
                if amount is None:
                    amount = br.money("UnitAmount", required=False)
                if amount is None:
                    raise XeroPayloadError(endpoint, br._where("Amount"), "missing")
                balances.append(
                    XeroBudgetBalance(
                        period=_period(
                            br.str("Period"), endpoint=endpoint, where=br._where("Period")
                        ),
                        amount=amount,
                        notes=br.str("Notes", required=False),
                    )
                )
            lines.append(
                XeroBudgetLine(
                    account_id=lr.str("AccountID"),
                    account_code=lr.str("AccountCode", required=False),
                    balances=tuple(balances),
                )
            )
        budgets.append(
            XeroBudget(
                budget_id=r.str("BudgetID"),
                type=r.str("Type"),
                description=r.str("Description", required=False),
                updated_utc=r.msdate("UpdatedDateUTC", required=False),
                tracking=tuple(tracking),
                lines=tuple(lines),
            )
        )
    return budgets


def parse_profit_and_loss(body: Any, *, endpoint: str = "Reports/ProfitAndLoss") -> ProfitAndLoss:
    """Account rows are Rows whose first cell carries an 'account' attribute (AccountID, or
    FXGROUPID for grouped currency accounts); map by AccountID, never by section title."""
    reports = _list_of(body, "Reports", endpoint)
    if not reports:
        raise XeroPayloadError(endpoint, "Reports", "empty")
    report = _Reader(endpoint, reports[0], "Reports[0]")
    columns: tuple[str, ...] = ()
    rows: list[ReportAccountRow] = []
    totals: dict[str, tuple[Decimal, ...]] = {}
    for i, section in enumerate(report.list("Rows", required=True)):
        sr = report.child(section, f"Rows[{i}]")
        row_type = sr.str("RowType")
        if row_type == "Header":
            columns = tuple(
                sr.child(c, f"Cells[{j}]").str("Value", required=False)
                for j, c in enumerate(sr.list("Cells"))
            )[1:]
            continue
        title = sr.str("Title", required=False).strip()
        for j, row in enumerate(sr.list("Rows")):
            rr = sr.child(row, f"Rows[{j}]")
            cells = rr.list("Cells")
            if not cells:
                continue
            first = rr.child(cells[0], "Cells[0]")
            label = first.str("Value", required=False)
            account_id = next(
                (
                    a.get("Value")
                    for a in first.list("Attributes")
                    if isinstance(a, dict) and a.get("Id") == "account"
                ),
                None,
            )
            values = tuple(
                _cell_amount(rr.child(cell, f"Cells[{k + 1}]"), endpoint)
                for k, cell in enumerate(cells[1:])
            )
            if columns and len(values) != len(columns):
                raise XeroPayloadError(
                    endpoint, rr._where("Cells"), f"{len(values)} values for {len(columns)} columns"
                )
            if account_id:
                rows.append(ReportAccountRow(account_id, label, title, values))
            elif label:
                totals[label] = values
    return ProfitAndLoss(columns=columns, rows=tuple(rows), totals=totals)


def parse_balance_sheet(body: Any) -> ProfitAndLoss:
    """A Balance Sheet has the P&L's shape (xero-api-facts §2.3): a header of dates, sections
    (Bank, Current Assets, ..., Equity) of account rows, and rows without an account for Xero's
    own lines (Net Assets, Current Year Earnings, Retained Earnings) and the totals. So it is read
    by the same reader, and its columns are mapped by the same header reading."""
    return parse_profit_and_loss(body, endpoint="Reports/BalanceSheet")


# --- Reading a P&L's columns by their headers ----------------------------------------------------
#
# Xero's documentation gives no P&L header strings for comparison periods or tracking columns
# (xero-api-facts §2, [unverified]): the date may be "31 Mar 26" (the docs' single-period
# example), "31 Mar 2026" (the BalanceSheet example) or "Mar 2026"; tracking columns are named by
# option, then "Unassigned" and "Total"; the order is not documented. So every column is mapped
# by its header and the map is checked against what was asked, never assumed from positions.

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE = r"(?:(?P<day>\d{1,2})\s+)?(?P<month>[A-Za-z]{3})[a-z]*\.?[\s-]+(?P<year>\d{4}|\d{2})"
_DATE_AT_END = re.compile(rf"^(?P<rest>.*?)[\s,;:()\-\u2013]*\b{_DATE}\)?\s*$")
_DATE_AT_START = re.compile(rf"^\s*\(?{_DATE}\b[\s,;:()\-\u2013]*(?P<rest>.*)$")
TOTAL, UNASSIGNED = "total", "unassigned"


@dataclass(frozen=True)
class ColumnLabel:
    """A P&L header cell: the month it names (None if it names none) and the rest of it."""

    label: str
    month: dt.date | None
    # The day the header names, if any ("31 Mar 26" -> 31): a day other than the month's first
    # or last marks a partial period (Xero applies the base range to each prior period).
    day: int | None
    name: str


def parse_column_label(label: str) -> ColumnLabel:
    for pattern in (_DATE_AT_END, _DATE_AT_START):
        match = pattern.match(label or "")
        if not match or match.group("month").lower()[:3] not in _MONTHS:
            continue
        year = int(match.group("year"))
        year += 2000 if year < 100 else 0
        month = dt.date(year, _MONTHS[match.group("month").lower()[:3]], 1)
        day = int(match.group("day")) if match.group("day") else None
        return ColumnLabel(label, month, day, match.group("rest").strip(" ,;:-\u2013()"))
    return ColumnLabel(label, None, None, (label or "").strip())


@dataclass(frozen=True)
class ColumnKey:
    """What one column of a P&L holds: a month, and the whole organisation (option_id None,
    kind "all"), one tracking option, the lines with no option ("unassigned") or the total."""

    month: dt.date
    kind: str  # "all", "option", UNASSIGNED or TOTAL
    option_id: str | None = None


@dataclass(frozen=True)
class ProfitAndLossLayout:
    columns: tuple[tuple[int, ColumnKey], ...]
    # Options the report left out, per month, that its Total column could not prove to be zero:
    # they need a request of their own (trackingOptionID).
    unresolved: dict[dt.date, frozenset[str]] = field(default_factory=dict)
    # Options left out whose figures the Total column proves to be zero.
    zero: dict[dt.date, frozenset[str]] = field(default_factory=dict)


class ReportLayoutMismatch(XeroPayloadError):
    """A report whose columns are not what was asked for (periods ignored, an unknown column):
    the sync falls back to a request shape Xero documents."""

    def __init__(self, problem: str, *, endpoint: str = "Reports/ProfitAndLoss"):
        super().__init__(endpoint, "Rows[0].Cells", problem)


def _last_day(month: dt.date) -> int:
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def profit_and_loss_layout(
    report: ProfitAndLoss,
    *,
    months: list[dt.date],
    options: dict[str, str] | None = None,
) -> ProfitAndLossLayout:
    """Map each column of `report` to what it holds and check it is exactly what was asked.

    `months` are the periods asked for (first days of months), `options` the tracking options of
    the category asked for by name (name -> TrackingOptionID), or None for a report without
    tracking. Raises ReportLayoutMismatch when the columns are not those months (and options).
    """
    by_name = {name.strip().lower(): option_id for name, option_id in (options or {}).items()}
    # An option's own name wins over a date read into it ("Store May 2026" is an option).
    labels = [
        ColumnLabel(label, None, None, label.strip())
        if label.strip().lower() in by_name
        else parse_column_label(label)
        for label in report.columns
    ]
    asked = set(months)
    for label in labels:
        if label.day is not None and label.month and label.day not in (1, _last_day(label.month)):
            raise ReportLayoutMismatch(f"column {label.label!r} is part of a month")
    if not any(label.month for label in labels):
        # No dates at all: only one period can have been answered, and it must be the one asked.
        if len(asked) != 1:
            raise ReportLayoutMismatch(
                f"{len(asked)} periods asked, but none of the {len(labels)} columns names a date"
            )
        (only,) = asked
        labels = [ColumnLabel(x.label, only, None, x.name) for x in labels]
    columns: list[tuple[int, ColumnKey]] = []
    seen: set[tuple[dt.date, str, str | None]] = set()
    for index, label in enumerate(labels):
        name = label.name.lower()
        if label.month is None:
            # A grand total across periods (no date) is not a month's figure.
            if name == TOTAL:
                continue
            raise ReportLayoutMismatch(f"column {label.label!r} names no period")
        if label.month not in asked:
            raise ReportLayoutMismatch(f"column {label.label!r} is a period not asked for")
        if options is None:
            if name:
                raise ReportLayoutMismatch(f"column {label.label!r} is not a period")
            key = ColumnKey(label.month, "all")
        elif name in (TOTAL, UNASSIGNED):
            key = ColumnKey(label.month, name)
        elif name in by_name:
            key = ColumnKey(label.month, "option", by_name[name])
        else:
            raise ReportLayoutMismatch(f"column {label.label!r} is no option of the category")
        if (key.month, key.kind, key.option_id) in seen:
            raise ReportLayoutMismatch(f"column {label.label!r} appears twice")
        seen.add((key.month, key.kind, key.option_id))
        columns.append((index, key))
    missing_months = asked - {key.month for _i, key in columns}
    if missing_months:
        raise ReportLayoutMismatch(
            f"no column for {', '.join(f'{m:%b %Y}' for m in sorted(missing_months))}"
        )
    if options is None:
        return ProfitAndLossLayout(columns=tuple(columns))
    unresolved: dict[dt.date, frozenset[str]] = {}
    zero: dict[dt.date, frozenset[str]] = {}
    for month in sorted(asked):
        here = {key.option_id for _i, key in columns if key.month == month and key.kind == "option"}
        missing = frozenset(set(by_name.values()) - here)
        if not missing:
            continue
        if _total_proves_zero(report, columns, month):
            zero[month] = missing
        else:
            unresolved[month] = missing
    return ProfitAndLossLayout(columns=tuple(columns), unresolved=unresolved, zero=zero)


def _total_proves_zero(
    report: ProfitAndLoss, columns: list[tuple[int, ColumnKey]], month: dt.date
) -> bool:
    """True when, on every row, the month's Total equals its option columns plus Unassigned:
    then the options left out have nothing (the report omits empty options)."""
    total = next((i for i, key in columns if key.month == month and key.kind == TOTAL), None)
    if total is None:
        return False
    parts = [i for i, key in columns if key.month == month and key.kind in ("option", UNASSIGNED)]
    rows = [row.values for row in report.rows] + list(report.totals.values())
    return all(values[total] == sum((values[i] for i in parts), Decimal("0.00")) for values in rows)


def _cell_amount(cell: _Reader, endpoint: str) -> Decimal:
    value = cell.raw("Value", required=False)
    if value in (None, ""):
        return Decimal("0.00")
    return parse_money(value, endpoint=endpoint, where=cell._where("Value"))
