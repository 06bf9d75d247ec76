"""Reads for the audit log of an organisation: who changed what, when and why.

Every history-tracked model of an organisation is read as one list, newest first: a UNION of
the history tables' headers is paged in the database, then only that page's records and the
record before each (for before → after) are loaded: a constant number of queries per page,
whatever the size of the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, OuterRef, Q, Subquery, Value

from budgeting import models as budgeting_models
from budgeting.approvals.models import ApprovalDecision
from budgeting.drafts.models import DraftBalance, DraftLine
from budgeting.drafts.provenance import figure_reproduce
from core.months import add_months
from tenants.models import ClientOrganisation, Firm, User

# key -> model; the order is the filter's.
AUDITED: dict[str, type[models.Model]] = {
    "budget": budgeting_models.Budget,
    "budgetline": budgeting_models.BudgetLine,
    "budgetbalance": budgeting_models.BudgetBalance,
    "materialitysetting": budgeting_models.MaterialitySetting,
    "budgetrate": budgeting_models.BudgetRate,
    # Rewritten after a re-sync changes its facts: the text a reader saw before stays here.
    "variancenarrative": budgeting_models.VarianceNarrative,
    "budgetpolicy": budgeting_models.BudgetPolicy,
    "draft": budgeting_models.Draft,
    "draftline": budgeting_models.DraftLine,
    "draftbalance": budgeting_models.DraftBalance,
    "approvalchain": budgeting_models.ApprovalChain,
    "externalapprover": budgeting_models.ExternalApprover,
    "approvalrequest": budgeting_models.ApprovalRequest,
    "approvalstep": budgeting_models.ApprovalStep,
    "approvaldecision": budgeting_models.ApprovalDecision,
    "budgetpublication": budgeting_models.BudgetPublication,
    "budgetrollback": budgeting_models.BudgetRollback,
    "forecastbudget": budgeting_models.ForecastBudget,
    "publishingsetting": budgeting_models.PublishingSetting,
    "packschedule": budgeting_models.PackSchedule,
    "reportpack": budgeting_models.ReportPack,
    "packdelivery": budgeting_models.PackDelivery,
    "salespipelineupload": budgeting_models.SalesPipelineUpload,
    "departmentassignment": budgeting_models.DepartmentAssignment,
    "departmentgapnote": budgeting_models.DepartmentGapNote,
    "scenario": budgeting_models.Scenario,
    "scenarioadjustment": budgeting_models.ScenarioAdjustment,
    "alertrule": budgeting_models.AlertRule,
    "alert": budgeting_models.Alert,
    "alertdelivery": budgeting_models.AlertDelivery,
}
# Bookkeeping columns whose change says nothing a reader of the log needs.
QUIET_FIELDS = {"id", "firm", "organisation", "updated_at", "checked_at"}
KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}


@dataclass(frozen=True)
class AuditFilter:
    model: str = ""  # a key of AUDITED, or every model
    user_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    draft_id: int | None = None  # only one forecast draft's history


def _of_draft(model_key: str, draft_id: int) -> Q | None:
    """The rows of one draft, by model; None for models that are not part of a draft. Lines
    and steps are found through their history, so deleted ones still count."""
    lines = budgeting_models.DraftLine.history.filter(draft_id=draft_id).values("id")
    requests = budgeting_models.ApprovalRequest.history.filter(draft_id=draft_id).values("id")
    return {
        "draft": Q(id=draft_id),
        "draftline": Q(draft_id=draft_id),
        "draftbalance": Q(line_id__in=lines),
        "approvalrequest": Q(draft_id=draft_id),
        "approvalstep": Q(request_id__in=requests),
        "approvaldecision": Q(request_id__in=requests),
        "budgetpublication": Q(draft_id=draft_id),
        "budgetrollback": Q(draft_id=draft_id),
        "departmentassignment": Q(draft_id=draft_id),
        "departmentgapnote": Q(draft_id=draft_id),
    }.get(model_key)


@dataclass(frozen=True)
class FieldChange:
    field: str  # the attribute's name (the API's key)
    before: object
    after: object
    label: str = ""  # the field in words, for people ("Edited amount")


@dataclass
class AuditEntry:
    model_key: str
    model_name: str
    object_id: int
    history_id: int
    when: dt.datetime
    kind: str  # Created, Changed, Deleted
    user: User | None
    reason: str
    label: str
    changes: list[FieldChange] = field(default_factory=list)
    # Someone outside the firm who acted, by email, when no member did (`user` None).
    outsider: str = ""

    @property
    def who(self) -> str:
        if self.user:
            return self.user.display_name
        if self.outsider:
            return f"{self.outsider} (outside the firm)"
        return "A sync from Xero or the system"

    @property
    def who_email(self) -> str | None:
        """The member's email, or the outside person's; None for the system."""
        return self.user.email if self.user else (self.outsider or None)

    @property
    def sentence(self) -> str:
        """The entry as a reader says it: "Ana Rivera changed the draft balance Rent (469) ·
        Nov 2026", "A sync from Xero or the system created the budget Overall Budget"."""
        what = self.label[:1].lower() + self.label[1:]
        return f"{self.who} {self.kind.lower()} the {what.replace(': ', ' ', 1)}"


def _headers(model_key: str, model, firm: Firm, organisation: ClientOrganisation, flt):
    rows = model.history.filter(firm_id=firm.pk, organisation_id=organisation.pk)
    if flt.user_id is not None:
        rows = rows.filter(history_user_id=flt.user_id)
    if flt.date_from is not None:
        rows = rows.filter(history_date__date__gte=flt.date_from)
    if flt.date_to is not None:
        rows = rows.filter(history_date__date__lte=flt.date_to)
    if flt.draft_id is not None:
        rows = rows.filter(_of_draft(model_key, flt.draft_id))
    # Every column an annotation, so the UNION's columns line up in this order.
    return (
        rows.annotate(
            a_model=Value(model_key, output_field=CharField()),
            a_history_id=models.F("history_id"),
            a_date=models.F("history_date"),
        )
        .values_list("a_model", "a_history_id", "a_date")
        .order_by()
    )  # SQLite: no ORDER BY in a UNION part


def audit_headers(*, firm: Firm, organisation: ClientOrganisation, flt: AuditFilter):
    """One queryset of (model key, history id, date) over every audited model, newest first."""
    keys = [flt.model] if flt.model in AUDITED else list(AUDITED)
    if flt.draft_id is not None:
        keys = [k for k in keys if _of_draft(k, flt.draft_id) is not None] or ["draft"]
    parts = [_headers(k, AUDITED[k], firm, organisation, flt) for k in keys]
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-a_date", "-a_history_id")


# Related rows whose name needs their account (and tracking option) to read well.
_NAMED_WITH = {
    budgeting_models.DraftLine: ("account", "tracking_option"),
    budgeting_models.BudgetLine: ("budget", "account"),
}
# The field of a record whose related row names it best, per audited model.
_NAMED_BY = {
    "draftbalance": "line",
    "budgetbalance": "budget_line",
    "draftline": "account",
    "variancenarrative": "account",
    "alert": "account",
    "departmentassignment": "tracking_option",
    "departmentgapnote": "account",
}


# People outside the firm have no user: the row they changed says who, the way an approval
# decision keeps an external approver's email. Per model: the field with the email, and the
# fields only that person's act changes (None: every record, as a decision is made once).
_OUTSIDERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "approvaldecision": ("email", None),
    # A department manager's edit through their link (drafts' line edit).
    "draftbalance": ("edited_by_email", ("edited_at",)),
    # Their edits counted, and their "done", on a department with no member as its manager.
    "departmentassignment": ("manager_email", ("edits", "done_at")),
}


def _outsider(model_key: str, record, changes: list[FieldChange]) -> str:
    if record.history_user_id is not None or model_key not in _OUTSIDERS:
        return ""
    if model_key == "departmentassignment" and record.manager_user_id is not None:
        return ""
    email_field, acts = _OUTSIDERS[model_key]
    if acts is not None and not any(c.field in acts for c in changes):
        return ""
    return getattr(record, email_field, "") or ""


def _label(model_key: str, record, names: dict) -> str:
    name = AUDITED[model_key]._meta.verbose_name.capitalize()
    period = getattr(record, "period", None)
    suffix = f" · {period:%b %Y}" if isinstance(period, dt.date) else ""
    via = _NAMED_BY.get(model_key)
    if via:
        field = AUDITED[model_key]._meta.get_field(via)
        related = names.get((field.related_model, getattr(record, field.attname)))
        if related:
            return f"{name}: {related}{suffix}"
    own = _own_name(model_key, record)
    if own:
        return f"{name}: {own}{suffix}"
    return f"{name} #{record.id}{suffix}"


def _own_name(model_key: str, record) -> str:
    """A name from the record's own fields, for the rows no related row names: the draft by its
    first month, a step by its place and name, a decision by who made it."""
    if model_key == "draft":
        return f"from {record.first_period:%b %Y}"
    if model_key == "approvalrequest":
        return f"submission of revision {record.revision}"
    if model_key == "approvalstep":
        return f"step {record.position}, {record.name}"
    if model_key == "approvaldecision":
        return f"{record.get_decision_display().lower()} by {record.email}"
    if model_key in ("budgetpublication", "forecastbudget"):
        return getattr(record, "budget_name", "") or getattr(record, "name", "")
    if model_key == "budget":
        return record.description or record.get_type_display()
    if model_key == "scenario":
        return f"{record.name}, version {record.version}"
    if model_key == "scenarioadjustment":
        return record.description
    if model_key == "alertrule":
        return record.name
    if model_key == "alertdelivery":
        return f"{record.get_channel_display().lower()} to {record.recipient}"
    if model_key == "externalapprover":
        return f"{record.name} <{record.email}>" if record.name else record.email
    if model_key in ("budgetpolicy", "approvalchain") and getattr(record, "version", None):
        return f"version {record.version}"
    return ""


def _related_names(wanted: dict[type[models.Model], set]) -> dict:
    """{(model, pk): its name} for the related rows a page mentions: one query per related
    model. The ids come from this firm's own history rows, so they name this firm's rows."""
    names: dict = {}
    for model, ids in wanted.items():
        ids = {i for i in ids if i is not None}
        if not ids:
            continue
        rows = model._base_manager.filter(pk__in=ids)
        if model in _NAMED_WITH:
            rows = rows.select_related(*_NAMED_WITH[model])
        for row in rows:
            names[(model, row.pk)] = str(row)
    return names


def _display(value) -> object:
    """A stored value as words: lists and mappings read as text, never as Python's repr."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "message" in value:
            return str(value["message"])
        return "; ".join(f"{str(k).replace('_', ' ')}: {_display(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(str(_display(v)) for v in value)
    return value


def _changes(record, previous) -> list[FieldChange]:
    """Raw before → after per field, by field (named and resolved by _readable)."""
    # The historical model's own fields: a model may keep bookkeeping columns out of history.
    tracked = {f.name for f in type(record)._meta.fields}
    fields = [
        f
        for f in record.instance_type._meta.fields
        if f.name not in QUIET_FIELDS and f.name in tracked
    ]
    if record.history_type == "-":
        return []
    if previous is None:
        changes = []
        for f in fields:
            value = getattr(record, f.attname)
            if value not in (None, "", [], {}):
                changes.append(FieldChange(f.name, "", value))
        return changes
    delta = record.diff_against(previous, excluded_fields=list(QUIET_FIELDS))
    return [FieldChange(change.field, change.old, change.new) for change in delta.changes]


def _relation(model: type[models.Model], field_name: str):
    try:
        field = model._meta.get_field(field_name)
    except FieldDoesNotExist:  # a field history kept that the model no longer has
        return None
    return field.related_model if field.is_relation and field.many_to_one else None


def _readable(model: type[models.Model], change: FieldChange, names: dict) -> FieldChange:
    """The field's own words ("Edited amount", not edited_amount) and related rows by name
    (the account, the person), not by id."""
    try:
        label = str(model._meta.get_field(change.field).verbose_name)
    except FieldDoesNotExist:
        label = change.field.replace("_", " ")
    related = _relation(model, change.field)
    try:
        choices = dict(model._meta.get_field(change.field).flatchoices)
    except FieldDoesNotExist:
        choices = {}

    def show(value):
        if related is not None and value not in (None, ""):
            return names.get((related, value), f"#{value}")
        if choices and value in choices:  # a status in words ("Changes requested")
            return str(choices[value])
        return _display(value)

    return FieldChange(
        change.field, show(change.before), show(change.after), label[:1].upper() + label[1:]
    )


def audit_entries_load(headers: list[tuple[str, int, dt.datetime]]) -> list[AuditEntry]:
    """The page's entries with their before → after: per model on the page, one query for the
    records (each annotated with the id of the record before it) and one for those; then one
    query for the users."""
    by_model: dict[str, list[int]] = {}
    for key, history_id, _when in headers:
        by_model.setdefault(key, []).append(history_id)
    records: dict[tuple[str, int], object] = {}
    previous: dict[tuple[str, int], object] = {}
    for key, ids in by_model.items():
        history = AUDITED[key].history.model
        before = (
            history.objects.filter(id=OuterRef("id"), history_date__lt=OuterRef("history_date"))
            .order_by("-history_date", "-history_id")
            .values("history_id")[:1]
        )
        found = list(
            history.objects.filter(history_id__in=ids).annotate(
                previous_history_id=Subquery(before)
            )
        )
        earlier = {
            r.history_id: r
            for r in history.objects.filter(
                history_id__in=[r.previous_history_id for r in found if r.previous_history_id]
            )
        }
        for record in found:
            records[(key, record.history_id)] = record
            previous[(key, record.history_id)] = earlier.get(record.previous_history_id)
    raw = {k: _changes(record, previous[k]) for k, record in records.items()}
    # Every related row the page mentions (people, accounts, lines), named in a query per model.
    wanted: dict[type[models.Model], set] = {User: set()}
    for (key, _history_id), record in records.items():
        wanted[User].add(record.history_user_id)
        via = _NAMED_BY.get(key)
        if via:
            field = AUDITED[key]._meta.get_field(via)
            wanted.setdefault(field.related_model, set()).add(getattr(record, field.attname))
        for change in raw[(key, _history_id)]:
            related = _relation(AUDITED[key], change.field)
            if related is not None:
                wanted.setdefault(related, set()).update(
                    v for v in (change.before, change.after) if v not in (None, "")
                )
    user_ids = {i for i in wanted.pop(User) if i is not None}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids)}
    names = _related_names(wanted)
    names.update({(User, pk): user.display_name for pk, user in users.items()})
    entries = []
    for key, history_id, when in headers:
        record = records.get((key, history_id))
        if record is None:
            continue
        model = AUDITED[key]
        entries.append(
            AuditEntry(
                model_key=key,
                model_name=model._meta.verbose_name.capitalize(),
                object_id=record.id,
                history_id=history_id,
                when=when,
                kind=KINDS.get(record.history_type, record.history_type),
                user=users.get(record.history_user_id),
                reason=record.history_change_reason or "",
                label=_label(key, record, names),
                changes=[_readable(model, c, names) for c in raw[(key, history_id)]],
                outsider=_outsider(key, record, raw[(key, history_id)]),
            )
        )
    return entries


def audit_users(*, firm: Firm) -> list[User]:
    """Who can appear in the filter: the firm's members."""
    from tenants.models import Membership

    return [
        m.user
        for m in Membership.objects.for_firm(firm).select_related("user").order_by("user__email")
    ]


def audit_entries_iter(
    *, firm: Firm, organisation: ClientOrganisation, flt: AuditFilter, batch: int = 500
) -> Iterator[AuditEntry]:
    """Every entry, newest first, a batch at a time (for the CSV export)."""
    headers = audit_headers(firm=firm, organisation=organisation, flt=flt)
    start = 0
    while True:
        chunk = list(headers[start : start + batch])
        if not chunk:
            return
        yield from audit_entries_load(chunk)
        start += batch


# --- Why this figure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureDecision:
    """A person's part in a line's figures: accepted, edited, reset, or decided its draft."""

    when: dt.datetime
    who: str  # an email: a member's, or an external approver's
    action: str  # accepted, edited, reset, approved, rejected, changes requested
    detail: str  # the reason, the month and figure, or the step and comment


@dataclass(frozen=True)
class FigureWhy:
    """What produced a draft line's figures (kept when they were suggested) and who accepted,
    edited or approved them since. `reproduced` says whether the kept inputs give the same
    suggestions and inputs hash today; None for a line drafted before inputs were kept."""

    line: DraftLine
    provenance: dict
    decisions: list[FigureDecision]
    reproduced: bool | None

    @property
    def history(self) -> list[tuple[dt.date, str]]:
        """The kept history as (month, value) pairs, oldest first."""
        kept = self.provenance.get("history") or {}
        if not kept.get("values"):
            return []
        first = dt.date.fromisoformat(kept["first"])
        return [(add_months(first, i), value) for i, value in enumerate(kept["values"])]


def draft_line_why(*, firm: Firm, line: DraftLine) -> FigureWhy:
    """The "why this figure" of one draft line, in a fixed number of queries: the line's and
    its months' history by people, and its draft's approval decisions."""
    provenance = line.provenance or {}
    decisions: list[FigureDecision] = []
    records = list(
        DraftLine.history.filter(firm_id=firm.pk, id=line.pk)
        .exclude(history_user__isnull=True)
        .exclude(history_type="+")
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    for record in records:
        reason = record.history_change_reason or ""
        if record.edited:
            continue  # the month's own record below says what changed, and why
        action = "accepted" if record.accepted else "reset"
        decisions.append(
            FigureDecision(record.history_date, record.history_user.email, action, reason)
        )
    months = (
        DraftBalance.history.filter(firm_id=firm.pk, line_id=line.pk, edited_amount__isnull=False)
        # A member's edit, or a department manager's outside the firm (by their email).
        .filter(Q(history_user__isnull=False) | ~Q(edited_by_email=""))
        .exclude(history_type="+")
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    for record in months:
        detail = f"{record.period:%b %Y}: {record.edited_amount} ({record.edit_reason})"
        who = record.history_user.email if record.history_user else record.edited_by_email
        decisions.append(FigureDecision(record.history_date, who, "edited", detail))
    for decision in (
        ApprovalDecision.objects.for_firm(firm)
        .filter(request__draft_id=line.draft_id)
        .select_related("step")
        .order_by("created_at", "pk")
    ):
        detail = f"Step {decision.step.position} ({decision.step.name})"
        if decision.decision == ApprovalDecision.Decision.REQUEST_CHANGES:
            on_line = line.pk in [int(i) for i in decision.line_ids]
            detail += ": on this line" if on_line else ": on other lines"
        if decision.comment:
            detail += f": {decision.comment}"
        decisions.append(
            FigureDecision(
                decision.created_at,
                decision.email,
                decision.get_decision_display().lower(),
                f"{detail} (by {decision.get_channel_display().lower()})",
            )
        )
    decisions.sort(key=lambda d: d.when)
    reproduced = None
    if provenance.get("history"):
        again = figure_reproduce(provenance)
        suggested = [b.suggested_amount for b in _months_of(firm, line)]
        # An annual draft's year starts some months after the history ends: its figures are
        # the forecast's last months (budgeting.annual keeps where they start).
        offset = int(provenance["history"].get("offset", 0))
        reproduced = again.inputs_hash == line.inputs_hash and suggested == [
            again.point(offset + i) for i in range(len(suggested))
        ]
    return FigureWhy(line=line, provenance=provenance, decisions=decisions, reproduced=reproduced)


def _months_of(firm: Firm, line: DraftLine):
    return DraftBalance.objects.for_firm(firm).filter(line=line).order_by("period")
