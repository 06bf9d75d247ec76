"""Writes for publishing to Xero: the Budget Manager import file, the forecast budget it goes
into, and its check after a sync.

An approved draft is published into the organisation's forecast budget, a separate Xero budget
beside the original (the Overall Budget, or a tracking option's): the original, which the
client's board signed off, is never the target unless the firm turns on "replace the original"
for the organisation. Xero's API cannot create a budget, so the first publish asks a person to
add it in Budget Manager under the name the app suggests; the sync after that finds it by name
(`forecast_budgets_find`, in the pipeline), or a person picks it (`forecast_budget_choose`).
Until then the file can be downloaded and the draft is "approved, waiting for the forecast
budget".

After each successful sync, `budget_publications_verify` checks both sides: the forecast budget
holds every figure of the file, and the original holds, cell by cell, what it held when the file
was made. Any difference is shown on the publication and emailed to the draft's preparer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from budgeting.approvals.models import ApprovalChain, ApprovalRequest, ApprovalStep
from budgeting.approvals.services import approval_requests_restart
from budgeting.drafts.models import BudgetPolicy, Draft, DraftBalance, DraftLine
from budgeting.drafts.services import draft_status_set
from budgeting.ledger.models import (
    Account,
    Budget,
    BudgetBalance,
    TrackingOption,
    XeroOrganisation,
)
from budgeting.publishing.import_file import (
    ImportFileError,
    ImportRow,
    budget_import_touched,
    budget_import_verify,
    whole_units,
    xero_budget_import_file,
)
from budgeting.publishing.models import (
    BudgetPublication,
    BudgetRollback,
    ForecastBudget,
    PublishingSetting,
)
from budgeting.publishing.selectors import (
    REPLACE_ORIGINAL_REASON,
    annual_budget_key,
    annual_budget_suggested_name,
    annual_budget_tracking_words,
    forecast_budget_candidates,
    forecast_budget_suggested_name,
    original_tracking_words,
    publishing_setting_get,
)
from budgeting.variance.maths import SECTION_BY_TYPE, Section
from core.email import email_send
from core.history import history_note
from core.months import add_months
from core.tasks import enqueue
from tenants.models import ClientOrganisation, Firm, User

logger = logging.getLogger(__name__)

Cell = tuple[int, dt.date]  # (Account pk, first day of the month)


class PublicationError(Exception):
    """A file that cannot be made; the message says why and what to do."""


REPLACE_ORIGINAL_REFUSED = (
    "Importing into the original budget ({name}) is refused: it would replace the figures the "
    "client signed off. Publish into the organisation's forecast budget, or have the firm turn "
    'on "replace the original" for this organisation.'
)


REPLACE_ORIGINAL_UNAPPROVED = (
    '"Replace the original" was off when this draft was approved, so nobody approved replacing '
    "the original budget. Turn it off to publish into the forecast budget, or make a new draft: "
    "with it on, the draft gets the extra approval step."
)


def _replace_original_approved(firm: Firm, draft: Draft) -> bool:
    """Whether the draft's approval had the extra step for "replace the original", approved."""
    return any(
        REPLACE_ORIGINAL_REASON in step.reasons
        for step in ApprovalStep.objects.for_firm(firm).filter(
            request__draft=draft,
            request__status=ApprovalRequest.Status.APPROVED,
            condition=ApprovalChain.Condition.EXTRA_APPROVAL,
            status=ApprovalStep.Status.APPROVED,
        )
    )


# django-simple-history keeps a change reason in 100 characters.
REASON_LENGTH = 100
SETTING_REASON_LENGTH = 70


def _short(text: str) -> str:
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def _month(period: dt.date) -> dt.date:
    return dt.date(period.year, period.month, 1)


def _xero_figures(
    firm: Firm, organisation: ClientOrganisation, xero_budget_id: str, cells
) -> dict[Cell, Decimal]:
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


def _budget_cells(
    firm: Firm, organisation: ClientOrganisation, xero_budget_id: str, months: Iterable[dt.date]
) -> dict[Cell, tuple[Decimal, str, str]]:
    """Every cell of a budget over `months`, as the last sync read it: {cell: (amount, code,
    name)}."""
    rows = (
        BudgetBalance.objects.for_firm(firm)
        .filter(
            organisation=organisation,
            budget_line__budget__budget_id=xero_budget_id,
            period__in=list(months),
        )
        .values_list(
            "budget_line__account_id",
            "period",
            "amount",
            "budget_line__account__code",
            "budget_line__account__name",
        )
    )
    return {(account, period): (amount, code, name) for account, period, amount, code, name in rows}


# --- The setting and the forecast budget -------------------------------------------------------


def publishing_setting_update(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    replace_original: bool,
    reason: str,
    user: User | None,
) -> PublishingSetting:
    """Turn "replace the original" on or off for an organisation, with the reason in its
    history. Off is the default: approved forecasts go into the forecast budget."""
    if organisation.firm_id != firm.pk:
        raise PublicationError("That organisation is not one of this firm's.")
    reason = (reason or "").strip()
    if replace_original and not reason:
        raise PublicationError(
            "Say why the original budget may be replaced: the reason is kept in the audit log."
        )
    if len(reason) > SETTING_REASON_LENGTH:
        raise PublicationError(
            f"Keep the reason to {SETTING_REASON_LENGTH} characters; it is kept in the audit log."
        )
    with transaction.atomic():
        setting = publishing_setting_get(firm=firm, organisation=organisation)
        if setting.pk is not None and setting.replace_original == replace_original:
            return setting
        setting.replace_original = replace_original
        setting.updated_by = user
        setting.updated_at = timezone.now()
        words = "Replace the original: on" if replace_original else "Replace the original: off"
        history_note(setting, reason=f"{words}: {reason}" if reason else words, user=user)
        setting.save()
        if replace_original:
            # Drafts waiting for approval were set up without the step replacing the original
            # needs: approval starts again, with it.
            approval_requests_restart(
                firm=firm,
                organisation=organisation,
                reason="Replace the original turned on: approval starts again, with the extra step",
            )
    return setting


def forecast_budget_for(
    *, firm: Firm, organisation: ClientOrganisation, original: Budget
) -> ForecastBudget:
    """The forecast budget beside `original`, made (with the name the app suggests) on the
    first publish, and looked for at once among the synced budgets."""
    forecast = (
        ForecastBudget.objects.for_firm(firm)
        .filter(organisation=organisation, original_xero_budget_id=original.budget_id)
        .select_related("budget")
        .first()
    )
    if forecast is None:
        forecast = ForecastBudget(
            firm=firm,
            organisation=organisation,
            original=original,
            original_xero_budget_id=original.budget_id,
            original_name=str(original),
            name=forecast_budget_suggested_name(original=original),
        )
        history_note(
            forecast,
            reason=_short(f"To add in Xero beside {original}: {forecast.name}"),
            user=None,
        )
        forecast.save()
    if forecast.budget_id is None:
        found = _forecast_budget_match(firm, forecast)
        if found is not None:
            _forecast_budget_attach(firm, forecast, found, user=None)
    return forecast


def _forecast_budget_match(firm: Firm, forecast: ForecastBudget) -> Budget | None:
    """The one synced budget with the forecast budget's name (case and spaces aside) and the
    original's tracking; None when there is none, or more than one to choose between."""
    named = [
        budget
        for budget in forecast_budget_candidates(firm=firm, forecast=forecast)
        if " ".join(budget.description.split()).casefold()
        == " ".join(forecast.name.split()).casefold()
    ]
    return named[0] if len(named) == 1 else None


def _forecast_budget_attach(
    firm: Firm, forecast: ForecastBudget, budget: Budget, *, user: User | None
) -> None:
    """Record the forecast budget's Xero budget, and send the files waiting for it there."""
    forecast.budget = budget
    forecast.xero_budget_id = budget.budget_id
    forecast.found_at = timezone.now()
    forecast.chosen_by = user
    history_note(
        forecast,
        reason=_short(
            f"Found in Xero by its name: {budget}"
            if user is None
            else f"Chosen from the synced budgets: {budget}"
        ),
        user=user,
    )
    forecast.save()
    waiting = BudgetPublication.objects.for_firm(firm).filter(
        forecast_budget=forecast, status=BudgetPublication.Status.WAITING_FOR_BUDGET
    )
    drafts = set()
    for publication in waiting:
        cells = [
            (row["account"], dt.date.fromisoformat(row["period"])) for row in publication.expected
        ]
        before = _xero_figures(firm, publication.organisation, budget.budget_id, cells)
        for row, cell in zip(publication.expected, cells, strict=True):
            row["before"] = None if before.get(cell) is None else str(before[cell])
        publication.budget = budget
        publication.xero_budget_id = budget.budget_id
        publication.budget_name = str(budget)
        publication.status = BudgetPublication.Status.AWAITING_IMPORT
        history_note(
            publication, reason=_short(f"The forecast budget is in Xero: {budget}"), user=user
        )
        publication.save()
        if publication.draft_id:
            drafts.add(publication.draft_id)
    for draft_id in sorted(drafts):
        _draft_publication_status(firm, draft_id)


def forecast_budget_choose(
    *, firm: Firm, forecast: ForecastBudget, budget: Budget, user: User | None
) -> ForecastBudget:
    """A person picks the forecast budget from the synced budgets (when its name in Xero is not
    the one the app suggested). The original budget, or any other original, is refused."""
    if budget.firm_id != firm.pk or budget.organisation_id != forecast.organisation_id:
        raise PublicationError("That budget is not one of this organisation's.")
    if budget.pk == forecast.original_id or budget.budget_id == forecast.original_xero_budget_id:
        raise PublicationError(REPLACE_ORIGINAL_REFUSED.format(name=budget))
    if budget.pk not in {b.pk for b in forecast_budget_candidates(firm=firm, forecast=forecast)}:
        raise PublicationError(
            f"{budget} cannot be the forecast budget: it is the Overall Budget, the original of "
            f"another forecast, or its tracking is not {original_tracking_words(original=forecast.original)}."
        )
    with transaction.atomic():
        _forecast_budget_attach(firm, forecast, budget, user=user)
    return forecast


def forecast_budgets_find(*, firm: Firm, organisation: ClientOrganisation) -> list[ForecastBudget]:
    """After each sync (in the pipeline, before the check): find by name the forecast budgets a
    person has added in Xero since, and send the files waiting for them there. Returns those
    found."""
    found = []
    with transaction.atomic():
        for forecast in ForecastBudget.objects.for_firm(firm).filter(
            organisation=organisation, budget__isnull=True
        ):
            budget = _forecast_budget_match(firm, forecast)
            if budget is not None:
                _forecast_budget_attach(firm, forecast, budget, user=None)
                found.append(forecast)
    return found


# --- The file ------------------------------------------------------------------------------------


def budget_publication_create(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    budget: Budget | None,
    amounts: Mapping[tuple[Account | int, dt.date], Decimal],
    user: User | None,
    draft: Draft | None = None,
    forecast: ForecastBudget | None = None,
    send: bool = True,
) -> BudgetPublication:
    """Make the import file with `amounts` ({(account, month): amount}, in Xero's budget
    convention) and email it to `user`. Only the given months are filled.

    The file is for `budget`: a forecast budget, or the original itself only when the
    organisation's "replace the original" is on. With `forecast` and no `budget`, the forecast
    budget is not in Xero yet: the file waits for it. The original's cells over the file's
    months are kept, to check after each sync that it did not move.
    """
    if budget is not None and (
        budget.firm_id != firm.pk or budget.organisation_id != organisation.pk
    ):
        raise PublicationError("That budget is not one of this organisation's.")
    if forecast is not None and forecast.organisation_id != organisation.pk:
        raise PublicationError("That forecast budget is not one of this organisation's.")
    if budget is None and forecast is None:
        raise PublicationError("A file needs a budget to go into.")
    if budget is not None and forecast is None:
        forecast = (
            ForecastBudget.objects.for_firm(firm)
            .filter(organisation=organisation, budget=budget)
            .first()
        )
    replaces_original = forecast is None
    if (
        replaces_original
        and not publishing_setting_get(firm=firm, organisation=organisation).replace_original
    ):
        raise PublicationError(REPLACE_ORIGINAL_REFUSED.format(name=budget))
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
    before = _xero_figures(firm, organisation, budget.budget_id, cells) if budget else {}
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
    if replaces_original:
        original_id, original_name, original_cells = budget.budget_id, str(budget), []
    else:
        original_id, original_name = forecast.original_xero_budget_id, forecast.original_name
        original_cells = [
            {
                "account": pk,
                "code": code,
                "name": name,
                "period": period.isoformat(),
                "amount": str(amount),
            }
            for (pk, period), (amount, code, name) in sorted(
                _budget_cells(firm, organisation, original_id, months).items(),
                key=lambda c: (c[0][1], c[0][0]),
            )
        ]
    name = str(budget) if budget is not None else forecast.name
    file_name = f"{slugify(organisation.name)}-{slugify(name)}-{months[0]:%Y-%m}.csv"
    with transaction.atomic():
        publication = BudgetPublication(
            firm=firm,
            organisation=organisation,
            draft=draft,
            budget=budget,
            forecast_budget=forecast,
            replaces_original=replaces_original,
            xero_budget_id=budget.budget_id if budget is not None else "",
            budget_name=name,
            file_name=file_name,
            file_content=content,
            expected=expected,
            original_xero_budget_id=original_id,
            original_budget_name=original_name,
            original_cells=original_cells,
            status=(
                BudgetPublication.Status.AWAITING_IMPORT
                if budget is not None
                else BudgetPublication.Status.WAITING_FOR_BUDGET
            ),
            created_by=user,
        )
        into = (
            "replacing the original"
            if replaces_original
            else "forecast budget" + ("" if budget is not None else ", not in Xero yet")
        )
        history_note(
            publication,
            reason=_short(
                f"Import file, {len(expected)} figures over {len(months)} months ({into}): {name}"
            ),
            user=user,
        )
        publication.save()
        if draft is not None:
            _draft_publication_status(firm, draft.pk, user=user)
        if send and user is not None and user.email:
            # From a worker: the file is attached and the mail server may be slow.
            enqueue("budgeting.tasks.budget_publication_send_task", firm.pk, publication.pk)
    return publication


PUBLISHABLE = (
    Draft.Status.APPROVED,
    Draft.Status.AWAITING_FORECAST,
    Draft.Status.AWAITING_IMPORT,
    Draft.Status.MISMATCH,
)


def draft_publish(
    *, firm: Firm, draft: Draft, user: User | None, send: bool = True
) -> list[BudgetPublication]:
    """Publish an approved draft: one import file per original budget it changes (the overall
    budget, or a tracking option's).

    Into the forecast budget beside each original: the whole forecast over the draft's months,
    the draft's figures where it has a line and the original's elsewhere, so the forecast budget
    can be read on its own. Into the original (only with "replace the original" on): only the
    months whose whole-unit figure changes; blank cells keep Xero's figures.
    """
    if draft.status not in PUBLISHABLE:
        raise PublicationError(
            f"Only an approved draft can be published; this one is "
            f"{draft.get_status_display().lower()}."
        )
    organisation = draft.organisation
    if draft.source == Draft.Source.ANNUAL:
        return _annual_publish(firm, draft, user=user, send=send)
    replace = publishing_setting_get(firm=firm, organisation=organisation).replace_original
    if replace and not _replace_original_approved(firm, draft):
        raise PublicationError(REPLACE_ORIGINAL_UNAPPROVED)
    if draft.source == Draft.Source.ROLLBACK:
        return _rollback_publish(firm, draft, user=user, send=send)
    balances = (
        DraftBalance.objects.for_firm(firm)
        .filter(line__draft=draft)
        .select_related("line", "line__account", "line__tracking_option", "line__original_budget")
        .order_by("line_id", "period")
    )
    originals: dict[int, Budget] = {}
    figures: dict[int, dict[Cell, Decimal]] = {}
    changed: dict[int, dict[Cell, Decimal]] = {}
    for balance in balances:
        line = balance.line
        budget = line.original_budget
        if budget is None and line.tracking_option_id is None:
            budget = draft.original_budget
        if budget is None:
            raise PublicationError(
                f"{line} has no budget in Xero to compare with. Sync the organisation, and "
                "make the draft again."
            )
        originals[budget.pk] = budget
        cell = (line.account_id, _month(balance.period))
        figures.setdefault(budget.pk, {})[cell] = balance.effective_amount
        if whole_units(balance.effective_amount) != whole_units(balance.original_amount or 0):
            changed.setdefault(budget.pk, {})[cell] = balance.effective_amount
    if not changed:
        raise PublicationError("Nothing to publish: no figure of the draft changes the budget.")
    with transaction.atomic():
        made = []
        for pk in changed:
            original = originals[pk]
            if replace:
                made.append(
                    budget_publication_create(
                        firm=firm,
                        organisation=organisation,
                        budget=original,
                        amounts=changed[pk],
                        user=user,
                        draft=draft,
                        send=send,
                    )
                )
                continue
            forecast = forecast_budget_for(firm=firm, organisation=organisation, original=original)
            months = {period for _account, period in figures[pk]}
            whole = {
                cell: amount
                for cell, (amount, _code, _name) in _budget_cells(
                    firm, organisation, original.budget_id, months
                ).items()
            }
            whole.update(figures[pk])
            made.append(
                budget_publication_create(
                    firm=firm,
                    organisation=organisation,
                    budget=forecast.budget,
                    forecast=forecast,
                    amounts=whole,
                    user=user,
                    draft=draft,
                    send=send,
                )
            )
        return made


def annual_budget_for(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    financial_year: int,
    option: TrackingOption | None,
) -> ForecastBudget:
    """The new budget of a financial year (the whole business's, or one tracking option's)
    that annual drafts of that year go into: made with the name the app suggests on the first
    publish, and looked for at once among the synced budgets, like a forecast budget."""
    key = annual_budget_key(financial_year=financial_year, option=option)
    forecast = (
        ForecastBudget.objects.for_firm(firm)
        .filter(organisation=organisation, original_xero_budget_id=key)
        .select_related("budget")
        .first()
    )
    if forecast is None:
        forecast = ForecastBudget(
            firm=firm,
            organisation=organisation,
            original=None,
            original_xero_budget_id=key,
            original_name=f"no budget yet (FY{financial_year})",
            name=annual_budget_suggested_name(
                organisation=organisation, financial_year=financial_year, option=option
            ),
        )
        history_note(
            forecast,
            reason=_short(f"To add in Xero for FY{financial_year}: {forecast.name}"),
            user=None,
        )
        forecast.save()
    if forecast.budget_id is None:
        found = _forecast_budget_match(firm, forecast)
        if found is not None:
            _forecast_budget_attach(firm, forecast, found, user=None)
    return forecast


def _annual_publish(
    firm: Firm, draft: Draft, *, user: User | None, send: bool
) -> list[BudgetPublication]:
    """An annual draft goes into new budgets for its year, one for the whole business and one
    per tracking option it drafts, with every month of every line: never into a budget the
    client has, whatever "replace the original" says (a year nobody budgeted has no original
    to replace)."""
    if draft.financial_year is None:
        raise PublicationError("This annual draft has no financial year: draft the year again.")
    balances = (
        DraftBalance.objects.for_firm(firm)
        .filter(line__draft=draft)
        .select_related("line", "line__tracking_option")
        .order_by("line_id", "period")
    )
    options: dict[int | None, TrackingOption | None] = {}
    amounts: dict[int | None, dict[Cell, Decimal]] = {}
    for balance in balances:
        line = balance.line
        options[line.tracking_option_id] = line.tracking_option
        cell = (line.account_id, _month(balance.period))
        amounts.setdefault(line.tracking_option_id, {})[cell] = balance.effective_amount
    if not amounts:
        raise PublicationError("Nothing to publish: the draft has no lines.")
    made = []
    with transaction.atomic():
        for option_id in sorted(amounts, key=lambda pk: (pk is not None, pk or 0)):
            forecast = annual_budget_for(
                firm=firm,
                organisation=draft.organisation,
                financial_year=draft.financial_year,
                option=options[option_id],
            )
            made.append(
                budget_publication_create(
                    firm=firm,
                    organisation=draft.organisation,
                    budget=forecast.budget,
                    forecast=forecast,
                    amounts=amounts[option_id],
                    user=user,
                    draft=draft,
                    send=send,
                )
            )
    return made


def _publication_status(draft: Draft, status: str, user: User | None) -> None:
    reason = f"Publication: {Draft.Status(status).label.lower()}"
    draft_status_set(draft=draft, status=status, reason=reason, user=user)


def _download_url(publication: BudgetPublication) -> str:
    return settings.SITE_URL + reverse(
        "budget_publication_download",
        args=[publication.firm.slug, publication.organisation_id, publication.pk],
    )


def budget_publication_send(*, publication: BudgetPublication) -> None:
    """Email the file, attached, to whoever made it, with the steps to import it in Xero (and,
    the first time, to add the forecast budget it goes into)."""
    user = publication.created_by
    if user is None:
        return
    forecast = publication.forecast_budget
    context = {
        "publication": publication,
        "organisation": publication.organisation,
        "months": sorted({row["period"] for row in publication.expected}),
        "download_url": _download_url(publication),
        "site_name": settings.SITE_NAME,
        "add_budget": (
            publication.status == BudgetPublication.Status.WAITING_FOR_BUDGET
            and forecast is not None
        ),
        "tracking_words": original_tracking_words(
            original=forecast.original if forecast is not None else None
        ),
        # An annual draft's new budget for its year stands beside no original.
        "annual_year": publication.draft.financial_year
        if publication.draft is not None and publication.draft.source == Draft.Source.ANNUAL
        else None,
    }
    if context["annual_year"] is not None and forecast is not None:
        context["tracking_words"] = annual_budget_tracking_words(
            firm=publication.firm, forecast=forecast
        )
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


def budget_publication_differences_send(*, publication: BudgetPublication) -> None:
    """Tell the draft's preparer (else whoever made the file) what the last sync found that
    differs: figures of the file Xero does not hold, cells of the original that moved."""
    draft = publication.draft
    user = (draft.created_by if draft is not None else None) or publication.created_by
    if user is None or not user.email:
        return
    context = {
        "publication": publication,
        "organisation": publication.organisation,
        "download_url": _download_url(publication),
        "approval_url": (
            settings.SITE_URL
            + reverse(
                "draft_approval",
                args=[publication.firm.slug, publication.organisation_id, draft.pk],
            )
            if draft is not None
            else ""
        ),
        "site_name": settings.SITE_NAME,
    }
    email_send(
        template="budget_publication_differences",
        to=[user.email],
        subject=(
            f"{publication.organisation.name}: {publication.get_status_display().lower()} "
            f"({publication.budget_name})"
        ),
        context=context,
    )


# --- The check after a sync ----------------------------------------------------------------------


def _original_differences(firm: Firm, publication: BudgetPublication) -> list[dict]:
    """The original budget's cells over the file's months that are not what they were when the
    file was made; a missing cell reads as zero (Xero lists no balance for a zero month)."""
    if publication.replaces_original or not publication.original_xero_budget_id:
        return []
    months = sorted({dt.date.fromisoformat(row["period"]) for row in publication.expected})
    was = {
        (row["account"], dt.date.fromisoformat(row["period"])): (
            Decimal(row["amount"]),
            row["code"],
            row["name"],
        )
        for row in publication.original_cells
    }
    now = _budget_cells(firm, publication.organisation, publication.original_xero_budget_id, months)
    differences = []
    for cell in sorted(set(was) | set(now), key=lambda c: (c[1], c[0])):
        before = was.get(cell)
        after = now.get(cell)
        if (before[0] if before else Decimal(0)) == (after[0] if after else Decimal(0)):
            continue
        _amount, code, name = before or after
        differences.append(
            {
                "account": cell[0],
                "code": code,
                "name": name,
                "period": cell[1].isoformat(),
                "expected": None if before is None else str(before[0]),
                "synced": None if after is None else str(after[0]),
            }
        )
    return differences


def budget_publication_check(*, firm: Firm, publication: BudgetPublication) -> BudgetPublication:
    """Compare one publication with what the last sync read from Xero, on both sides, and
    record the result: the file's budget against the file, the original against its cells when
    the file was made."""
    cells = {
        (row["account"], dt.date.fromisoformat(row["period"])): row for row in publication.expected
    }
    expected = {cell: Decimal(row["amount"]) for cell, row in cells.items()}
    original_listed = _original_differences(firm, publication)
    listed: list[dict] = []
    if publication.status == BudgetPublication.Status.WAITING_FOR_BUDGET or (
        publication.status == BudgetPublication.Status.ORIGINAL_CHANGED
        and not publication.xero_budget_id
    ):
        status = BudgetPublication.Status.WAITING_FOR_BUDGET
    else:
        synced = _xero_figures(firm, publication.organisation, publication.xero_budget_id, cells)
        differences = budget_import_verify(expected=expected, synced=synced)
        if not differences:
            status = BudgetPublication.Status.VERIFIED
        else:
            # Only cells the file changes can show that it was imported.
            before = {
                cell: None if row["before"] is None else Decimal(row["before"])
                for cell, row in cells.items()
                if whole_units(Decimal(row["before"] or 0)) != expected[cell]
                or row["before"] is None
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
    if original_listed:
        status = BudgetPublication.Status.ORIGINAL_CHANGED
    if status not in (BudgetPublication.Status.MISMATCH, BudgetPublication.Status.ORIGINAL_CHANGED):
        listed = []
    now = timezone.now()
    if (
        status == publication.status
        and listed == publication.differences
        and original_listed == publication.original_differences
    ):
        BudgetPublication.objects.for_firm(firm).filter(pk=publication.pk).update(checked_at=now)
        publication.checked_at = now
        return publication
    publication.status = status
    publication.differences = listed
    publication.original_differences = original_listed
    publication.checked_at = now
    if status == BudgetPublication.Status.VERIFIED:
        publication.verified_at = now
    reasons = {
        BudgetPublication.Status.VERIFIED: "Xero holds every figure of the file; the original "
        "budget is unchanged",
        BudgetPublication.Status.MISMATCH: f"{len(listed)} figures in Xero differ from the file",
        BudgetPublication.Status.ORIGINAL_CHANGED: f"{len(original_listed)} figures of the "
        "original budget changed since the file was made",
        BudgetPublication.Status.AWAITING_IMPORT: "Not imported yet",
        BudgetPublication.Status.WAITING_FOR_BUDGET: "The forecast budget is not in Xero yet",
    }
    history_note(publication, reason=reasons[status], user=None)
    publication.save()
    if listed or original_listed:
        enqueue(
            "budgeting.tasks.budget_publication_differences_task",
            publication.firm_id,
            publication.pk,
        )
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
        .select_related("organisation", "firm")
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


def _draft_publication_status(firm: Firm, draft_id: int, *, user: User | None = None) -> None:
    """A draft is published once Xero holds the newest file of each of its budgets, and every
    original it stands beside is unchanged."""
    newest: dict[str, str] = {}
    for original_id, xero_budget_id, status in (
        BudgetPublication.objects.for_firm(firm)
        .filter(draft_id=draft_id)
        .order_by("created_at", "pk")
        .values_list("original_xero_budget_id", "xero_budget_id", "status")
    ):
        newest[original_id or xero_budget_id] = status
    statuses = set(newest.values())
    if statuses & {BudgetPublication.Status.MISMATCH, BudgetPublication.Status.ORIGINAL_CHANGED}:
        wanted = Draft.Status.MISMATCH
    elif BudgetPublication.Status.WAITING_FOR_BUDGET in statuses:
        wanted = Draft.Status.AWAITING_FORECAST
    elif BudgetPublication.Status.AWAITING_IMPORT in statuses:
        wanted = Draft.Status.AWAITING_IMPORT
    else:
        wanted = Draft.Status.PUBLISHED
    draft = Draft.objects.for_firm(firm).get(pk=draft_id)
    if draft.status != wanted:
        _publication_status(draft, wanted, user)


# --- Rollback ------------------------------------------------------------------------------------

ROLLBACK_OPEN = (Draft.Status.DRAFT, Draft.Status.SUBMITTED)


def _cells_of(rows: Iterable[Mapping]) -> dict[Cell, Decimal]:
    return {
        (row["account"], dt.date.fromisoformat(row["period"])): Decimal(row["amount"])
        for row in rows
    }


def budget_publication_figures_before(*, publication: BudgetPublication) -> dict[Cell, Decimal]:
    """The figures over a file's cells before any file went into its budget: the original
    budget's (kept with the file) for a forecast budget, and Xero's own figures when the file
    was made for a file that replaced the original. A cell with none reads as zero."""
    if publication.replaces_original:
        return {
            (row["account"], dt.date.fromisoformat(row["period"])): Decimal(row["before"] or 0)
            for row in publication.expected
        }
    original = _cells_of(publication.original_cells)
    return {cell: original.get(cell, Decimal(0)) for cell in _cells_of(publication.expected)}


def _rollback_original(firm: Firm, publication: BudgetPublication) -> Budget:
    """The original budget the rolled-back file stands beside (or replaced), as synced; for a
    new year's budget, which has no original, that budget itself."""
    forecast = publication.forecast_budget
    if forecast is not None and forecast.original_id:
        return forecast.original
    if forecast is not None and publication.is_new_budget:
        if forecast.budget_id is None:
            raise PublicationError(
                f"{forecast.name} is not in the synced budgets yet: sync the organisation, "
                "then roll back."
            )
        return forecast.budget
    original = (
        Budget.objects.for_firm(firm)
        .filter(
            organisation_id=publication.organisation_id,
            budget_id=publication.original_xero_budget_id or publication.xero_budget_id,
        )
        .first()
    )
    if original is None:
        raise PublicationError(
            f"The original budget {publication.original_budget_name or publication.budget_name} "
            "is not in the synced budgets: sync the organisation, then roll back."
        )
    return original


def budget_publication_rollback(
    *,
    firm: Firm,
    publication: BudgetPublication,
    to: BudgetPublication | None,
    user: User,
    reason: str = "",
) -> BudgetRollback:
    """Roll a published file back to an earlier revision of the same Xero budget: a rollback
    draft with that revision's figures over the file's cells (`to` None: the figures before the
    first file), prepared by `user`. It then goes through the organisation's approval chain
    like any draft (its preparer cannot approve it), is published as an import file into the
    same budget, and the next sync verifies that Xero holds the earlier figures again."""
    from budgeting.drafts.services import draft_policy_recheck
    from budgeting.publishing.selectors import budget_publication_rollback_choices

    reason = (reason or "").strip()
    if len(reason) > 200:
        raise PublicationError("Keep the reason to 200 characters.")
    with transaction.atomic():
        publication = (
            BudgetPublication.objects.for_firm(firm)
            .select_for_update(of=("self",))
            .select_related("organisation", "forecast_budget__original")
            .get(pk=publication.pk)
        )
        if publication.status != BudgetPublication.Status.VERIFIED:
            raise PublicationError(
                "Only a file Xero holds (published and verified) can be rolled back; this one "
                f"is {publication.get_status_display().lower()}."
            )
        choices = budget_publication_rollback_choices(firm=firm, publication=publication)
        if to is not None and to.pk not in {p.pk for p in choices}:
            raise PublicationError(
                f"Choose an earlier published file of the same budget ({publication.budget_name}),"
                " or the figures before the first."
            )
        pending = (
            BudgetRollback.objects.for_firm(firm)
            .filter(publication=publication, draft__status__in=ROLLBACK_OPEN)
            .first()
        )
        if pending is not None:
            raise PublicationError(
                f"Draft {pending.draft_id} already rolls this file back: have it approved and "
                "published, or reject it first."
            )
        organisation = publication.organisation
        published = _cells_of(publication.expected)
        before = budget_publication_figures_before(publication=publication)
        # Where the earlier file had no figure for a cell, the budget held the one before any.
        earlier = {**before, **(_cells_of(to.expected) if to is not None else {})}
        figures = {cell: earlier[cell] for cell in published}
        if all(whole_units(figures[c]) == whole_units(published[c]) for c in published):
            raise PublicationError(
                "Nothing to roll back: the earlier revision's figures are the ones this file "
                "published."
            )
        original = _rollback_original(firm, publication)
        names = {row["account"]: (row["code"], row["name"]) for row in publication.expected}
        accounts = {
            a.pk: a
            for a in Account.objects.for_firm(firm).filter(
                organisation=organisation, pk__in=list(names)
            )
        }
        if set(accounts) != set(names):
            raise PublicationError(
                "Some accounts of the file are no longer in Xero: sync the organisation, then "
                "roll back."
            )
        months = sorted({period for _account, period in published})
        if to is not None:
            to_words = f"the file of {to.created_at:%d %b %Y %H:%M}"
        elif publication.replaces_original:
            to_words = "the figures before it"
        elif publication.is_new_budget:
            to_words = "no figures (the budget had none before this file)"
        else:
            to_words = f"the original budget's figures ({publication.original_budget_name})"
        policy = BudgetPolicy.objects.for_firm(firm).filter(organisation=organisation).first()
        profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
        option = original.tracking_option
        draft = Draft(
            firm=firm,
            organisation=organisation,
            created_by=user,
            source=Draft.Source.ROLLBACK,
            horizon=len(months),
            first_period=months[0],
            last_actual_period=add_months(months[0], -1),
            policy_version=policy.version if policy else 0,
            original_budget=original if option is None else None,
            currency_code=profile.base_currency if profile else "",
        )
        history_note(
            draft, reason=_short(f"Rollback of {publication.budget_name} to {to_words}"), user=user
        )
        draft.save()
        narrative = (
            f"Rolls {publication.budget_name} back to {to_words}: the figures of the file of "
            f"{publication.created_at:%d %b %Y %H:%M} are replaced by these."
        )
        for pk in sorted(names, key=lambda pk: (accounts[pk].code, accounts[pk].name)):
            account = accounts[pk]
            cells = sorted(c for c in published if c[0] == pk)
            digest = hashlib.sha256(
                json.dumps([(c[1].isoformat(), str(figures[c])) for c in cells]).encode()
            ).hexdigest()
            line = DraftLine(
                firm=firm,
                organisation=organisation,
                draft=draft,
                account=account,
                tracking_option=option,
                original_budget=original if option is not None else None,
                section=SECTION_BY_TYPE.get(account.type, Section.OPERATING_EXPENSES).value,
                trigger=DraftLine.Trigger.ROLLBACK,
                trigger_period=draft.last_actual_period,
                trigger_actual=0,
                trigger_budget=0,
                trigger_variance=0,
                forecast_total=sum((figures[c] for c in cells), Decimal(0)),
                budget_total=sum((published[c] for c in cells), Decimal(0)),
                method="rollback",
                confidence=100,
                confidence_label="high",
                history_months=0,
                inputs_hash=digest,
                narrative=narrative,
                reason=reason,
                # The preparer chose these figures by rolling back: nothing to accept line by line.
                accepted=True,
            )
            history_note(line, reason=_short(f"Rollback to {to_words}"), user=user)
            line.save()
            for cell in cells:
                # "Original" on a rollback line is what Xero holds now (the rolled-back file's
                # figure), so the change shown and checked by the chain is the rollback's own.
                DraftBalance(
                    firm=firm,
                    organisation=organisation,
                    line=line,
                    period=cell[1],
                    original_amount=published[cell],
                    suggested_amount=figures[cell],
                    lo_80=figures[cell],
                    hi_80=figures[cell],
                    lo_95=figures[cell],
                    hi_95=figures[cell],
                ).save()
        draft_policy_recheck(firm=firm, draft=draft)
        rollback = BudgetRollback(
            firm=firm,
            organisation=organisation,
            draft=draft,
            publication=publication,
            to_publication=to,
            figures=[
                {
                    "account": pk,
                    "code": names[pk][0],
                    "name": names[pk][1],
                    "period": period.isoformat(),
                    "amount": str(figures[(pk, period)]),
                    "published": str(published[(pk, period)]),
                }
                for pk, period in sorted(published, key=lambda c: (c[1], c[0]))
            ],
            reason=reason,
            created_by=user,
        )
        history_note(
            rollback,
            reason=_short(f"Rollback to {to_words}" + (f": {reason}" if reason else "")),
            user=user,
        )
        rollback.save()
        history_note(
            publication, reason=_short(f"Rolled back to {to_words} by draft {draft.pk}"), user=user
        )
        publication.save()
    return rollback


def _rollback_publish(
    firm: Firm, draft: Draft, *, user: User | None, send: bool
) -> list[BudgetPublication]:
    """Publish an approved rollback draft into the budget of the file it rolls back: the
    approved figures over that file's cells, so Xero holds the earlier revision again."""
    rollback = (
        BudgetRollback.objects.for_firm(firm)
        .select_related("publication__forecast_budget__budget", "publication__organisation")
        .get(draft=draft)
    )
    old = rollback.publication
    organisation = draft.organisation
    amounts = {
        (balance.line.account_id, _month(balance.period)): balance.effective_amount
        for balance in DraftBalance.objects.for_firm(firm)
        .filter(line__draft=draft)
        .select_related("line")
    }
    with transaction.atomic():
        if old.replaces_original:
            budget = (
                Budget.objects.for_firm(firm)
                .filter(organisation=organisation, budget_id=old.xero_budget_id)
                .first()
            )
            if budget is None:
                raise PublicationError(
                    f"{old.budget_name} is not in the synced budgets: sync the organisation."
                )
            forecast = None
        else:
            forecast = old.forecast_budget
            if forecast is None:
                raise PublicationError(
                    f"The forecast budget {old.budget_name} is gone: sync the organisation."
                )
            budget = forecast.budget
        return [
            budget_publication_create(
                firm=firm,
                organisation=organisation,
                budget=budget,
                forecast=forecast,
                amounts=amounts,
                user=user,
                draft=draft,
                send=send,
            )
        ]
