"""What the approvals package shows on a lower package's screen: `{% load approval_panels %}`.

A draft's screen (budgeting.drafts) shows the changes its approvers requested. The drafts package
sits below approvals and must not import it, so its template asks here: templates compose
screens from the top, where every package may be read (the layers contract in pyproject.toml)."""

from django import template

from budgeting.approvals.models import ApprovalDecision
from budgeting.approvals.services import draft_changes_requested, draft_rejection
from budgeting.drafts.models import Draft

register = template.Library()


@register.simple_tag(takes_context=True)
def changes_requested(context, draft: Draft) -> ApprovalDecision | None:
    """`{% changes_requested draft as decision %}`: the request for changes the draft came back
    with, while it is back with its preparer."""
    return draft_changes_requested(firm=context["request"].firm, draft=draft)


@register.simple_tag(takes_context=True)
def rejection(context, draft: Draft) -> ApprovalDecision | None:
    """`{% rejection draft as decision %}`: who rejected the draft, when and why."""
    return draft_rejection(firm=context["request"].firm, draft=draft)
