"""Writes for client groups: create and edit a group and its members, set or import its
translation rates, map and unmap intercompany pairs. One transaction per user action; every row
written says why in its history.

Fail-closed tenancy: every organisation and account named is looked up in the acting firm only,
so an organisation of another firm is refused as if it did not exist, whatever id is sent.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from budgeting.groups.models import (
    RATE,
    ClientGroup,
    ClientGroupMember,
    GroupTranslationRate,
    IntercompanyMapping,
)
from budgeting.ledger.models import Account, XeroOrganisation
from budgeting.variance.maths import ACCOUNT_CLASS_BY_TYPE
from budgeting.variance.narratives.local import MONTH_NAMES
from core.history import history_note
from core.months import add_months, month_start, parse_month
from tenants.models import ClientOrganisation, Firm, User

MIN_MEMBERS = 2
MAX_MEMBERS = 30
MAX_RATE_ROWS = 5000
# A rate for a month more than this many years from today is a typing mistake.
RATE_YEARS = 10
CURRENCY = re.compile(r"^[A-Z]{3}$")


class GroupError(ValueError):
    """A change to a group that cannot be made; the message says why, for the user."""


@dataclass(frozen=True)
class RowRefused:
    line: int  # the file's line number, the header being line 1
    reason: str


class RatesFileRefused(GroupError):
    """A translation-rate file with rows that cannot be read: nothing of it was saved."""

    def __init__(self, rows: Sequence[RowRefused]):
        self.rows = tuple(rows)
        super().__init__(
            f"{len(self.rows)} row{'s' if len(self.rows) != 1 else ''} of the file "
            "could not be read; nothing was imported."
        )


def _year_end(profile: XeroOrganisation) -> str:
    return f"{profile.financial_year_end_day} {MONTH_NAMES[profile.financial_year_end_month - 1]}"


def _members_checked(
    *, firm: Firm, organisation_ids: Sequence[object]
) -> list[tuple[ClientOrganisation, XeroOrganisation]]:
    ids = []
    for value in organisation_ids:
        try:
            ids.append(int(value))
        except (TypeError, ValueError) as exc:
            raise GroupError("Choose the group's members from the firm's clients.") from exc
    ids = list(dict.fromkeys(ids))
    if not MIN_MEMBERS <= len(ids) <= MAX_MEMBERS:
        raise GroupError(f"A group has {MIN_MEMBERS} to {MAX_MEMBERS} member organisations.")
    organisations = {
        o.pk: o
        for o in ClientOrganisation.objects.for_firm(firm).filter(
            pk__in=ids, archived_at__isnull=True
        )
    }
    if len(organisations) != len(ids):
        # Another firm's organisation is refused exactly as a missing one: never named.
        raise GroupError("Choose the group's members from the firm's clients.")
    profiles = {
        p.organisation_id: p
        for p in XeroOrganisation.objects.for_firm(firm).filter(organisation_id__in=ids)
    }
    unsynced = [organisations[pk].name for pk in ids if pk not in profiles]
    if unsynced:
        raise GroupError(
            f"{', '.join(sorted(unsynced))} has not synced with Xero yet, so its financial "
            "year is not known. Sync it first."
        )
    # A year is monthly here (budgeting.variance.maths.financial_year_start): the month decides.
    if len({p.financial_year_end_month for p in profiles.values()}) > 1:
        ends = "; ".join(
            f"{organisations[pk].name} ends on {_year_end(profiles[pk])}"
            for pk in sorted(ids, key=lambda pk: organisations[pk].name)
        )
        raise GroupError(
            "The members' financial years end in different months, so their years cannot be "
            f"added up: {ends}."
        )
    members = [(organisations[pk], profiles[pk]) for pk in ids]
    return sorted(members, key=lambda m: (m[0].name, m[0].pk))


def _clean(name: str, reporting_currency: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise GroupError("Give the group a name.")
    currency = (reporting_currency or "").strip().upper()
    if not CURRENCY.match(currency):
        raise GroupError("The reporting currency is a three-letter code, such as NZD or AUD.")
    return name[:120], currency


def _name_taken(firm: Firm, name: str, exclude: int | None = None) -> bool:
    groups = ClientGroup.objects.for_firm(firm).filter(name__iexact=name)
    if exclude is not None:
        groups = groups.exclude(pk=exclude)
    return groups.exists()


def _parent(
    parent_id: object, members: list[tuple[ClientOrganisation, XeroOrganisation]]
) -> ClientOrganisation | None:
    if parent_id in (None, ""):
        return None
    parent = next((o for o, _p in members if str(o.pk) == str(parent_id)), None)
    if parent is None:
        raise GroupError("The parent is one of the group's members.")
    return parent


@transaction.atomic
def group_create(
    *,
    firm: Firm,
    name: str,
    reporting_currency: str,
    organisation_ids: Sequence[object],
    parent_id: object = None,
    user: User | None = None,
) -> ClientGroup:
    name, currency = _clean(name, reporting_currency)
    members = _members_checked(firm=firm, organisation_ids=organisation_ids)
    if _name_taken(firm, name):
        raise GroupError(f"The firm already has a group called {name}.")
    group = ClientGroup(
        firm=firm,
        name=name,
        reporting_currency=currency,
        parent=_parent(parent_id, members),
        created_by=user,
    )
    history_note(group, reason=f"Group created: {name}", user=user)
    group.save()
    for organisation, _profile in members:
        member = ClientGroupMember(firm=firm, group=group, organisation=organisation)
        history_note(member, reason=f"Added to group {name}", user=user)
        member.save()
    return group


@transaction.atomic
def group_update(
    *,
    firm: Firm,
    group: ClientGroup,
    name: str,
    reporting_currency: str,
    organisation_ids: Sequence[object],
    parent_id: object = None,
    user: User | None = None,
) -> ClientGroup:
    group = ClientGroup.objects.for_firm(firm).select_for_update().get(pk=group.pk)
    name, currency = _clean(name, reporting_currency)
    members = _members_checked(firm=firm, organisation_ids=organisation_ids)
    if _name_taken(firm, name, exclude=group.pk):
        raise GroupError(f"The firm already has a group called {name}.")
    wanted = {organisation.pk: organisation for organisation, _p in members}
    current = {
        m.organisation_id: m for m in ClientGroupMember.objects.for_firm(firm).filter(group=group)
    }
    for organisation_id, member in current.items():
        if organisation_id not in wanted:
            # Its intercompany pairs go with it: they name its accounts.
            for mapping in IntercompanyMapping.objects.for_firm(firm).filter(group=group):
                if organisation_id in (
                    mapping.income_account.organisation_id,
                    mapping.expense_account.organisation_id,
                ):
                    history_note(mapping, reason="Its member left the group", user=user)
                    mapping.delete()
            history_note(member, reason=f"Removed from group {name}", user=user)
            member.delete()
    for organisation_id, organisation in wanted.items():
        if organisation_id not in current:
            member = ClientGroupMember(firm=firm, group=group, organisation=organisation)
            history_note(member, reason=f"Added to group {name}", user=user)
            member.save()
    group.name = name
    group.reporting_currency = currency
    group.parent = _parent(parent_id, members)
    group.updated_at = timezone.now()
    history_note(group, reason="Group edited", user=user)
    group.save()
    return group


# --- Translation rates ---------------------------------------------------------------------


def _member_ids(firm: Firm, group: ClientGroup):
    return ClientGroupMember.objects.for_firm(firm).filter(group=group).values("organisation_id")


def group_member_currencies(*, firm: Firm, group: ClientGroup) -> set[str]:
    """The currencies the group's members report in, other than the group's own."""
    currencies = set(
        XeroOrganisation.objects.for_firm(firm)
        .filter(organisation_id__in=_member_ids(firm, group))
        .values_list("base_currency", flat=True)
    )
    return {c for c in currencies if c != group.reporting_currency}


def _rate_checked(
    value: object, *, currency: str, month: object, basis: object, currencies: set[str]
) -> tuple[str, dt.date, str, Decimal]:
    """The row's values, or GroupError saying what is wrong with the first bad one."""
    code = str(currency or "").strip().upper()
    if code not in currencies:
        known = ", ".join(sorted(currencies)) or "none: every member reports in the group's"
        raise GroupError(
            f"“{str(currency)[:10]}” is not a currency of a member of this group "
            f"(its members' currencies: {known})."
        )
    period = month if isinstance(month, dt.date) else parse_month(str(month or ""))
    if period is None:
        raise GroupError(f"“{str(month)[:20]}” is not a month: give it as YYYY-MM, e.g. 2026-10.")
    period = month_start(period)
    today = month_start(timezone.localdate())
    if not add_months(today, -12 * RATE_YEARS) <= period <= add_months(today, 12 * RATE_YEARS):
        raise GroupError(
            f"{period:%Y-%m} is out of range: a rate is for a month within {RATE_YEARS} years "
            "of today."
        )
    kind = str(basis or "").strip().lower()
    if kind not in GroupTranslationRate.Basis.values:
        raise GroupError(f"“{str(basis)[:20]}” is not a basis: give budget or actual.")
    try:
        rate = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise GroupError(f"“{str(value)[:20]}” is not a number.") from exc
    if not rate.is_finite():
        raise GroupError(f"“{str(value)[:20]}” is not a number.")
    if rate <= 0:
        raise GroupError(f"A rate is above zero, not {rate}.")
    whole = RATE["max_digits"] - RATE["decimal_places"]
    if rate != rate.quantize(Decimal(1).scaleb(-RATE["decimal_places"])) or rate >= 10**whole:
        raise GroupError(
            f"{rate} has more than {RATE['decimal_places']} decimals or is too large for a rate."
        )
    return code, period, kind, rate


def _rate_save(
    firm: Firm,
    group: ClientGroup,
    row: tuple[str, dt.date, str, Decimal],
    *,
    reason: str,
    user: User | None,
) -> GroupTranslationRate:
    currency, period, basis, value = row
    rate = (
        GroupTranslationRate.objects.for_firm(firm)
        .filter(group=group, currency=currency, period=period, basis=basis)
        .first()
    )
    if rate is None:
        rate = GroupTranslationRate(
            firm=firm, group=group, currency=currency, period=period, basis=basis, rate=value
        )
    elif rate.rate == value:
        return rate
    rate.rate = value
    history_note(rate, reason=reason, user=user)
    rate.save()
    return rate


@transaction.atomic
def translation_rate_set(
    *,
    firm: Firm,
    group: ClientGroup,
    currency: str,
    period: object,
    basis: str,
    rate: object,
    user: User | None = None,
) -> GroupTranslationRate:
    row = _rate_checked(
        rate,
        currency=currency,
        month=period,
        basis=basis,
        currencies=group_member_currencies(firm=firm, group=group),
    )
    return _rate_save(firm, group, row, reason="Rate entered", user=user)


RATE_COLUMNS = ("currency", "month", "basis", "rate")


@transaction.atomic
def translation_rates_import(
    *, firm: Firm, group: ClientGroup, text: str, user: User | None = None
) -> int:
    """Read a CSV of currency, month (YYYY-MM), basis (budget or actual) and rate, and save
    every row, or none: a file with any bad row is refused row by row (RatesFileRefused), so
    a report never mixes rates of a half-read file. Returns how many rows were saved."""
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if tuple(header[:4]) != RATE_COLUMNS:
        raise RatesFileRefused(
            [RowRefused(1, f"The first row names the columns: {', '.join(RATE_COLUMNS)}.")]
        )
    currencies = group_member_currencies(firm=firm, group=group)
    rows, refused, seen = [], [], {}
    for index, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if index > MAX_RATE_ROWS + 1:
            refused.append(RowRefused(index, f"A file has at most {MAX_RATE_ROWS} rates."))
            break
        if len(cells) < 4:
            refused.append(
                RowRefused(index, "A row has four values: currency, month, basis, rate.")
            )
            continue
        currency, month, basis, value = cells[:4]
        try:
            row = _rate_checked(
                value, currency=currency, month=month, basis=basis, currencies=currencies
            )
        except GroupError as exc:
            refused.append(RowRefused(index, str(exc)))
            continue
        key = row[:3]
        if key in seen:
            refused.append(
                RowRefused(index, f"{row[0]} {row[1]:%Y-%m} {row[2]} is also on line {seen[key]}.")
            )
            continue
        seen[key] = index
        rows.append(row)
    if refused:
        raise RatesFileRefused(refused)
    for row in rows:
        _rate_save(firm, group, row, reason="Rates imported from a file", user=user)
    return len(rows)


@transaction.atomic
def translation_rate_remove(
    *, firm: Firm, group: ClientGroup, rate: GroupTranslationRate, user: User | None = None
) -> None:
    rate = GroupTranslationRate.objects.for_firm(firm).get(pk=rate.pk, group=group)
    history_note(rate, reason="Rate removed", user=user)
    rate.delete()


# --- Intercompany pairs --------------------------------------------------------------------


def _member_account(firm: Firm, group: ClientGroup, account_id: object, *, side: str) -> Account:
    try:
        return (
            Account.objects.for_firm(firm)
            .select_related("organisation")
            .get(pk=int(account_id), organisation_id__in=_member_ids(firm, group))
        )
    except (Account.DoesNotExist, TypeError, ValueError) as exc:
        raise GroupError(f"Choose the {side} account from the group's members' accounts.") from exc


def _class(account: Account) -> str:
    # Xero's class, or the one its type implies when a sync left it blank (as variance reads it).
    return account.account_class or ACCOUNT_CLASS_BY_TYPE.get(account.type, "")


@transaction.atomic
def intercompany_mapping_create(
    *,
    firm: Firm,
    group: ClientGroup,
    name: str,
    income_account_id: object,
    expense_account_id: object,
    user: User | None = None,
) -> IntercompanyMapping:
    name = (name or "").strip()
    if not name:
        raise GroupError("Name the pair, e.g. Management fees.")
    income = _member_account(firm, group, income_account_id, side="income")
    expense = _member_account(firm, group, expense_account_id, side="expense")
    if income.organisation_id == expense.organisation_id:
        raise GroupError(
            "The two accounts are of one organisation: a pair is one member's income and "
            "another member's expense."
        )
    if _class(income) != "REVENUE":
        raise GroupError(f"{income.name} of {income.organisation.name} is not an income account.")
    if _class(expense) != "EXPENSE":
        raise GroupError(
            f"{expense.name} of {expense.organisation.name} is not an expense account."
        )
    mapped = IntercompanyMapping.objects.for_firm(firm).filter(group=group)
    for account in (income, expense):
        other = mapped.filter(income_account=account) | mapped.filter(expense_account=account)
        taken = other.first()
        if taken is not None:
            raise GroupError(
                f"{account.name} of {account.organisation.name} is already in the pair "
                f"{taken.name}: it would be eliminated twice."
            )
    mapping = IntercompanyMapping(
        firm=firm, group=group, name=name[:120], income_account=income, expense_account=expense
    )
    history_note(mapping, reason=f"Intercompany pair mapped: {mapping.name}", user=user)
    mapping.save()
    return mapping


@transaction.atomic
def group_delete(*, firm: Firm, group: ClientGroup, user: User | None = None) -> str:
    """The group, its members, rates and intercompany pairs go; nothing of the organisations
    does (a group is only how the firm reports them together). Each deletion stays in the
    history, the group's with who and why. Returns the group's name."""
    group = ClientGroup.objects.for_firm(firm).get(pk=group.pk)
    history_note(group, reason=f"Group deleted: {group.name}", user=user)
    group.delete()
    return group.name


@transaction.atomic
def intercompany_mapping_remove(
    *, firm: Firm, group: ClientGroup, mapping: IntercompanyMapping, user: User | None = None
) -> None:
    mapping = IntercompanyMapping.objects.for_firm(firm).get(pk=mapping.pk, group=group)
    history_note(mapping, reason=f"Intercompany pair removed: {mapping.name}", user=user)
    mapping.delete()
