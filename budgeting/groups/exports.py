"""The consolidated report as CSV rows: each group line with its figures, then the line as each
member makes it up and what the eliminations took out, so a reader can add the parts up to the
line in a spreadsheet; then the intercompany pairs and what each does not balance by."""

from __future__ import annotations

from collections.abc import Iterator

from budgeting.groups.selectors import GroupReport
from core.months import month_key


def group_report_rows(view: GroupReport) -> Iterator[list[object]]:
    period = view.period
    yield [
        f"{view.group.name}: consolidated P&L, {month_key(period)}, in {view.currency}",
        view.basis_label,
    ]
    yield [
        "Section",
        "Code",
        "Account",
        "Part",
        "Actual",
        "Budget",
        "Variance",
        "Material",
        "YTD actual",
        "YTD budget",
        "YTD variance",
    ]
    names = {m.key: m.organisation.name for m in view.members}
    first = view.year_start
    for section in view.sections:
        for row in section.rows:
            line, group_line = row.line, row.group_line
            yield [
                section.label,
                line.code,
                line.name,
                "Group",
                line.month.actual,
                line.month.budget,
                line.month.variance,
                "yes" if line.month.material else "no",
                line.year_to_date.actual,
                line.year_to_date.budget,
                line.year_to_date.variance,
            ]
            parts = [(names[key], b) for key, b in group_line.members.items()]
            if group_line.eliminated.actuals or group_line.eliminated.budgets:
                parts.append(("Eliminated", group_line.eliminated))
            for name, balances in parts:
                month = (
                    balances.actual_between(first=period, last=period),
                    balances.budget_between(first=period, last=period),
                )
                ytd = (
                    balances.actual_between(first=first, last=period),
                    balances.budget_between(first=first, last=period),
                )
                yield [
                    section.label,
                    line.code,
                    line.name,
                    name,
                    month[0],
                    month[1],
                    month[0] - month[1],
                    "",
                    ytd[0],
                    ytd[1],
                    ytd[0] - ytd[1],
                ]
        total = section.total
        yield [
            section.label,
            "",
            section.label if section.is_profit else f"Total {section.label}",
            "Group",
            total.month.actual,
            total.month.budget,
            total.month.variance,
            "yes" if total.month.material else "no",
            total.year_to_date.actual,
            total.year_to_date.budget,
            total.year_to_date.variance,
        ]
    yield []
    yield ["Intercompany pair", "Income account", "Expense account", "Out of balance (month)",
           "Out of balance (budget)", "Out of balance (YTD)"]  # fmt: skip
    for row in view.eliminations:
        mapping = row.mapping
        yield [
            mapping.name,
            f"{mapping.income_account.organisation.name}: {mapping.income_account.name}",
            f"{mapping.expense_account.organisation.name}: {mapping.expense_account.name}",
            row.month_difference,
            row.month_budget_difference,
            row.year_to_date_difference,
        ]
