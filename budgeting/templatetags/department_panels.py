"""What drafts by department show on a draft's screen (budgeting.drafts): `{% load
department_panels %}`. The drafts package sits below departments and must not import it, so its
template asks here, at the top with the URLs (the layers contract in pyproject.toml)."""

from django import template

from budgeting.departments.selectors import DraftDepartments, draft_departments_state
from budgeting.drafts.models import Draft

register = template.Library()


@register.simple_tag(takes_context=True)
def draft_departments(context, draft: Draft) -> DraftDepartments:
    """`{% draft_departments draft as departments %}`: the draft's departments, how many are
    done, the gap to the overall figures and what they leave to do before submission, for
    `{% include "budgeting/departments/panel.html" %}` and the draft's "not ready" list."""
    return draft_departments_state(firm=context["request"].firm, draft=draft)
