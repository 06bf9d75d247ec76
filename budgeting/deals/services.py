"""Writes for a client's sales pipeline: importing a CRM export (a CSV upload or the API's
rows) as a new version, every row checked first.

A file is read with core.csv's one reader; each row is then checked on its own (the deal, a
number for the amount, a stage or a probability, a close month in range, a known tracking
option and revenue account), and every refusal is collected with its row, column and reason.
One refusal and nothing is saved; otherwise the version and all its deals are saved in one
transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Max

from budgeting.deals.maths import HUNDRED, stage_probability
from budgeting.deals.models import Deal, SalesPipelineUpload
from budgeting.deals.selectors import (
    pipeline_open_month,
    revenue_account_default,
    revenue_accounts,
)
from budgeting.ledger.models import Account, TrackingOption
from core.csv import CsvReadError, csv_upload_read
from core.history import history_note
from core.money import money
from core.months import Period, add_months, month_key, parse_month
from tenants.models import ClientOrganisation, Firm, User

# The columns of a CRM export, in the order the docs list them (README: sales pipeline).
COLUMNS = ("deal", "amount", "stage", "probability", "close_month", "tracking_option", "account")
REQUIRED = ("deal", "amount", "close_month")
MAX_ROWS = 5_000
MAX_BYTES = 1_000_000
# A deal closes from the pipeline's month to three years after it.
MONTHS_AHEAD = 36
EARLIEST_AS_OF = Period(2000, 1, 1)
MAX_AMOUNT = Decimal("1000000000000")  # below the MONEY field's 14 whole digits
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
SHOWN_ERRORS = 200


@dataclass(frozen=True)
class RowError:
    row: int  # the file's line (header = 1), or the API's deal number (first = 1)
    column: str  # "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}" if self.row else "The file"
        return f"{where}{f', {self.column}' if self.column else ''}: {self.message}"


class DealImportError(ValueError):
    """An import refused; `errors` says where and why, row by row. Nothing was saved."""

    def __init__(self, errors: Sequence[RowError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(e) for e in self.errors[:5]))


def _amount(text: str) -> Decimal | str:
    """The amount, or why it is refused."""
    cleaned = text.replace(" ", "")
    if _GROUPED.fullmatch(cleaned):
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return f"{text!r} is not a number (write 12500.00)"
    if not value.is_finite():
        return f"{text!r} is not a number (write 12500.00)"
    if value < 0:
        return f"{text} is negative; a deal's amount is what it would bring in"
    if value >= MAX_AMOUNT:
        return f"{text} is too large"
    if value != value.quantize(Decimal("0.01")):
        return f"{text} has more than two decimals"
    return money(value)


def _probability(text: str) -> Decimal | str:
    cleaned = text.removesuffix("%").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return f"{text!r} is not a percentage (write 40 or 40%)"
    if not value.is_finite() or not 0 <= value <= HUNDRED:
        return f"{text} is not between 0 and 100"
    return value.quantize(Decimal("0.01"))


class _Options:
    """The organisation's tracking options by name: 'Option' when one category has it,
    'Category: Option' always."""

    def __init__(self, options: Sequence[TrackingOption]):
        self.full = {f"{o.category.name}: {o.name}".casefold(): o for o in options}
        self.by_name: dict[str, list[TrackingOption]] = {}
        for option in options:
            self.by_name.setdefault(option.name.casefold(), []).append(option)

    def find(self, text: str) -> TrackingOption | str:
        key = re.sub(r"\s*[:/]\s*", ": ", text.strip(), count=1).casefold()
        if key in self.full:
            return self.full[key]
        named = self.by_name.get(text.strip().casefold(), [])
        if len(named) == 1:
            return named[0]
        if named:
            categories = ", ".join(sorted(o.category.name for o in named))
            return f"{text!r} is an option of {categories}: write it as Category: Option"
        return f"unknown tracking option {text!r}"


def _account_find(accounts: Sequence[Account], text: str) -> Account | str:
    key = text.strip().casefold()
    for account in accounts:
        if account.code.casefold() == key or account.name.casefold() == key:
            return account
    return f"no revenue account has the code or name {text!r}"


def _deal_from_row(
    row: int,
    cells: Mapping[str, str],
    *,
    as_of: Period,
    options: _Options,
    accounts: Sequence[Account],
    default_account: Account,
) -> tuple[Deal | None, list[RowError]]:
    errors: list[RowError] = []

    def refuse(column: str, message: str) -> None:
        errors.append(RowError(row, column, message))

    name = cells.get("deal", "")
    if not name:
        refuse("deal", "the deal has no name")
    elif len(name) > 255:
        refuse("deal", "the name is longer than 255 characters")
    amount = _amount(cells["amount"]) if cells.get("amount") else "the deal has no amount"
    if isinstance(amount, str):
        refuse("amount", amount)
    stage = cells.get("stage", "")
    if len(stage) > 100:
        refuse("stage", "the stage is longer than 100 characters")
    probability: Decimal | str | None = None
    from_stage = False
    if cells.get("probability"):
        probability = _probability(cells["probability"])
    elif stage:
        probability = stage_probability(stage)
        from_stage = True
        if probability is None:
            probability = f"stage {stage!r} has no default probability: give a probability (0-100)"
    else:
        probability = "give a stage or a probability"
    if isinstance(probability, str):
        refuse("probability", probability)
    close = parse_month(cells.get("close_month"))
    last = add_months(as_of, MONTHS_AHEAD - 1)
    if close is None:
        refuse(
            "close_month",
            f"{cells.get('close_month', '')!r} is not a month (write 2027-03 or 2027-03-31)",
        )
    elif not as_of <= close <= last:
        refuse(
            "close_month",
            f"{month_key(close)} is out of range: a deal of the pipeline as of "
            f"{as_of:%b %Y} closes from {month_key(as_of)} to {month_key(last)}",
        )
    option = options.find(cells["tracking_option"]) if cells.get("tracking_option") else None
    if isinstance(option, str):
        refuse("tracking_option", option)
    account = _account_find(accounts, cells["account"]) if cells.get("account") else default_account
    if isinstance(account, str):
        refuse("account", account)
    if errors:
        return None, errors
    return (
        Deal(
            row=row,
            name=name,
            amount=amount,
            stage=stage,
            probability=probability,
            probability_from_stage=from_stage,
            close_month=close,
            account=account,
            tracking_option=option,
        ),
        [],
    )


def sales_pipeline_import(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    user: User | None,
    as_of: Period | None = None,
    default_account: Account | None = None,
    file_name: str = "",
    source: str = SalesPipelineUpload.Source.CSV,
) -> SalesPipelineUpload:
    """Save `rows` (row number, cells by column) as the next version of the organisation's
    pipeline, as of `as_of` (this month where the client is, by default); all rows or none."""
    open_month = pipeline_open_month(firm=firm, organisation=organisation)
    as_of = as_of or open_month
    if as_of.day != 1:
        raise DealImportError([RowError(0, "as_of", "the pipeline's month is a first of month")])
    if not EARLIEST_AS_OF <= as_of <= open_month:
        raise DealImportError(
            [
                RowError(
                    0,
                    "as_of",
                    f"a pipeline is as of a month from {month_key(EARLIEST_AS_OF)} to this "
                    f"month ({month_key(open_month)}), not {month_key(as_of)}",
                )
            ]
        )
    accounts = revenue_accounts(firm=firm, organisation=organisation)
    if default_account is None:
        default_account = revenue_account_default(firm=firm, organisation=organisation)
    elif default_account.pk not in {a.pk for a in accounts}:
        raise DealImportError(
            [RowError(0, "account", "choose one of the client's revenue accounts")]
        )
    if default_account is None:
        raise DealImportError(
            [RowError(0, "account", "the client has no revenue account yet: sync it from Xero")]
        )
    if not rows:
        raise DealImportError([RowError(0, "", "there is no deal in it")])
    if len(rows) > MAX_ROWS:
        raise DealImportError([RowError(0, "", f"more than {MAX_ROWS} deals")])
    options = _Options(
        TrackingOption.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("category")
    )
    deals, errors = [], []
    for row, cells in rows:
        deal, refused = _deal_from_row(
            row,
            cells,
            as_of=as_of,
            options=options,
            accounts=accounts,
            default_account=default_account,
        )
        errors.extend(refused)
        if deal is not None:
            deals.append(deal)
    if errors:
        raise DealImportError(errors)
    with transaction.atomic():
        # The organisation's row orders two uploads at once: each gets its own version.
        ClientOrganisation.objects.for_firm(firm).select_for_update().filter(
            pk=organisation.pk
        ).first()
        latest = (
            SalesPipelineUpload.objects.for_firm(firm)
            .filter(organisation=organisation)
            .aggregate(latest=Max("version"))["latest"]
        )
        upload = SalesPipelineUpload(
            firm=firm,
            organisation=organisation,
            version=(latest or 0) + 1,
            as_of=as_of,
            source=source,
            file_name=file_name[:255],
            default_account=default_account,
            deal_count=len(deals),
            total_amount=sum((d.amount for d in deals), Decimal("0.00")),
            weighted_amount=sum(
                (money(d.amount * d.probability / HUNDRED) for d in deals), Decimal("0.00")
            ),
            uploaded_by=user,
        )
        history_note(
            upload,
            reason=f"Sales pipeline v{upload.version} uploaded: {len(deals)} deals"
            + (f" from {file_name}" if file_name else " by the API"),
            user=user,
        )
        upload.save()
        for deal in deals:
            deal.firm, deal.organisation, deal.upload = firm, organisation, upload
        Deal.objects.bulk_create(deals)
    return upload


def sales_pipeline_import_csv(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    data: bytes,
    file_name: str,
    user: User | None,
    as_of: Period | None = None,
    default_account: Account | None = None,
) -> SalesPipelineUpload:
    """A CRM export uploaded as CSV (columns: COLUMNS) as the next version."""
    try:
        rows = csv_upload_read(
            data, columns=COLUMNS, required=REQUIRED, max_bytes=MAX_BYTES, max_rows=MAX_ROWS
        )
    except CsvReadError as exc:
        raise DealImportError([RowError(0, "", str(exc))]) from exc
    return sales_pipeline_import(
        firm=firm,
        organisation=organisation,
        rows=rows,
        user=user,
        as_of=as_of,
        default_account=default_account,
        file_name=file_name,
        source=SalesPipelineUpload.Source.CSV,
    )
