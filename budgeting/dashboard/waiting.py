"""What waits for one signed-in member across every client organisation of the firm: the approval
steps they can decide now, the drafts that came back to them with changes requested, and the
drafts still to prepare. The navigation shows the count; the "Waiting for you" page the list.

A fixed number of queries whatever the number of organisations (two for the count, three for the
page): who may decide a step (segregation of duties, one step per person) is checked in the
database with EXISTS, not by loading each draft's history."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Subquery

from budgeting.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStep
from budgeting.approvals.selectors import draft_edited_by
from budgeting.drafts.models import Draft
from tenants.models import Firm, User
from tenants.roles import Action, role_allows


@dataclass
class Waiting:
    steps: list[ApprovalStep] = field(default_factory=list)  # to decide, oldest first
    # Back with their preparer: changes requested (to answer and resubmit) or rejected.
    changes_requested: list[Draft] = field(default_factory=list)
    to_prepare: list[Draft] = field(default_factory=list)  # the newest open draft of a client

    @property
    def count(self) -> int:
        return len(self.steps) + len(self.changes_requested) + len(self.to_prepare)


def _steps_to_decide(firm: Firm, user: User, role: str) -> list[ApprovalStep]:
    if not role_allows(role, Action.APPROVE):
        return []
    # The draft's preparer and editors cannot approve it: the approval services' own rule.
    edited = draft_edited_by(firm=firm, draft=OuterRef("request__draft_id"), user=user)
    approved_other = Exists(
        ApprovalDecision.objects.for_firm(firm)
        .filter(
            request_id=OuterRef("request_id"),
            revision=OuterRef("request__revision"),
            decision=ApprovalDecision.Decision.APPROVE,
            email=user.email.lower(),
        )
        .exclude(step_id=OuterRef("pk"))
    )
    steps = (
        ApprovalStep.objects.for_firm(firm)
        .filter(status=ApprovalStep.Status.OPEN, request__status=ApprovalRequest.Status.PENDING)
        .exclude(edited)
        .exclude(approved_other)
        .select_related("request__draft", "request__organisation")
        .order_by("opened_at", "pk")
    )
    # Who a step names is JSON (roles, member ids): read in Python, which every database can do.
    return [s for s in steps if role in s.roles or user.pk in s.member_ids]


def _open_drafts(firm: Firm, user: User, role: str) -> tuple[list[Draft], list[Draft]]:
    if not role_allows(role, Action.PREPARE_DRAFTS):
        return [], []
    latest = (
        ApprovalRequest.objects.for_firm(firm)
        .filter(draft_id=OuterRef("pk"))
        .order_by("-submitted_at", "-pk")
    )
    newer = Draft.objects.for_firm(firm).filter(
        organisation_id=OuterRef("organisation_id"), created_at__gt=OuterRef("created_at")
    )
    drafts = (
        Draft.objects.for_firm(firm)
        .filter(status__in=(Draft.Status.DRAFT, Draft.Status.REJECTED))
        # An older draft a newer one replaced is nobody's work.
        .exclude(Exists(newer))
        .annotate(
            request_status=Subquery(latest.values("status")[:1]),
            request_submitted_by=Subquery(latest.values("submitted_by_id")[:1]),
        )
        .select_related("organisation", "created_by")
        .order_by("organisation__name", "-created_at")
    )
    changes, prepare = [], []
    for d in drafts:
        mine = user.pk in (d.created_by_id, d.request_submitted_by)
        if d.status == Draft.Status.REJECTED:
            # Back to its preparer, with the comment, until a newer draft replaces it.
            if mine:
                changes.append(d)
            continue
        returned = d.request_status == ApprovalRequest.Status.CHANGES_REQUESTED
        (changes if returned and mine else prepare).append(d)
    return changes, prepare


def waiting_for_member(*, firm: Firm, user: User, role: str) -> Waiting:
    changes, prepare = _open_drafts(firm, user, role)
    return Waiting(
        steps=_steps_to_decide(firm, user, role), changes_requested=changes, to_prepare=prepare
    )


def waiting_changes_comments(*, firm: Firm, drafts: list[Draft]) -> dict[int, ApprovalDecision]:
    """The request for changes or the rejection each returned draft came back with, in one
    query."""
    decisions = (
        ApprovalDecision.objects.for_firm(firm)
        .filter(
            request__draft_id__in=[d.pk for d in drafts],
            request__status__in=(
                ApprovalRequest.Status.CHANGES_REQUESTED,
                ApprovalRequest.Status.REJECTED,
            ),
            decision__in=(
                ApprovalDecision.Decision.REQUEST_CHANGES,
                ApprovalDecision.Decision.REJECT,
            ),
        )
        .select_related("user", "request")
        .order_by("created_at")
    )
    # Later rounds overwrite earlier ones: the newest request for changes wins.
    return {d.request.draft_id: d for d in decisions}
