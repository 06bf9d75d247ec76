"""Reads of drafts by department: the assignments, a department's lines, the gap between the
departments and the overall figures, and what still holds up a draft's submission (read by
budgeting.approvals before it submits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from budgeting.departments import maths
from budgeting.departments.models import DepartmentAssignment, DepartmentGapNote
from budgeting.drafts.models import Draft, DraftBalance, DraftLine
from budgeting.ledger.models import Account, TrackingCategory, TrackingOption
from tenants.models import Firm
from tenants.scoping import get_firm_object_or_404

Status = DepartmentAssignment.Status


def assignment_list(*, firm: Firm, draft: Draft) -> list[DepartmentAssignment]:
    """Every assignment of the draft, withdrawn ones included (last), by option name."""
    rows = list(
        DepartmentAssignment.objects.for_firm(firm)
        .filter(draft=draft)
        .select_related("tracking_option__category", "manager_user")
    )
    rows.sort(key=lambda a: (not a.is_active, a.tracking_option.name.lower(), a.pk))
    return rows


def assignments_active(*, firm: Firm, draft: Draft) -> list[DepartmentAssignment]:
    return [a for a in assignment_list(firm=firm, draft=draft) if a.is_active]


def assignment_get_or_404(*, firm: Firm, draft: Draft, assignment_id: object):
    return get_firm_object_or_404(DepartmentAssignment, firm=firm, pk=assignment_id, draft=draft)


def draft_options(*, firm: Firm, draft: Draft) -> list[TrackingOption]:
    """The tracking options the draft has lines for: the departments it can assign."""
    ids = (
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft, tracking_option__isnull=False)
        .values("tracking_option_id")
    )
    return list(
        TrackingOption.objects.for_firm(firm)
        .filter(pk__in=ids)
        .select_related("category")
        .order_by("category__name", "name")
    )


def department_lines(*, firm: Firm, draft: Draft, option: TrackingOption) -> list[DraftLine]:
    """The draft's lines of one option, with their months: all a department's manager sees."""
    return list(
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft, tracking_option=option)
        .defer("provenance")
        .select_related("account", "tracking_option")
        .prefetch_related(
            Prefetch("balances", queryset=DraftBalance.objects.for_firm(firm).order_by("period"))
        )
        .order_by("section", "account__code", "account__name")
    )


@dataclass
class DraftGaps:
    """The departments (options of one tracking category) against the overall lines."""

    category: TrackingCategory
    periods: list
    gaps: list[maths.AccountGap]  # account: an Account pk
    accounts: dict[int, Account] = field(default_factory=dict)
    notes: dict[int, DepartmentGapNote] = field(default_factory=dict)  # by account pk
    # Accounts with overall lines only: no department of the category has a line for them.
    unsplit: list[Account] = field(default_factory=list)

    @property
    def open(self) -> list[maths.AccountGap]:
        return maths.gaps_open(self.gaps, self.notes)

    def rows(self) -> list[tuple[Account, maths.AccountGap, DepartmentGapNote | None]]:
        """Each account with a gap, its gap and its note (for the screens and the API)."""
        return [(self.accounts[g.account], g, self.notes.get(g.account)) for g in self.with_gap]

    @property
    def with_gap(self) -> list[maths.AccountGap]:
        return [g for g in self.gaps if g.has_gap]


def draft_gaps(
    *, firm: Firm, draft: Draft, active: list[DepartmentAssignment] | None = None
) -> DraftGaps | None:
    """The gap per account and month between the overall lines and the sum of the assigned
    category's options; None while no department is assigned. `active`: the draft's active
    assignments, when the caller has them."""
    if active is None:
        active = assignments_active(firm=firm, draft=draft)
    if not active:
        return None
    category = active[0].tracking_option.category
    lines = list(
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft)
        .filter(Q(tracking_option__isnull=True) | Q(tracking_option__category=category))
        .defer("provenance")
        .select_related("account", "tracking_option")
        .prefetch_related(
            Prefetch("balances", queryset=DraftBalance.objects.for_firm(firm).order_by("period"))
        )
        .order_by("section", "account__code", "account__name", "pk")
    )
    overall: dict = {}
    departments: dict = {}
    accounts: dict[int, Account] = {}
    periods = set()
    for line in lines:
        figures = {b.period: b.effective_amount for b in line.balances.all()}
        periods.update(figures)
        accounts[line.account_id] = line.account
        if line.tracking_option_id is None:
            overall[line.account_id] = figures
        else:
            departments.setdefault(line.account_id, []).append(figures)
    gaps = maths.department_gaps(periods=periods, overall=overall, departments=departments)
    # An account no department has a line for was never split by the category (rent, insurance:
    # a draft has a department's line wherever that option has a budget or history), so its
    # overall figure is not a gap to explain; the screen names these accounts instead.
    unsplit = [accounts[g.account] for g in gaps if g.departments == 0]
    gaps = [g for g in gaps if g.departments > 0]
    notes = {
        n.account_id: n
        for n in DepartmentGapNote.objects.for_firm(firm)
        .filter(draft=draft)
        .select_related("account", "created_by")
    }
    return DraftGaps(
        category=category,
        periods=sorted(periods),
        gaps=gaps,
        accounts=accounts,
        notes=notes,
        unsplit=unsplit,
    )


def department_submission_problems(*, firm: Firm, draft: Draft) -> list[str]:
    """Why a draft with departments cannot be submitted yet; empty when it can (or has none)."""
    active = assignments_active(firm=firm, draft=draft)
    gaps = draft_gaps(firm=firm, draft=draft, active=active) if active else None
    return _problems(active, gaps)


def _problems(active: list[DepartmentAssignment], gaps: DraftGaps | None) -> list[str]:
    problems = []
    waiting = [a for a in active if a.status != Status.DONE]
    if waiting:
        names = ", ".join(f"{a.tracking_option.name} ({a.manager_email})" for a in waiting)
        problems.append(
            f"{len(waiting)} department{'s' if len(waiting) != 1 else ''} not done yet: {names}."
        )
    open_ = gaps.open if gaps else []
    if open_:
        names = ", ".join(_account_label(gaps.accounts[g.account]) for g in open_)
        problems.append(
            f"The departments do not add up to the overall figures for {len(open_)} "
            f"account{'s' if len(open_) != 1 else ''} ({names}): make them add up or explain "
            "each gap."
        )
    return problems


@dataclass
class DraftDepartments:
    """A draft's departments as its screen shows them, read once."""

    assignments: list[DepartmentAssignment]  # the active ones
    shown: bool  # it has departments, or lines of a tracking option to assign
    gaps: DraftGaps | None
    problems: list[str]

    @property
    def done(self) -> int:
        return sum(1 for a in self.assignments if a.status == Status.DONE)

    @property
    def warn(self) -> bool:
        return bool(self.problems)


def draft_departments_state(*, firm: Firm, draft: Draft) -> DraftDepartments:
    active = assignments_active(firm=firm, draft=draft)
    if not active:
        shown = (
            DraftLine.objects.for_firm(firm)
            .filter(draft=draft, tracking_option__isnull=False)
            .exists()
        )
        return DraftDepartments([], shown, None, [])
    gaps = draft_gaps(firm=firm, draft=draft, active=active)
    problems = _problems(active, gaps) if draft.status == Draft.Status.DRAFT else []
    return DraftDepartments(active, True, gaps, problems)


def department_editor_emails(*, firm: Firm, draft: Draft) -> set[str]:
    """Managers outside the firm who changed the draft's figures through their link: they are
    editors of the draft, like the members in its history (segregation of duties)."""
    # From the history: a manager who edited and was then replaced still edited the draft.
    return set(
        DepartmentAssignment.history.filter(
            firm_id=firm.pk, draft_id=draft.pk, edits__gt=0, manager_user__isnull=True
        ).values_list("manager_email", flat=True)
    )


def _account_label(account: Account) -> str:
    return f"{account.code} {account.name}".strip() if account.code else account.name
