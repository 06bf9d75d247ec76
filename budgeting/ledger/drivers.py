"""Transaction lines, the drivers behind a variance: fetched from Xero's documents and manual
journals, stored in the P&L's natural sign, and reconciled with the P&L per account and month.

The conversion itself (tax, currency, rounding, which statuses count) is Xero's and lives in
integrations/xero/documents.py. What the lines do not explain is stored as a DriverRemainder and
shown wherever the lines are listed, never dropped: a line Xero has and we do not (a journal
whose scope was not granted, a document outside the window) shows up there.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce, TruncMonth

from budgeting.ledger.models import (
    Account,
    ActualBalance,
    DriverRemainder,
    TrackingOption,
    TransactionLine,
)
from core.months import add_months, month_start
from integrations.xero.client import XeroClient
from integrations.xero.documents import (
    DOCUMENT_ENDPOINTS,
    MANUAL_JOURNALS,
    XeroTransactionLine,
)
from integrations.xero.errors import XeroForbidden, XeroHttpError, XeroPayloadError
from tenants.models import ClientOrganisation, Firm

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Classes of the accounts on the Profit and Loss; lines on balance-sheet accounts (capex,
# accumulated depreciation) are kept but have no P&L actual to reconcile with.
PROFIT_AND_LOSS_CLASSES = ("REVENUE", "EXPENSE")
# ManualJournals opens with the granular scope (apps from March 2026) or the broad one
# (xero-api-facts §5).
MANUAL_JOURNAL_SCOPES = frozenset(
    {
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "accounting.transactions",
        "accounting.transactions.read",
    }
)
JOURNALS_NOT_GRANTED = (
    "Manual journals were skipped: this Xero connection was not granted "
    "accounting.manualjournals.read. Connect Xero again to include depreciation, accruals and "
    "other journals; until then they show as unexplained amounts."
)
JOURNALS_REFUSED = (
    "Manual journals were skipped: Xero refused to list them (403). Check the connecting user's "
    "role in Xero; until then they show as unexplained amounts."
)
# Xero itself always has the endpoint; a replayed capture made before journals were read does
# not, and it should still replay.
JOURNALS_MISSING = (
    "Manual journals were skipped: Xero answered 404 for ManualJournals; until they are read "
    "they show as unexplained amounts."
)


def natural_amount(debit: Decimal, account_class: str) -> Decimal:
    """A line's debit (positive) or credit (negative) as the P&L shows the account: revenue up
    is positive on a revenue account, an expense up is positive on an expense account."""
    return -debit if account_class == "REVENUE" else debit


def manual_journals_granted(scopes: str) -> bool | None:
    """Whether the connection's granted scopes open ManualJournals; None when they were never
    recorded (then the call decides)."""
    granted = set(scopes.split())
    if not granted:
        return None
    return bool(granted & MANUAL_JOURNAL_SCOPES)


def transaction_lines_fetch(
    client: XeroClient,
    *,
    modified_since: dt.datetime,
    known_accounts: set[str],
    notes: list[str],
    progress: Callable[[str], None],
) -> list[XeroTransactionLine]:
    """Every line of the documents and manual journals changed since `modified_since`.

    A connection that cannot read manual journals still syncs; the run's notes say they were
    skipped, and their amounts show as unexplained remainders.
    """
    lines: list[XeroTransactionLine] = []
    for endpoint in DOCUMENT_ENDPOINTS:
        progress(endpoint)
        lines.extend(client.transaction_lines(endpoint, modified_since=modified_since))
    if manual_journals_granted(client.tenant.connection.scopes) is False:
        notes.append(JOURNALS_NOT_GRANTED)
    else:
        progress(MANUAL_JOURNALS)
        try:
            lines.extend(client.transaction_lines(MANUAL_JOURNALS, modified_since=modified_since))
        except XeroForbidden:
            notes.append(JOURNALS_REFUSED)
        except XeroHttpError as error:
            if error.status != 404:
                raise
            notes.append(JOURNALS_MISSING)
    for line in lines:
        if line.account_id and line.account_id not in known_accounts:
            raise XeroPayloadError(
                line.source,
                f"{line.document_type} {line.document_number or line.document_id}: AccountID",
                f"unknown account {line.account_id!r} (not in Accounts)",
            )
    return lines


def transaction_lines_publish(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    lines: list[XeroTransactionLine],
    since: dt.date,
    incremental: bool,
    accounts: dict[str, Account],
    options: dict[str, TrackingOption],
) -> int:
    """Store the posted lines; returns how many lines the organisation now has.

    A full sync replaces every line dated from `since`; an incremental one replaces the lines of
    the documents that came back (a voided or deleted document comes back with its lines, which
    are then not stored). Lines before `since` fall out of the retention window.
    """
    stored = TransactionLine.objects.for_firm(firm).filter(organisation=organisation)
    if incremental:
        stored.filter(document_id__in={t.document_id for t in lines}).delete()
    else:
        stored.filter(date__gte=since).delete()
    stored.filter(date__lt=since).delete()
    create = []
    for t in lines:
        if not t.posted or t.date < since:
            continue
        account = accounts.get(t.account_id)
        tracked = [options.get(option_id) for _cat, option_id in t.tracking if option_id]
        create.append(
            TransactionLine(
                firm=firm,
                organisation=organisation,
                document_type=t.document_type,
                document_id=t.document_id,
                document_number=t.document_number,
                line_id=t.line_id,
                date=t.date,
                account=account,
                contact_id=t.contact_id,
                contact_name=t.contact_name,
                description=t.description,
                amount=natural_amount(t.debit, account.account_class if account else "EXPENSE"),
                line_amount=t.line_amount,
                tax_amount=t.tax_amount,
                line_amount_types=t.line_amount_types,
                currency_code=t.currency_code,
                currency_rate=t.currency_rate,
                tracking_option=tracked[0] if tracked else None,
                tracking_option_2=tracked[1] if len(tracked) > 1 else None,
                updated_utc=t.updated_utc,
            )
        )
    TransactionLine.objects.bulk_create(create, batch_size=2000)
    return stored.count()


def driver_remainders_refresh(
    *, firm: Firm, organisation: ClientOrganisation, since: dt.date, until: dt.date
) -> int:
    """Reconcile the lines with the P&L per account and month from `since` (the first month
    whose lines are kept) to `until` (the last month whose P&L was read: the organisation's
    open month), overall and per active tracking option, and store every non-zero remainder in
    place of the previous ones. Returns how many are above one cent.

    Lines dated after `until` (a bill dated ahead, or the first of next month already in Xero's
    time zone while it is still this month in the organisation's) have no P&L to be compared
    with yet: they are compared once their month is read."""
    remainders = DriverRemainder.objects.for_firm(firm).filter(organisation=organisation)
    remainders.delete()
    accounts = Account.objects.for_firm(firm).filter(
        organisation=organisation, account_class__in=PROFIT_AND_LOSS_CLASSES
    )
    # Tracking actuals are read for the active options of each category (the P&L by category
    # has a column for each of them only).
    active = set(
        TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation, status="ACTIVE")
        .values_list("pk", flat=True)
    )
    actual: dict[tuple[int, int | None, dt.date], Decimal] = defaultdict(lambda: ZERO)
    for account_id, option_id, period, amount in (
        ActualBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation, account__in=accounts, period__gte=since, period__lte=until
        )
        .values_list("account_id", "tracking_option_id", "period", "amount")
    ):
        if option_id is None or option_id in active:
            actual[(account_id, option_id, period)] += amount
    explained: dict[tuple[int, int | None, dt.date], Decimal] = defaultdict(lambda: ZERO)
    for row in (
        TransactionLine.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            account__in=accounts,
            date__gte=since,
            date__lt=add_months(month_start(until), 1),
        )
        # A line on a currency system account counts on the "FX gains and losses" line the
        # report shows them on (its report group), where the actual is.
        .annotate(
            period=TruncMonth("date"),
            report_account_id=Coalesce("account__report_group_id", "account_id"),
        )
        .values("report_account_id", "period", "tracking_option_id", "tracking_option_2_id")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        account_id, period, total = row["report_account_id"], row["period"], row["total"]
        explained[(account_id, None, period)] += total
        for option_id in {row["tracking_option_id"], row["tracking_option_2_id"]}:
            if option_id in active:
                explained[(account_id, option_id, period)] += total
    create = []
    for key in sorted(actual.keys() | explained.keys(), key=lambda k: (k[2], k[0], k[1] or 0)):
        remainder = actual.get(key, ZERO) - explained.get(key, ZERO)
        if remainder:
            account_id, option_id, period = key
            create.append(
                DriverRemainder(
                    firm=firm,
                    organisation=organisation,
                    account_id=account_id,
                    tracking_option_id=option_id,
                    period=period,
                    actual=actual.get(key, ZERO),
                    explained=explained.get(key, ZERO),
                    remainder=remainder,
                )
            )
    DriverRemainder.objects.bulk_create(create, batch_size=2000)
    return sum(1 for r in create if abs(r.remainder) > CENT)
