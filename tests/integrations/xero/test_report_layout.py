"""Reading Xero's P&L by its headers: each column is mapped by its header cell and checked
against what was asked, whatever the label format and order (pure: crafted payloads)."""

import datetime as dt
from decimal import Decimal

import pytest

from integrations.xero.parsing import (
    ColumnKey,
    ReportLayoutMismatch,
    parse_column_label,
    parse_profit_and_loss,
    profit_and_loss_layout,
)

RENT = "7d0b1c3e-0000-4000-8000-000000000001"
SALES = "e2bacdc6-2006-43c2-a5da-3c0e5f43b452"
NORTH, SOUTH = "opt-north", "opt-south"
OPTIONS = {"North": NORTH, "South": SOUTH}
MAR, FEB, JAN = dt.date(2026, 3, 1), dt.date(2026, 2, 1), dt.date(2026, 1, 1)


def report(headers: list[str], sales: list[str], rent: list[str], *, fx: list[str] | None = None):
    """A P&L payload in Xero's row format (xero-api-facts §2.1) with these column headers."""

    def account(name, account_id, values):
        attributes = [{"Value": account_id, "Id": "account"}]
        return {
            "RowType": "Row",
            "Cells": [{"Value": v, "Attributes": attributes} for v in (name, *values)],
        }

    fx_values = fx or ["0"] * len(sales)
    net = [
        str(Decimal(s) - Decimal(r) - Decimal(f))
        for s, r, f in zip(sales, rent, fx_values, strict=True)
    ]
    expenses = [account("Rent", RENT, rent)]
    if fx is not None:
        expenses.append(account("Foreign Currency Gains and Losses", "FXGROUPID", fx))
    return {
        "Reports": [
            {
                "ReportID": "ProfitAndLoss",
                "Rows": [
                    {
                        "RowType": "Header",
                        "Cells": [{"Value": ""}, *({"Value": h} for h in headers)],
                    },
                    {
                        "RowType": "Section",
                        "Title": " Income",
                        "Rows": [
                            account("Sales", SALES, sales),
                            {
                                "RowType": "SummaryRow",
                                "Cells": [
                                    {"Value": "Total Income"},
                                    *({"Value": v} for v in sales),
                                ],
                            },
                        ],
                    },
                    {"RowType": "Section", "Title": "Less Operating Expenses", "Rows": expenses},
                    {
                        "RowType": "Section",
                        "Title": "",
                        "Rows": [
                            {
                                "RowType": "Row",
                                "Cells": [{"Value": "NET PROFIT"}, *({"Value": v} for v in net)],
                            }
                        ],
                    },
                ],
            }
        ]
    }


@pytest.mark.parametrize(
    ("label", "month", "name"),
    [
        ("31 Mar 26", MAR, ""),
        ("31 Mar 2026", MAR, ""),
        ("Mar 2026", MAR, ""),
        ("Mar-26", MAR, ""),
        ("North 31 Mar 26", MAR, "North"),
        ("North, Mar 2026", MAR, "North"),
        ("Mar 2026 North", MAR, "North"),
        ("Unassigned 28 Feb 2026", FEB, "Unassigned"),
        ("Total", None, "Total"),
        ("North", None, "North"),
    ],
)
def test_a_header_names_its_month_in_any_plausible_format(label, month, name):
    parsed = parse_column_label(label)
    assert (parsed.month, parsed.name) == (month, name)


@pytest.mark.parametrize(
    "headers",
    [
        ["31 Mar 26", "28 Feb 26", "31 Jan 26"],  # the docs' short date, newest first
        ["31 Jan 2026", "28 Feb 2026", "31 Mar 2026"],  # long dates, oldest first
        ["Feb 2026", "Mar 2026", "Jan 2026"],  # month names, any order
    ],
)
def test_columns_without_tracking_map_to_their_months_whatever_the_format_and_order(headers):
    by_month = {MAR: "3", FEB: "2", JAN: "1"}
    order = [parse_column_label(h).month for h in headers]
    body = report(headers, [by_month[m] for m in order], ["0.50"] * 3)
    layout = profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR, FEB, JAN])
    parsed = parse_profit_and_loss(body)
    sales = next(r for r in parsed.rows if r.account_id == SALES)
    got = {key.month: sales.values[i] for i, key in layout.columns}
    assert got == {m: Decimal(v) for m, v in by_month.items()}


def test_periods_ignored_with_tracking_is_a_mismatch_not_a_misreading():
    # Asked for three months by Region; Xero answered one period's option columns.
    body = report(["North", "South", "Unassigned", "Total"], ["1", "2", "0", "3"], ["0"] * 4)
    with pytest.raises(ReportLayoutMismatch, match="3 periods asked, but none"):
        profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR, FEB, JAN], options=OPTIONS)


def test_one_period_by_option_maps_options_unassigned_and_total():
    body = report(["South", "North", "Unassigned", "Total"], ["2", "1", "0.25", "3.25"], ["0"] * 4)
    layout = profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR], options=OPTIONS)
    assert dict(layout.columns) == {
        0: ColumnKey(MAR, "option", SOUTH),
        1: ColumnKey(MAR, "option", NORTH),
        2: ColumnKey(MAR, "unassigned"),
        3: ColumnKey(MAR, "total"),
    }
    assert layout.unresolved == {} and layout.zero == {}


def test_periods_with_tracking_map_by_option_and_month():
    headers = [
        "North 31 Mar 26",
        "South 31 Mar 26",
        "Total 31 Mar 26",
        "North 28 Feb 26",
        "South 28 Feb 26",
        "Total 28 Feb 26",
    ]
    body = report(headers, ["1", "2", "3", "4", "5", "9"], ["0"] * 6)
    layout = profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR, FEB], options=OPTIONS)
    assert dict(layout.columns)[3] == ColumnKey(FEB, "option", NORTH)
    assert len(layout.columns) == 6


def test_an_omitted_option_is_zero_when_the_total_proves_it_and_unresolved_otherwise():
    proven = report(["North", "Unassigned", "Total"], ["1", "0.50", "1.50"], ["2", "0", "2"])
    layout = profit_and_loss_layout(parse_profit_and_loss(proven), months=[MAR], options=OPTIONS)
    assert layout.zero == {MAR: frozenset({SOUTH})} and layout.unresolved == {}

    # No Unassigned column: North plus the missing South and the unassigned lines make Total,
    # so South cannot be told from the unassigned lines and needs a request of its own.
    unproven = report(["North", "Total"], ["1", "1.50"], ["2", "2"])
    layout = profit_and_loss_layout(parse_profit_and_loss(unproven), months=[MAR], options=OPTIONS)
    assert layout.unresolved == {MAR: frozenset({SOUTH})}


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        (["31 Mar 26", "31 Mar 26"], "appears twice"),
        (["31 Mar 26", "31 Dec 25"], "not asked for"),
        (["31 Mar 26", "30 Jan 26"], "part of a month"),
        (["31 Mar 26", "Budget"], "names no period"),
    ],
)
def test_columns_that_are_not_what_was_asked_are_refused(headers, problem):
    body = report(headers, ["1", "2"], ["0", "0"])
    with pytest.raises(ReportLayoutMismatch, match=problem):
        profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR, JAN])


def test_an_unknown_option_is_refused():
    body = report(["North", "East", "Total"], ["1", "2", "3"], ["0"] * 3)
    with pytest.raises(ReportLayoutMismatch, match="no option"):
        profit_and_loss_layout(parse_profit_and_loss(body), months=[MAR], options=OPTIONS)


def test_the_fx_group_row_is_read_as_a_row_of_its_own():
    body = report(["31 Mar 26"], ["100"], ["40"], fx=["-2.35"])
    parsed = parse_profit_and_loss(body)
    fx = next(r for r in parsed.rows if r.account_id == "FXGROUPID")
    assert fx.values == (Decimal("-2.35"),)
    assert fx.section == "Less Operating Expenses"
    assert parsed.totals["NET PROFIT"] == (Decimal("62.35"),)
