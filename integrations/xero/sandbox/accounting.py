"""Accounting API GET endpoints under /api.xro/2.0/ (reports are in reports.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from core.months import add_months_to_date, month_start
from integrations.xero.sandbox import reports
from integrations.xero.sandbox.behaviour import BUDGET_CAP_MONTHS
from integrations.xero.sandbox.context import ApiContext, Handler
from integrations.xero.sandbox.filters import (
    FilterError,
    bool_param,
    comma_list,
    guid_list,
    order_by,
    page_of,
    refuse_unsupported,
    where_filter,
)
from integrations.xero.sandbox.model import SandboxBudget, SandboxContact
from integrations.xero.sandbox.msdate import parse_if_modified_since, parse_query_date, period_key
from integrations.xero.sandbox.serializers import (
    OrgIndex,
    account_json,
    budget_json,
    contact_json,
    manual_journal_json,
    organisation_json,
    tracking_category_json,
)
from integrations.xero.sandbox.wsgi import (
    Request,
    Response,
    not_found,
    validation_error,
)

# Invoice.Status (spec enum).
INVOICE_STATUSES = frozenset({"DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED"})
MAX_BUDGET_MONTHS = 24  # "You can retrieve a maximum of 24 months of data in a single request."


def route(subpath: str) -> tuple[str, Handler] | None:
    """(endpoint name for scopes, counters and faults; handler) for a path after /api.xro/2.0/.

    Xero's paths are case-insensitive, so matching is too.
    """
    parts = [part for part in subpath.split("/") if part]
    lowered = [part.lower() for part in parts]
    if len(parts) == 1 and lowered[0] in _COLLECTIONS:
        return _COLLECTIONS[lowered[0]]
    if len(parts) == 2 and lowered[0] == "reports" and lowered[1] in _REPORTS:
        return _REPORTS[lowered[1]]
    if len(parts) == 2 and lowered[0] in _SINGLES:
        name, factory = _SINGLES[lowered[0]]
        return name, factory(parts[1])
    return None


# --- settings -----------------------------------------------------------------------------------


def get_organisation(ctx: ApiContext) -> Response:
    return ctx.ok("Organisations", [organisation_json(ctx.org)])


def get_accounts(ctx: ApiContext) -> Response:
    since = _if_modified_since(ctx.request)
    accounts = [a for a in ctx.org.accounts if since is None or a.updated_utc > since]
    return ctx.ok("Accounts", [account_json(a) for a in sorted(accounts, key=lambda a: a.code)])


def get_tracking_categories(ctx: ApiContext) -> Response:
    include_archived = (ctx.request.param("includeArchived") or "").lower() == "true"
    categories = [
        tracking_category_json(c, include_archived=include_archived)
        for c in ctx.org.tracking_categories
        if include_archived or c.status == "ACTIVE"
    ]
    return ctx.ok("TrackingCategories", categories)


def get_currencies(ctx: ApiContext) -> Response:
    return ctx.ok(
        "Currencies", [{"Code": code, "Description": d} for code, d in ctx.org.currencies]
    )


def get_contacts(ctx: ApiContext) -> Response:
    """`IDs`, `where`, `order`, `page`/`pageSize` (with `pagination`), If-Modified-Since;
    `includeArchived` and `summaryOnly` change nothing here (no archived contacts, no details)."""
    try:
        refuse_unsupported(ctx.request.query_items, ("searchTerm",))
        bool_param(ctx.request.param("includeArchived"), "includeArchived")
        bool_param(ctx.request.param("summaryOnly"), "summaryOnly")
        since = _if_modified_since(ctx.request)
        wanted = guid_list("IDs", ctx.request.param("IDs"))
        roles = _contact_roles(ctx)
        contacts = [
            c
            for c in ctx.org.contacts
            if (since is None or c.updated_utc > since)
            and (wanted is None or c.contact_id.lower() in wanted)
        ]

        def summary(contact: SandboxContact) -> dict[str, Any]:
            return contact_json(contact, *roles.get(contact.contact_id, (False, False)))

        return _listed(ctx, "Contacts", contacts, summary, summary)
    except FilterError as error:
        return validation_error(str(error))


def _contact_roles(ctx: ApiContext) -> dict[str, tuple[bool, bool]]:
    """ContactID -> (IsSupplier, IsCustomer), from the documents, as Xero derives them."""
    roles: dict[str, tuple[bool, bool]] = {}
    for doc in ctx.org.documents:
        supplier, customer = roles.get(doc.contact_id, (False, False))
        roles[doc.contact_id] = (
            supplier or doc.type in ("ACCPAY", "ACCPAYCREDIT", "SPEND"),
            customer or doc.type in ("ACCREC", "ACCRECCREDIT", "RECEIVE"),
        )
    return roles


def _listed(
    ctx: ApiContext,
    key: str,
    entities: list[Any],
    summary_json: Callable[[Any], dict[str, Any]],
    full_json: Callable[[Any], dict[str, Any]],
) -> Response:
    """Apply `where` and `order` to the entities' summary JSON, then `page`: without it the
    summaries, with it one page of full JSON and Xero's `pagination`. Summaries are built only
    when a filter, an order or the unpaged answer needs them (a paged sync of a large
    organisation asks for many pages)."""
    where = ctx.request.param("where")
    order = ctx.request.param("order")
    page = page_of(ctx.request.param("page"), ctx.request.param("pageSize"))
    predicate = where_filter(where) if where else None
    sort = order_by(order) if order else None
    if predicate or sort or page is None:
        pairs = [(entity, summary_json(entity)) for entity in entities]
        if predicate:
            pairs = [pair for pair in pairs if predicate(pair[1])]
        if sort:
            pairs = sort(pairs)
        if page is None:
            return ctx.ok(key, [summary for _, summary in pairs])
        entities = [entity for entity, _ in pairs]
    assert page is not None
    items = [full_json(entity) for entity in page.slice(entities)]
    return ctx.ok(key, items, pagination=page.pagination(len(entities)))


def _single_contact(contact_id: str) -> Handler:
    def handler(ctx: ApiContext) -> Response:
        contact = next(
            (c for c in ctx.org.contacts if c.contact_id.lower() == contact_id.lower()), None
        )
        if contact is None:
            return not_found()
        roles = _contact_roles(ctx).get(contact.contact_id, (False, False))
        return ctx.ok("Contacts", [contact_json(contact, *roles)])

    return handler


# --- budgets --------------------------------------------------------------------------------------


def _budget_periods(ctx: ApiContext) -> list[str] | Response:
    """The months a Budgets request covers (docs: 3-month default, at most 24 months)."""
    try:
        date_from = _date_param(ctx.request, "DateFrom")
        date_to = _date_param(ctx.request, "DateTo")
    except ValueError:
        return validation_error("DateFrom and DateTo must be dates in the format YYYY-MM-DD.")
    if date_from is None and date_to is None:
        # "When no period is requested, responses will default to 3 months. Previous, Current &
        # Next month." (developer.xero.com/documentation/api/budgets)
        date_from = add_months_to_date(month_start(ctx.today), -1)
        date_to = add_months_to_date(month_start(ctx.today), 1)
    elif date_from is None:
        assert date_to is not None
        date_from = add_months_to_date(month_start(date_to), -2)
    elif date_to is None:
        date_to = add_months_to_date(month_start(date_from), 2)
    first, last = month_start(date_from), month_start(date_to)
    if last < first:
        return validation_error("DateTo must be on or after DateFrom.")
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months > MAX_BUDGET_MONTHS:
        return validation_error(
            "You can retrieve a maximum of 24 months of data in a single request."
        )
    return [period_key(add_months_to_date(first, offset)) for offset in range(months)]


def get_budgets(ctx: ApiContext) -> Response:
    periods = _budget_periods(ctx)
    if isinstance(periods, Response):
        return periods
    ids_param = ctx.request.param("IDs")
    wanted = {i.strip().lower() for i in ids_param.split(",") if i.strip()} if ids_param else None
    index = OrgIndex(ctx.org)
    # "Budget lines will not be returned unless requesting a single budget": the list is headers.
    budgets = [
        budget_json(b, index, None)
        for b in ctx.org.budgets
        if wanted is None or b.budget_id.lower() in wanted
    ]
    return ctx.ok("Budgets", budgets)


def _single_budget(budget_id: str) -> Handler:
    def handler(ctx: ApiContext) -> Response:
        budget = next(
            (b for b in ctx.org.budgets if b.budget_id.lower() == budget_id.lower()), None
        )
        if budget is None:
            return not_found()
        periods = _single_budget_periods(ctx, budget)
        if isinstance(periods, Response):
            return periods
        # The schema says Budgets is an array even for one budget (the spec example shows an
        # object; the sandbox follows the schema).
        return ctx.ok("Budgets", [budget_json(budget, OrgIndex(ctx.org), periods)])

    return handler


def _single_budget_periods(ctx: ApiContext, budget: SandboxBudget) -> list[str] | Response:
    """The months GET Budgets/{id} returns, under the `budget_window` behaviour switch."""
    window = ctx.behaviour.budget_window
    if window == "whole":
        try:
            _date_param(ctx.request, "DateFrom")
            _date_param(ctx.request, "DateTo")
        except ValueError:
            return validation_error("DateFrom and DateTo must be dates in the format YYYY-MM-DD.")
        return sorted({period for amounts in budget.lines.values() for period in amounts})
    if window == "capped":
        try:
            date_from = _date_param(ctx.request, "DateFrom")
            date_to = _date_param(ctx.request, "DateTo")
        except ValueError:
            return validation_error("DateFrom and DateTo must be dates in the format YYYY-MM-DD.")
        if date_from is not None:
            first = month_start(date_from)
            last = add_months_to_date(first, BUDGET_CAP_MONTHS - 1)
            if date_to is not None:
                if month_start(date_to) < first:
                    return validation_error("DateTo must be on or after DateFrom.")
                last = min(last, month_start(date_to))
            months = (last.year - first.year) * 12 + last.month - first.month + 1
            return [period_key(add_months_to_date(first, offset)) for offset in range(months)]
    return _budget_periods(ctx)


# --- documents ------------------------------------------------------------------------------------


# Parameters of each list in the spec that the sandbox does not implement: refused, not ignored.
_UNSUPPORTED = {
    "Invoices": ("searchTerm", "createdByMyApp"),
    "CreditNotes": (),
    "BankTransactions": (),
}
# Filters the spec gives Invoices only: sent to another list, Xero would ignore them and
# return everything, so the sandbox refuses them instead.
_INVOICE_ONLY = ("IDs", "Statuses", "InvoiceNumbers", "ContactIDs")


def _document_list(endpoint: str) -> Handler:
    def handler(ctx: ApiContext) -> Response:
        try:
            return _documents(ctx, endpoint)
        except FilterError as error:
            return validation_error(str(error))

    return handler


def _documents(ctx: ApiContext, endpoint: str) -> Response:
    request = ctx.request
    refuse_unsupported(request.query_items, _UNSUPPORTED[endpoint])
    if endpoint != "Invoices":
        for name in _INVOICE_ONLY:
            if request.param(name) is not None:
                raise FilterError(f"{name} is not a parameter of GET {endpoint}.")
    unitdp = request.param("unitdp")
    if unitdp not in (None, "", "2", "4"):
        raise FilterError("unitdp must be 2 or 4.")
    summary_only = bool_param(request.param("summaryOnly"), "summaryOnly")
    bool_param(request.param("includeArchived"), "includeArchived")
    since = _if_modified_since(request)
    ids = guid_list("IDs", request.param("IDs"))
    contact_ids = guid_list("ContactIDs", request.param("ContactIDs"))
    numbers = comma_list(request.param("InvoiceNumbers"))
    statuses = comma_list(request.param("Statuses"))
    if statuses is not None:
        statuses = [s.upper() for s in statuses]
        unknown = sorted(set(statuses) - INVOICE_STATUSES)
        if unknown:
            raise FilterError(f"Statuses: unknown status {', '.join(unknown)}.")
    docs = [
        d
        for d in ctx.org.documents
        if d.endpoint == endpoint
        and (since is None or d.updated_utc > since)
        and (ids is None or d.document_id.lower() in ids)
        and (contact_ids is None or d.contact_id.lower() in contact_ids)
        and (numbers is None or d.number in numbers)
        and (statuses is None or d.status in statuses)
    ]
    # Ordered by UpdatedDateUTC, then ID, so an If-Modified-Since sync that pages never skips
    # a document that changes between pages: changed documents move to the end.
    docs.sort(key=lambda d: (d.updated_utc, d.document_id))
    index = OrgIndex(ctx.org)
    # Without paging Xero returns the documents without their line items; line items come
    # with paging (unless summaryOnly) or a single-document GET.
    return _listed(
        ctx,
        endpoint,
        docs,
        lambda d: index.document_json(d, with_lines=False),
        lambda d: index.document_json(d, with_lines=not summary_only),
    )


def _single_document(endpoint: str) -> Callable[[str], Handler]:
    def factory(document_id: str) -> Handler:
        def handler(ctx: ApiContext) -> Response:
            doc = next(
                (
                    d
                    for d in ctx.org.documents
                    if d.endpoint == endpoint and d.document_id.lower() == document_id.lower()
                ),
                None,
            )
            if doc is None:
                return not_found()
            return ctx.ok(endpoint, [OrgIndex(ctx.org).document_json(doc, with_lines=True)])

        return handler

    return factory


# --- manual journals -------------------------------------------------------------------------


def get_manual_journals(ctx: ApiContext) -> Response:
    """The organisation's manual journals (not Xero's own currency entries): `where`, `order`,
    `page`/`pageSize`, If-Modified-Since; JournalLines with paging, as documents' line items."""
    try:
        since = _if_modified_since(ctx.request)
        journals = sorted(
            (
                j
                for j in ctx.org.manual_journals
                if not j.system and (since is None or j.updated_utc > since)
            ),
            key=lambda j: (j.updated_utc, j.journal_id),
        )
        index = OrgIndex(ctx.org)
        return _listed(
            ctx,
            "ManualJournals",
            journals,
            lambda j: manual_journal_json(j, index, with_lines=False),
            lambda j: manual_journal_json(j, index, with_lines=True),
        )
    except FilterError as error:
        return validation_error(str(error))


def _single_manual_journal(journal_id: str) -> Handler:
    def handler(ctx: ApiContext) -> Response:
        journal = next(
            (
                j
                for j in ctx.org.manual_journals
                if not j.system and j.journal_id.lower() == journal_id.lower()
            ),
            None,
        )
        if journal is None:
            return not_found()
        index = OrgIndex(ctx.org)
        return ctx.ok("ManualJournals", [manual_journal_json(journal, index, with_lines=True)])

    return handler


# --- helpers --------------------------------------------------------------------------------------


def _date_param(request: Request, name: str) -> dt.date | None:
    value = request.param(name)
    return parse_query_date(value) if value else None


def _if_modified_since(request: Request) -> dt.datetime | None:
    value = request.headers.get("if-modified-since")
    return parse_if_modified_since(value) if value else None


_COLLECTIONS: dict[str, tuple[str, Handler]] = {
    "organisation": ("Organisation", get_organisation),
    "accounts": ("Accounts", get_accounts),
    "trackingcategories": ("TrackingCategories", get_tracking_categories),
    "currencies": ("Currencies", get_currencies),
    "contacts": ("Contacts", get_contacts),
    "budgets": ("Budgets", get_budgets),
    "invoices": ("Invoices", _document_list("Invoices")),
    "creditnotes": ("CreditNotes", _document_list("CreditNotes")),
    "banktransactions": ("BankTransactions", _document_list("BankTransactions")),
    "manualjournals": ("ManualJournals", get_manual_journals),
}

_SINGLES: dict[str, tuple[str, Callable[[str], Handler]]] = {
    "budgets": ("Budgets", _single_budget),
    "contacts": ("Contacts", _single_contact),
    "invoices": ("Invoices", _single_document("Invoices")),
    "creditnotes": ("CreditNotes", _single_document("CreditNotes")),
    "banktransactions": ("BankTransactions", _single_document("BankTransactions")),
    "manualjournals": ("ManualJournals", _single_manual_journal),
}

_REPORTS: dict[str, tuple[str, Handler]] = {
    "profitandloss": ("Reports/ProfitAndLoss", reports.profit_and_loss),
    "budgetsummary": ("Reports/BudgetSummary", reports.budget_summary),
    "balancesheet": ("Reports/BalanceSheet", reports.balance_sheet),
    "trialbalance": ("Reports/TrialBalance", reports.trial_balance),
}
