"""What annual drafts (budgeting.annual) show on the drafts' screens: the flags panel of an
annual draft's review and of one line, with the firm's tendency to apply. `{% load
annual_panels %}`. Drafts sit below annual and must not import it, so their templates ask here.
"""

from django import template

from budgeting.annual.selectors import annual_flags, annual_line_flags, annual_of_draft
from budgeting.deals.selectors import sales_pipeline_current
from budgeting.drafts.models import Draft, DraftLine
from budgeting.publishing.selectors import annual_budget_suggested_name

register = template.Library()

# Up to this many flagged lines, the flags table shows open on the draft's review.
FLAGGED_LINES_OPEN = 10


def _can_apply(context, draft: Draft) -> bool:
    return draft.figures_editable and "prepare_drafts" in context.get("current_permissions", ())


@register.inclusion_tag("budgeting/annual/flags_panel.html", takes_context=True)
def annual_flags_panel(context, draft: Draft) -> dict:
    """`{% annual_flags_panel draft %}`: nothing for a draft that is not an annual one."""
    firm = context["request"].firm
    annual = annual_of_draft(firm=firm, draft=draft) if draft.source == "annual" else None
    flags = annual_flags(firm=firm, draft=draft) if annual else []
    by_line: dict[int, dict] = {}
    for flag in flags:
        entry = by_line.setdefault(flag.line_id, {"line": flag.line, "flags": []})
        entry["flags"].append(flag)
    kinds: dict[str, int] = {}
    for flag in flags:
        label = flag.get_kind_display()
        kinds[label] = kinds.get(label, 0) + 1
    lines = list(by_line.values())
    # A pipeline uploaded since the year was drafted is not in its revenue lines: say so and
    # offer to draft the year again (never redrafted without the user asking).
    pipeline = (
        sales_pipeline_current(firm=firm, organisation=draft.organisation)
        if annual and not annual.superseded_at
        else None
    )
    return {
        "annual": annual,
        "pipeline_after": pipeline
        if pipeline is not None and pipeline.uploaded_at > annual.created_at
        else None,
        "draft": draft,
        "lines": lines,
        # A client with many projects has dozens of flagged lines: the table then starts
        # folded, under a count per kind, so the review's lines are not pages below.
        "kinds": sorted(kinds.items(), key=lambda item: -item[1]),
        "folded": len(lines) > FLAGGED_LINES_OPEN,
        "budget_name": annual_budget_suggested_name(
            organisation=draft.organisation, financial_year=annual.financial_year, option=None
        )
        if annual
        else "",
        "can_apply": _can_apply(context, draft),
        "current_firm": context.get("current_firm"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("budgeting/annual/line_flags.html", takes_context=True)
def annual_line_flags_panel(context, line: DraftLine) -> dict:
    """`{% annual_line_flags_panel line %}`: the flags of one line of an annual draft."""
    draft = line.draft
    flags = (
        annual_line_flags(firm=context["request"].firm, line=line)
        if draft.source == "annual"
        else []
    )
    return {
        "flags": flags,
        "line": line,
        "draft": draft,
        "can_apply": _can_apply(context, draft),
        "current_firm": context.get("current_firm"),
        "csrf_token": context.get("csrf_token"),
    }
