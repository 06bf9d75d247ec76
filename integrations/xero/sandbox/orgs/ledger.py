"""Profit and loss figures from document lines, with the sign convention of model.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from core.months import month_key
from integrations.xero.sandbox.model import (
    SandboxAccount,
    SandboxDocument,
    SandboxLine,
    SandboxManualJournal,
)
from integrations.xero.sandbox.orgs.builder import CREDIT_TYPES, ZERO

Actuals = dict[str, dict[str, Decimal]]  # AccountID -> {"YYYY-MM": amount}
_ALL_LINES = ""


def line_profit_and_loss(
    document: SandboxDocument, line: SandboxLine, account: SandboxAccount
) -> Decimal:
    """The line's effect on the P&L, positive in the account's natural direction.

    A line posts a credit (ACCREC, RECEIVE, ACCPAYCREDIT) or a debit (ACCPAY, SPEND,
    ACCRECCREDIT); a credit adds to a revenue account and takes from an expense account. This is
    how a foreign-exchange gain received into the bank reduces the currency gains account.
    """
    credit = document.type in CREDIT_TYPES
    revenue = account.account_class == "REVENUE"
    return line.base_amount if credit == revenue else -line.base_amount


def profit_and_loss_by_month(
    accounts: Iterable[SandboxAccount],
    documents: Iterable[SandboxDocument],
    journals: Iterable[SandboxManualJournal] = (),
) -> Actuals:
    """Monthly P&L per account: approved documents and posted manual journals (system ones
    included), independently of the report code."""
    totals = _accumulate(accounts, documents, lambda line: (_ALL_LINES,), journals)
    return totals.get(_ALL_LINES, {})


def profit_and_loss_by_option(
    accounts: Iterable[SandboxAccount], documents: Iterable[SandboxDocument]
) -> dict[str, Actuals]:
    """Monthly P&L per account of the lines tagged with each tracking option, in one pass
    (the group's tracking budgets need seven of these)."""
    return _accumulate(accounts, documents, lambda line: [option for _, option in line.tracking])


def _accumulate(
    accounts: Iterable[SandboxAccount],
    documents: Iterable[SandboxDocument],
    keys_of: Callable[[SandboxLine], Iterable[str]],
    journals: Iterable[SandboxManualJournal] = (),
) -> dict[str, Actuals]:
    profit_and_loss_accounts = {a.account_id: a for a in accounts if a.on_profit_and_loss}
    totals: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: ZERO))
    )
    for journal in journals:
        if journal.status != "POSTED":
            continue
        for journal_line in journal.lines:
            account = profit_and_loss_accounts.get(journal_line.account_id)
            if account is not None:
                # LineAmount is a debit when positive: it adds to an expense account.
                sign = -1 if account.account_class == "REVENUE" else 1
                totals[_ALL_LINES][account.account_id][month_key(journal.date)] += (
                    sign * journal_line.line_amount
                )
    for document in documents:
        if document.status not in ("AUTHORISED", "PAID"):
            continue  # drafts, submitted, voided and deleted documents are not in the P&L
        period = month_key(document.date)
        for line in document.lines:
            account = profit_and_loss_accounts.get(line.account_id)
            if account is None:
                continue
            amount = line_profit_and_loss(document, line, account)
            for key in keys_of(line):
                totals[key][line.account_id][period] += amount
    return {
        key: {account_id: dict(months) for account_id, months in by_account.items()}
        for key, by_account in totals.items()
    }
