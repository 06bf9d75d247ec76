"""The cash view as rows: the CSV export and the API read the same view (cash_view_load)."""

from __future__ import annotations

from collections.abc import Iterator

from budgeting.cash.selectors import CashView

HEADER = [
    "Month",
    "Actual or projected",
    "Revenue",
    "Costs",
    "Depreciation",
    "Net profit",
    "Receipts",
    "Payments",
    "GST/VAT paid",
    "Net cash flow",
    "Closing cash",
    "Debtors",
    "Creditors",
    "GST/VAT owed",
    "Other assets",
    "Other liabilities",
    "Equity",
    "Below threshold",
]


def cash_rows(view: CashView) -> Iterator[list]:
    yield HEADER
    threshold = view.projection.threshold
    for m in view.months:
        yield [
            m.period.strftime("%Y-%m"),
            "actual" if m.actual else "projected",
            m.revenue,
            m.costs,
            m.depreciation,
            m.net_profit,
            "" if m.actual else m.receipts,
            "" if m.actual else m.payments,
            "" if m.actual else m.tax_paid,
            m.net_cash_flow,
            m.cash,
            m.debtors,
            m.creditors,
            m.tax,
            m.other_assets,
            m.other_liabilities,
            m.equity,
            "" if threshold is None else ("yes" if m.cash < threshold else "no"),
        ]
