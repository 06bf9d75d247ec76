"""What drafts by department show on a draft's screen (budgeting.drafts): `{% load
department_panels %}`. The drafts package sits below departments and must not import it, so its
template asks here, at the top with the URLs (the layers contract in pyproject.toml)."""

from django import template

from budgeting.departments.selectors import (
    assignments_active,
    department_submission_problems,
    draft_gaps,
    draft_options,
)
from budgeting.drafts.models import Draft

register = template.Library()


@register.inclusion_tag("budgeting/departments/panel.html", takes_context=True)
def departments_panel(context, draft: Draft) -> dict:
    """`{% departments_panel draft %}`: the draft's departments, how many are done, the accounts
    whose departments do not add up to the overall figures, and what holds up submission."""
    firm = context["request"].firm
    active = assignments_active(firm=firm, draft=draft)
    gaps = draft_gaps(firm=firm, draft=draft) if active else None
    return {
        # Nothing to show for a draft with no tracking option's lines and no department.
        "shown": bool(active) or bool(draft_options(firm=firm, draft=draft)),
        "draft": draft,
        "organisation": context.get("organisation"),
        "current_firm": context.get("current_firm"),
        "assignments": active,
        "done": sum(1 for a in active if a.status == a.Status.DONE),
        "gaps": gaps,
        "problems": department_submission_problems(firm=firm, draft=draft) if active else [],
    }
