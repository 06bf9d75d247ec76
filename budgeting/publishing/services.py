"""Writes for publishing to Xero: the Budget Manager import file, and its check after a sync.

`budget_publication_create` writes the file for one target budget (overall or tracking), keeps
the figures it asks for, and emails it to the preparer with the import steps. After each
successful sync, `budget_publications_verify` compares those figures with what Xero now holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from budgeting.drafts.models import Draft, DraftBalance
from budgeting.drafts.services import draft_status_set
from budgeting.ledger.models import Account, Budget, BudgetBalance
from budgeting.publishing.import_file import (
    ImportFileError,
    ImportRow,
    budget_import_touched,
    budget_import_verify,
    whole_units,
    xero_budget_import_file,
)
from budgeting.publishing.models import BudgetPublication
from core.email import email_send
from core.history import history_note
from core.tasks import enqueue
from tenants.models import ClientOrganisation, Firm, User

logger = logging.getLogger(__name__)


class PublicationError(Exception):
    """A file that cannot be made; the message says why and what to do."""


def _month(period: dt.date) -> dt.date:
    return dt.date(period.year, period.month, 1)


def _xero_figures(
    firm: Firm, organisation: ClientOrganisation, xero_budget_id: str, cells
) -> dict[tuple[int, dt.date], Decimal]:
    """What the last sync read from Xero for these (account pk, period) cells of a budget."""
    accounts = {account for account, _period in cells}
    periods = {period for _account, period in cells}
    rows = (
        BudgetBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            budget_line__budget__budget_id=xero_budget_id,
            budget_line__account_id__in=accounts,
            period__in=periods,
        )
        .values_list("budget_line__account_id", "period", "amount")
    )
    return {(account, period): amount for account, period, amount in rows}


def budget_publication_create(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    budget: Budget,
    amounts: Mapping[tuple[Account | int, dt.date], Decimal],
    user: User | None,
    draft: Draft | None = None,
    send: bool = True,
) -> BudgetPublication:
    """Make the import file for `budget` with `amounts` ({(account, month): amount}, in Xero's
    budget convention) and email it to `user`. Only the given months are filled."""
    if budget.firm_id != firm.pk or budget.organisation_id != organisation.pk:
        raise PublicationError("That budget is not one of this organisation's.")
    if not amounts:
        raise PublicationError("Nothing to publish: no figures were given.")
    account_ids = {getattr(a, "pk", a) for a, _period in amounts}
    accounts = {
        a.pk: a
        for a in Account.objects.for_firm(firm).filter(
            organisation=organisation, pk__in=account_ids
        )
    }
    missing = account_ids - set(accounts)
    if missing:
        raise PublicationError("Some accounts are not this organisation's accounts.")
    cells = {
        (getattr(a, "pk", a), _month(period)): Decimal(amount)
        for (a, period), amount in amounts.items()
    }
    by_account: dict[int, dict[dt.date, Decimal]] = {}
    for (account_id, period), amount in cells.items():
        by_account.setdefault(account_id, {})[period] = amount
    rows = [
        ImportRow(accounts[pk].name, accounts[pk].code, figures)
        for pk, figures in by_account.items()
    ]
    months = sorted({period for _account, period in cells})
    try:
        content = xero_budget_import_file(rows=rows, months=months)
    except ImportFileError as exc:
        raise PublicationError(str(exc)) from exc
    before = _xero_figures(firm, organisation, budget.budget_id, cells)
    expected = [
        {
            "account": pk,
            "code": accounts[pk].code,
            "name": accounts[pk].name,
            "period": period.isoformat(),
            "amount": str(whole_units(amount)),
            "before": None if before.get((pk, period)) is None else str(before[(pk, period)]),
        }
        for (pk, period), amount in sorted(cells.items(), key=lambda c: (c[0][1], c[0][0]))
    ]
    name = budget.description or budget.get_type_display()
    file_name = f"{slugify(organisation.name)}-{slugify(name)}-{months[0]:%Y-%m}.csv"
    with transaction.atomic():
        publication = BudgetPublication(
            firm=firm,
            organisation=organisation,
            draft=draft,
            budget=budget,
            xero_budget_id=budget.budget_id,
            budget_name=name,
            file_name=file_name,
            file_content=content,
            expected=expected,
            created_by=user,
        )
        history_note(
            publication,
            reason=f"Import file for {name}: {len(expected)} figures over {len(months)} months",
            user=user,
        )
        publication.save()
        if draft is not None and draft.status != Draft.Status.AWAITING_IMPORT:
            _publication_status(draft, Draft.Status.AWAITING_IMPORT, user)
        if send and user is not None and user.email:
            # From a worker: the file is attached and the mail server may be slow.
            enqueue("budgeting.tasks.budget_publication_send_task", firm.pk, publication.pk)
    return publication


PUBLISHABLE = (
    Draft.Status.APPROVED,
    Draft.Status.AWAITING_IMPORT,
    Draft.Status.MISMATCH,
)


def draft_publish(
    *, firm: Firm, draft: Draft, user: User | None, send: bool = True
) -> list[BudgetPublication]:
    """Publish an approved draft: one import file per target budget (the overall budget, or a
    tracking option's), holding only the months whose whole-unit figure changes."""
    if draft.status not in PUBLISHABLE:
        raise PublicationError(
            f"Only an approved draft can be published; this one is "
            f"{draft.get_status_display().lower()}."
        )
    balances = (
        DraftBalance.objects.for_firm(firm)
        .filter(line__draft=draft)
        .select_related("line", "line__account", "line__tracking_option", "line__original_budget")
        .order_by("line_id", "period")
    )
    targets: dict[int, tuple[Budget, dict]] = {}
    for balance in balances:
        line = balance.line
        if whole_units(balance.effective_amount) == whole_units(balance.original_amount or 0):
            continue
        budget = line.original_budget
        if budget is None and line.tracking_option_id is None:
            budget = draft.original_budget
        if budget is None:
            raise PublicationError(
                f"{line} has no budget in Xero to import into. Create it in Xero's Budget "
                "Manager, sync, and publish again."
            )
        targets.setdefault(budget.pk, (budget, {}))[1][(line.account_id, balance.period)] = (
            balance.effective_amount
        )
    if not targets:
        raise PublicationError("Nothing to publish: no figure of the draft changes the budget.")
    with transaction.atomic():
        return [
            budget_publication_create(
                firm=firm,
                organisation=draft.organisation,
                budget=budget,
                amounts=amounts,
                user=user,
                draft=draft,
                send=send,
            )
            for budget, amounts in targets.values()
        ]


def _publication_status(draft: Draft, status: str, user: User | None) -> None:
    reason = f"Publication: {Draft.Status(status).label.lower()}"
    draft_status_set(draft=draft, status=status, reason=reason, user=user)


def budget_publication_send(*, publication: BudgetPublication) -> None:
    """Email the file, attached, to whoever made it, with the steps to import it in Xero."""
    user = publication.created_by
    if user is None:
        return
    context = {
        "publication": publication,
        "organisation": publication.organisation,
        "months": sorted({row["period"] for row in publication.expected}),
        "download_url": settings.SITE_URL
        + reverse(
            "budget_publication_download",
            args=[publication.firm.slug, publication.organisation_id, publication.pk],
        ),
        "site_name": settings.SITE_NAME,
    }
    email_send(
        template="budget_publication",
        to=[user.email],
        subject=(
            f"Import file for {publication.organisation.name}: {publication.budget_name} "
            "(Xero Budget Manager)"
        ),
        context=context,
        attachments=[(publication.file_name, publication.file_content, "text/csv")],
    )


def budget_publication_check(*, firm: Firm, publication: BudgetPublication) -> BudgetPublication:
    """Compare one publication with what the last sync read from Xero, and record the result."""
    cells = {
        (row["account"], dt.date.fromisoformat(row["period"])): row for row in publication.expected
    }
    synced = _xero_figures(firm, publication.organisation, publication.xero_budget_id, cells)
    expected = {cell: Decimal(row["amount"]) for cell, row in cells.items()}
    differences = budget_import_verify(expected=expected, synced=synced)
    if not differences:
        status = BudgetPublication.Status.VERIFIED
    else:
        # Only cells the file changes can show that it was imported.
        before = {
            cell: None if row["before"] is None else Decimal(row["before"])
            for cell, row in cells.items()
            if whole_units(Decimal(row["before"] or 0)) != expected[cell] or row["before"] is None
        }
        touched = budget_import_touched(before=before, synced=synced)
        status = (
            BudgetPublication.Status.MISMATCH
            if touched
            else BudgetPublication.Status.AWAITING_IMPORT
        )
    listed = [
        {
            "account": d.key,
            "code": cells[(d.key, d.period)]["code"],
            "name": cells[(d.key, d.period)]["name"],
            "period": d.period.isoformat(),
            "expected": str(d.expected),
            "synced": None if d.synced is None else str(d.synced),
        }
        for d in differences
    ]
    now = timezone.now()
    if status == publication.status and (
        status != BudgetPublication.Status.MISMATCH or listed == publication.differences
    ):
        BudgetPublication.objects.for_firm(firm).filter(pk=publication.pk).update(checked_at=now)
        publication.checked_at = now
        return publication
    publication.status = status
    publication.differences = listed if status == BudgetPublication.Status.MISMATCH else []
    publication.checked_at = now
    if status == BudgetPublication.Status.VERIFIED:
        publication.verified_at = now
    history_note(
        publication,
        reason=(
            "Xero holds every figure of the file"
            if status == BudgetPublication.Status.VERIFIED
            else f"{len(listed)} figures in Xero differ from the file"
            if status == BudgetPublication.Status.MISMATCH
            else "Not imported yet"
        ),
        user=None,
    )
    publication.save()
    return publication


def budget_publications_verify(
    *, firm: Firm, organisation: ClientOrganisation
) -> list[BudgetPublication]:
    """Run after each successful sync: check every publication of the organisation that is not
    verified yet. A mismatch is checked again, so importing a corrected file clears it."""
    pending = (
        BudgetPublication.objects.for_firm(firm)
        .filter(organisation=organisation)
        .exclude(status=BudgetPublication.Status.VERIFIED)
        .select_related("organisation")
        .order_by("created_at")
    )
    checked = []
    with transaction.atomic():
        for publication in pending:
            checked.append(budget_publication_check(firm=firm, publication=publication))
        for draft_id in sorted({p.draft_id for p in checked if p.draft_id}):
            _draft_publication_status(firm, draft_id)
    logger.info("Checked %d import files of %s", len(checked), organisation)
    return checked


def _draft_publication_status(firm: Firm, draft_id: int) -> None:
    """A draft is published once Xero holds the newest file of each of its budgets."""
    newest: dict[str, str] = {}
    for xero_budget_id, status in (
        BudgetPublication.objects.for_firm(firm)
        .filter(draft_id=draft_id)
        .order_by("created_at", "pk")
        .values_list("xero_budget_id", "status")
    ):
        newest[xero_budget_id] = status
    statuses = set(newest.values())
    if BudgetPublication.Status.MISMATCH in statuses:
        wanted = Draft.Status.MISMATCH
    elif BudgetPublication.Status.AWAITING_IMPORT in statuses:
        wanted = Draft.Status.AWAITING_IMPORT
    else:
        wanted = Draft.Status.PUBLISHED
    draft = Draft.objects.for_firm(firm).get(pk=draft_id)
    if draft.status != wanted:
        _publication_status(draft, wanted, None)
