"""What the publishing and audit packages show on a draft's approval screen (budgeting.approvals):
`{% load draft_panels %}`.

Approvals sits below publishing and audit and must not import them, so the approval screen's
template asks here: templates compose screens from the top, where every package may be read (the
layers contract in pyproject.toml)."""

from django import template

from budgeting.audit.services import RESTORABLE, Revision, draft_revisions
from budgeting.drafts.models import Draft
from budgeting.publishing.models import BudgetPublication
from budgeting.publishing.services import PUBLISHABLE

register = template.Library()


@register.simple_tag(takes_context=True)
def restorable_revisions(context, draft: Draft) -> list[Revision]:
    """`{% restorable_revisions draft as revisions %}`: the draft's revisions, newest first, while
    it can be restored; none once it is approved, rejected or published."""
    if draft.status not in RESTORABLE:
        return []
    return draft_revisions(firm=context["request"].firm, draft=draft)


@register.simple_tag(takes_context=True)
def draft_publications(context, draft: Draft) -> list[BudgetPublication]:
    """`{% draft_publications draft as publications %}`: the draft's import files, newest first."""
    return list(BudgetPublication.objects.for_firm(context["request"].firm).filter(draft=draft))


@register.filter
def publishable(draft: Draft) -> bool:
    """`{% if draft|publishable %}`: whether import files can be made of the draft now."""
    return draft.status in PUBLISHABLE
