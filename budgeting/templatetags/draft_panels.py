"""What the publishing and audit packages show on a draft's approval screen (budgeting.approvals)
and its draft screen (budgeting.drafts): `{% load draft_panels %}`.

Approvals sits below publishing and audit and must not import them, so the approval screen's
template asks here: templates compose screens from the top, where every package may be read (the
layers contract in pyproject.toml)."""

from django import template

from budgeting.audit.selectors import draft_line_why
from budgeting.audit.services import RESTORABLE, Revision, draft_revisions
from budgeting.drafts.models import Draft, DraftLine
from budgeting.publishing.models import BudgetPublication, BudgetRollback
from budgeting.publishing.selectors import (
    ForecastTarget,
    draft_forecast_targets,
    publishing_setting_get,
)
from budgeting.publishing.services import PUBLISHABLE
from tenants.models import ClientOrganisation

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


@register.simple_tag(takes_context=True)
def forecast_targets(context, draft: Draft) -> list[ForecastTarget]:
    """`{% forecast_targets draft as targets %}`: each original budget the draft changes, with
    the forecast budget it is published into (to add in Xero, or as found there)."""
    return draft_forecast_targets(firm=context["request"].firm, draft=draft)


@register.simple_tag(takes_context=True)
def replaces_original(context, organisation: ClientOrganisation) -> bool:
    """`{% replaces_original organisation as replacing %}`: whether publishing the organisation's
    drafts replaces the original budget (its "replace the original" is on)."""
    return publishing_setting_get(
        firm=context["request"].firm, organisation=organisation
    ).replace_original


@register.simple_tag(takes_context=True)
def draft_rollback(context, draft: Draft) -> BudgetRollback | None:
    """`{% draft_rollback draft as rollback %}`: what a rollback draft rolls back, to what."""
    if draft.source != Draft.Source.ROLLBACK:
        return None
    return (
        BudgetRollback.objects.for_firm(context["request"].firm)
        .select_related("publication", "to_publication")
        .filter(draft=draft)
        .first()
    )


@register.simple_tag(takes_context=True)
def publication_rollbacks(context, publication: BudgetPublication) -> list[BudgetRollback]:
    """`{% publication_rollbacks publication as rollbacks %}`: the rollback drafts made of a
    published file, newest first."""
    return list(
        BudgetRollback.objects.for_firm(context["request"].firm)
        .filter(publication=publication)
        .select_related("draft")
    )


@register.inclusion_tag("budgeting/audit/why_panel.html", takes_context=True)
def why_this_figure(context, line: DraftLine, currency: str) -> dict:
    """`{% why_this_figure line currency %}`: the line's "why this figure" panel, from the
    audit (what produced the figures, kept when suggested, and who accepted, edited or
    approved them); the draft screens sit below the audit and cannot read it themselves."""
    return {
        "why": draft_line_why(firm=context["request"].firm, line=line),
        "currency": currency,
    }
