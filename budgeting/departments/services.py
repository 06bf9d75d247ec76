"""Drafts by department: assign a draft's tracking option to its manager, the manager's signed
link, their edits (through drafts' line edit, so guardrails, provenance and history apply) and
"done", and the reasons given for the gaps between the departments and the overall figures.

A link carries a signed token naming the firm, the assignment, its draft and option, the
manager's email and the assignment's link version; it expires, and reassigning or withdrawing
the department ends every link sent before. The firm comes from the token, never the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from budgeting.departments.models import DepartmentAssignment, DepartmentGapNote
from budgeting.departments.selectors import assignments_active, draft_options
from budgeting.drafts.models import Draft, DraftLine
from budgeting.drafts.services import DraftError, draft_line_edit
from budgeting.ledger.models import Account, TrackingOption
from core.email import email_send
from core.history import history_note
from core.tasks import enqueue
from tenants.models import Firm, Membership, User

LINK_SALT = "budgeting.departments.link"
Status = DepartmentAssignment.Status
REASON_LENGTH = 1000


class DepartmentError(Exception):
    """An assignment, edit or explanation refused; the message says why and what to do."""


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "DEPARTMENT_LINK_DAYS", 14))


# --- Assigning ---------------------------------------------------------------------------------


def _draft_locked(firm: Firm, draft: Draft) -> Draft:
    draft = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
    if draft.status != Draft.Status.DRAFT:
        raise DepartmentError(
            f"This draft is {draft.get_status_display().lower()}: departments are assigned "
            "while it is a draft."
        )
    if not draft.figures_editable:
        raise DepartmentError("A rollback draft's figures cannot be edited by department.")
    return draft


def _manager(firm: Firm, manager_user: User | None, email: str, name: str) -> tuple:
    if manager_user is not None:
        if not Membership.objects.for_firm(firm).filter(user=manager_user).exists():
            raise DepartmentError("That person is not a member of this firm.")
        return manager_user, manager_user.email.lower(), manager_user.display_name
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DepartmentError("Give the manager's email address, or choose a member.") from exc
    # An address that belongs to a member is that member: their edits then carry their name.
    member = (
        Membership.objects.for_firm(firm)
        .filter(user__email__iexact=email)
        .select_related("user")
        .first()
    )
    if member is not None:
        return member.user, email, member.user.display_name
    return None, email, (name or "").strip()[:150]


def department_assign(
    *,
    firm: Firm,
    draft: Draft,
    option: TrackingOption,
    user: User,
    manager_user: User | None = None,
    email: str = "",
    name: str = "",
) -> DepartmentAssignment:
    """Give the draft's lines of `option` to a manager (a member, or someone by email) and email
    them a link. Assigning an assigned department again reassigns it: the earlier manager's
    links stop working. Every department of a draft is an option of one tracking category."""
    manager_user, email, name = _manager(firm, manager_user, email, name)
    with transaction.atomic():
        draft = _draft_locked(firm, draft)
        if option.pk not in {o.pk for o in draft_options(firm=firm, draft=draft)}:
            raise DepartmentError(f"The draft has no lines for {option.name}.")
        others = [
            a
            for a in assignments_active(firm=firm, draft=draft)
            if a.tracking_option.category_id != option.category_id
        ]
        if others:
            raise DepartmentError(
                f"The draft's departments are options of {others[0].tracking_option.category}: "
                f"withdraw them before assigning {option.name}."
            )
        assignment = (
            DepartmentAssignment.objects.for_firm(firm)
            .select_for_update()
            .filter(draft=draft, tracking_option=option)
            .first()
        )
        if assignment is None:
            assignment = DepartmentAssignment(
                firm=firm,
                organisation_id=draft.organisation_id,
                draft=draft,
                tracking_option=option,
            )
            reason = f"{option.name} assigned to {email}"
        else:
            assignment.link_version += 1
            reason = (
                f"{option.name} reassigned from {assignment.manager_email} to {email}"
                if assignment.is_active and assignment.manager_email != email
                else f"{option.name} assigned to {email} again"
            )
        assignment.manager_user = manager_user
        assignment.manager_email = email
        assignment.manager_name = name
        assignment.status = Status.ASSIGNED
        assignment.done_at = None
        assignment.assigned_by = user
        assignment.assigned_at = assignment.updated_at = timezone.now()
        history_note(assignment, reason=reason, user=user)
        assignment.save()
        enqueue("budgeting.tasks.department_link_send_task", firm.pk, assignment.pk)
    return assignment


def _assignment_locked(firm: Firm, assignment: DepartmentAssignment) -> DepartmentAssignment:
    return (
        DepartmentAssignment.objects.for_firm(firm)
        .select_for_update()
        .select_related("tracking_option", "draft")
        .get(pk=assignment.pk)
    )


def department_withdraw(
    *, firm: Firm, assignment: DepartmentAssignment, user: User
) -> DepartmentAssignment:
    """Take the department back: its links stop working and it no longer holds up submission."""
    with transaction.atomic():
        _draft_locked(firm, assignment.draft)
        assignment = _assignment_locked(firm, assignment)
        if not assignment.is_active:
            raise DepartmentError("This department is already withdrawn.")
        assignment.status = Status.WITHDRAWN
        assignment.link_version += 1
        assignment.updated_at = timezone.now()
        history_note(
            assignment,
            reason=f"{assignment.tracking_option.name} withdrawn from {assignment.manager_email}",
            user=user,
        )
        assignment.save()
    return assignment


def department_reopen(
    *, firm: Firm, assignment: DepartmentAssignment, user: User
) -> DepartmentAssignment:
    """Give a department marked done back to its manager, with a fresh link."""
    with transaction.atomic():
        _draft_locked(firm, assignment.draft)
        assignment = _assignment_locked(firm, assignment)
        if assignment.status != Status.DONE:
            raise DepartmentError("Only a department marked done can be reopened.")
        assignment.status = Status.ASSIGNED
        assignment.done_at = None
        assignment.updated_at = timezone.now()
        history_note(assignment, reason=f"{assignment.tracking_option.name} reopened", user=user)
        assignment.save()
        enqueue("budgeting.tasks.department_link_send_task", firm.pk, assignment.pk)
    return assignment


# --- The manager's link ------------------------------------------------------------------------


def department_link_token(*, firm: Firm, assignment: DepartmentAssignment) -> str:
    return signing.dumps(
        {
            "f": firm.pk,
            "a": assignment.pk,
            "d": assignment.draft_id,
            "o": assignment.tracking_option_id,
            "e": assignment.manager_email,
            "v": assignment.link_version,
        },
        salt=LINK_SALT,
        compress=True,
    )


def department_link_url(*, firm: Firm, assignment: DepartmentAssignment) -> str:
    token = department_link_token(firm=firm, assignment=assignment)
    return settings.SITE_URL + reverse("department_link", args=[token])


def department_link_resend(
    *, firm: Firm, assignment: DepartmentAssignment, user: User
) -> DepartmentAssignment:
    """Email the manager a fresh link (the earlier ones keep working until they expire)."""
    with transaction.atomic():
        assignment = _assignment_locked(firm, assignment)
        if assignment.status != Status.ASSIGNED:
            raise DepartmentError("Only a department with its manager gets a link.")
        assignment.updated_at = timezone.now()
        history_note(assignment, reason=f"Link sent again to {assignment.manager_email}", user=user)
        assignment.save()
        enqueue("budgeting.tasks.department_link_send_task", firm.pk, assignment.pk)
    return assignment


def department_link_send(*, firm: Firm, assignment_id: int) -> int:
    """Email the manager their link, once per assignment, reopening or "send again" (each moves
    `updated_at`; the email claims it): a task delivered twice sends once. Nothing when the
    department was withdrawn or is done by the time this runs. Returns the emails sent."""
    rows = DepartmentAssignment.objects.for_firm(firm).filter(
        Q(link_sent_at__isnull=True) | Q(link_sent_at__lt=F("updated_at")),
        pk=assignment_id,
        status=Status.ASSIGNED,
    )
    assignment = rows.select_related("draft__organisation", "tracking_option").first()
    if assignment is None or not rows.update(link_sent_at=timezone.now()):
        return 0
    draft = assignment.draft
    try:
        email_send(
            template="department_link",
            to=[assignment.manager_email],
            subject=(
                f"Your figures for {assignment.tracking_option.name}: the draft budget of "
                f"{draft.organisation.name}"
            ),
            context={
                "assignment": assignment,
                "draft": draft,
                "organisation": draft.organisation,
                "firm": firm,
                "link_url": department_link_url(firm=firm, assignment=assignment),
                "expires_days": link_lifetime().days,
                "site_name": settings.SITE_NAME,
            },
        )
    except Exception:
        # Unclaimed, so the task's retry sends it.
        DepartmentAssignment.objects.for_firm(firm).filter(pk=assignment.pk).update(
            link_sent_at=assignment.link_sent_at
        )
        raise
    return 1


class DepartmentLinkProblem(Exception):
    """Why a link cannot be used, for the page that says so: `title`, the message, a status."""

    def __init__(self, title: str, message: str, status: int = 410):
        super().__init__(message)
        self.title = title
        self.status = status


@dataclass
class DepartmentLink:
    firm: Firm
    assignment: DepartmentAssignment
    draft: Draft

    @property
    def editor(self) -> User | None:
        return self.assignment.manager_user


_INVALID = (
    "This link is not valid",
    "The link is incomplete or was changed. Open it again from the email, copying the whole "
    "address; if that fails, ask the firm to send it again.",
)


def department_link_read(*, token: str, signed_in: User | None = None) -> DepartmentLink:
    """The assignment a token opens, if it still can; DepartmentLinkProblem saying why not."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=link_lifetime().total_seconds())
    except signing.SignatureExpired as exc:
        raise DepartmentLinkProblem(
            "This link has expired",
            f"Department links work for {link_lifetime().days} days. Ask the firm to send "
            "you a new one.",
        ) from exc
    except signing.BadSignature as exc:
        raise DepartmentLinkProblem(*_INVALID, 404) from exc
    firm = Firm.objects.filter(pk=payload.get("f")).first() if isinstance(payload, dict) else None
    assignment = (
        DepartmentAssignment.objects.for_firm(firm)
        .select_related("draft__organisation", "tracking_option", "manager_user")
        .filter(
            pk=payload.get("a"),
            draft_id=payload.get("d"),
            tracking_option_id=payload.get("o"),
        )
        .first()
        if firm is not None
        else None
    )
    if assignment is None:
        raise DepartmentLinkProblem(*_INVALID, 404)
    if (
        assignment.link_version != payload.get("v")
        or assignment.manager_email != payload.get("e")
        or not assignment.is_active
    ):
        raise DepartmentLinkProblem(
            "This link no longer works",
            "The department was given to someone else or taken back since this link was sent. "
            "If your figures are still needed, the firm will send you a new link.",
        )
    if signed_in is not None and signed_in.email.lower() != assignment.manager_email:
        raise DepartmentLinkProblem(
            "This link is for someone else",
            f"It was sent to {assignment.manager_email}, but you are signed in as "
            f"{signed_in.email}. Sign out and open the link again.",
            403,
        )
    return DepartmentLink(firm=firm, assignment=assignment, draft=assignment.draft)


# --- The manager's work ------------------------------------------------------------------------


def department_line_edit(
    *,
    firm: Firm,
    assignment: DepartmentAssignment,
    line: DraftLine,
    period: dt.date,
    amount,
    reason: str,
    user: User | None,
) -> DraftLine:
    """The manager sets one month of one of their department's lines, through drafts' line
    edit (reason required, guardrails checked, revision up, history kept). `user` is the
    member acting, or None for a manager outside the firm: the month then records them by
    their email (DraftBalance.edited_by_email), as an approval decision records an external
    approver, and the history names them through it."""
    reason = (reason or "").strip()[:REASON_LENGTH]
    if not reason:
        raise DepartmentError("Say why you changed the figure: a reason is required.")
    with transaction.atomic():
        assignment = _assignment_locked(firm, assignment)
        if assignment.status == Status.DONE:
            raise DepartmentError(
                "You marked this department done. Ask the firm to reopen it to change figures."
            )
        if assignment.status != Status.ASSIGNED:
            raise DepartmentError("This department was taken back: it can no longer be edited.")
        if line.draft_id != assignment.draft_id or line.tracking_option_id != (
            assignment.tracking_option_id
        ):
            raise DepartmentError("That line is not part of your department.")
        try:
            line = draft_line_edit(
                firm=firm,
                draft=assignment.draft,
                line=line,
                period=period,
                amount=amount,
                reason=reason,
                user=user,
                editor_email="" if user is not None else assignment.manager_email,
            )
        except DraftError as exc:
            raise DepartmentError(str(exc)) from exc
        assignment.edits += 1
        history_note(assignment, reason=f"{line} {period:%b %Y} edited by its manager", user=user)
        assignment.save()
    return line


def department_done(
    *, firm: Firm, assignment: DepartmentAssignment, user: User | None
) -> DepartmentAssignment:
    """The manager says their department's figures are ready."""
    with transaction.atomic():
        assignment = _assignment_locked(firm, assignment)
        if assignment.status != Status.ASSIGNED:
            raise DepartmentError(
                f"This department is {assignment.get_status_display().lower()} already."
            )
        assignment.status = Status.DONE
        assignment.done_at = timezone.now()
        history_note(
            assignment,
            reason=f"{assignment.tracking_option.name} done ({assignment.manager_email})",
            user=user,
        )
        assignment.save()
    return assignment


# --- Gaps --------------------------------------------------------------------------------------


def department_gap_explain(
    *, firm: Firm, draft: Draft, account: Account, reason: str, user: User
) -> DepartmentGapNote | None:
    """Say why an account's departments do not add up to its overall figures; an empty reason
    takes the explanation back. Returns the note, or None once removed."""
    reason = (reason or "").strip()
    if len(reason) > REASON_LENGTH:
        raise DepartmentError(f"Keep the explanation under {REASON_LENGTH} characters.")
    if "\x00" in reason:
        raise DepartmentError("The explanation cannot hold NUL characters.")
    with transaction.atomic():
        draft = _draft_locked(firm, draft)
        note = (
            DepartmentGapNote.objects.for_firm(firm)
            .select_for_update()
            .filter(draft=draft, account=account)
            .first()
        )
        if not reason:
            if note is None:
                raise DepartmentError(
                    "Say why the departments do not add up: a reason is required."
                )
            history_note(note, reason=f"Explanation of the gap of {account} removed", user=user)
            note.delete()
            return None
        if note is None:
            note = DepartmentGapNote(
                firm=firm, organisation_id=draft.organisation_id, draft=draft, account=account
            )
        note.reason = reason
        note.created_by = user
        note.updated_at = timezone.now()
        history_note(note, reason=f"Gap of {account} explained: {reason}", user=user)
        note.save()
    return note
