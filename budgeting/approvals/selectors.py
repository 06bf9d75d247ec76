"""Who may not approve a draft: one rule, read by the approval services (deciding a step,
choosing who is asked) and by the Waiting-for-you queue (which steps a member sees)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from budgeting.approvals.models import ApprovalRequest
from budgeting.departments.selectors import department_editor_emails
from budgeting.drafts.models import Draft, DraftBalance, DraftLine
from tenants.models import Firm, User


def draft_edited_by(*, firm: Firm, draft, user) -> Q:
    """A condition, true where `user` prepared `draft`, submitted it, or changed its lines or
    figures: segregation of duties keeps them from approving it. `draft` and `user` are ids or
    OuterRef()s, so the same rule filters users of one draft or steps of many."""
    return (
        Exists(Draft.objects.for_firm(firm).filter(pk=draft, created_by=user))
        | Exists(ApprovalRequest.objects.for_firm(firm).filter(draft_id=draft, submitted_by=user))
        | Exists(DraftLine.history.model.objects.filter(draft_id=draft, history_user=user))
        | Exists(DraftBalance.history.model.objects.filter(line__draft_id=draft, history_user=user))
        | Exists(DraftBalance.objects.for_firm(firm).filter(line__draft_id=draft, edited_by=user))
    )


def draft_editors(*, firm: Firm, draft: Draft) -> set[str]:
    """Emails of the preparer and of everyone who submitted or changed the draft's lines or
    figures, department managers outside the firm included (lower case: external approvers are
    matched by email)."""
    editors = User.objects.filter(draft_edited_by(firm=firm, draft=draft.pk, user=OuterRef("pk")))
    # Department managers outside the firm who changed figures through their link.
    return {email.lower() for email in editors.values_list("email", flat=True)} | (
        department_editor_emails(firm=firm, draft=draft)
    )
