"""CSV export of a draft's approval timeline: every round it was submitted in, each step and
every decision on it (who, when, the channel, why, the lines a change was asked on), as the
approval screen shows them. Through core.csv: comments are people's words, so formula-guarded."""

from __future__ import annotations

from django.http import HttpResponse

from budgeting.approvals.models import ApprovalRequest
from budgeting.drafts.models import DraftLine
from budgeting.drafts.selectors import draft_get_or_404
from core.csv import csv_filename, csv_response
from tenants.roles import Action
from tenants.scoping import FirmRequest, firm_view

HEADER = [
    "Submitted",
    "Submitted by",
    "Revision",
    "Round status",
    "Step",
    "Step name",
    "Step status",
    "Decision",
    "By",
    "Email",
    "Decided",
    "Channel",
    "Comment",
    "Lines",
]


@firm_view(Action.VIEW)
def draft_approval_csv(request: FirmRequest, organisation_id: int, draft_id: int) -> HttpResponse:
    organisation, draft = draft_get_or_404(
        firm=request.firm, organisation_id=organisation_id, draft_id=draft_id
    )
    rounds = (
        ApprovalRequest.objects.for_firm(request.firm)
        .filter(draft=draft)
        .select_related("submitted_by")
        .prefetch_related("steps", "decisions__user")
        .order_by("submitted_at", "pk")
    )
    labels = {
        line.pk: str(line)
        for line in DraftLine.objects.for_firm(request.firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
    }

    def rows():
        yield HEADER
        for round_ in rounds:
            submitted = [
                round_.submitted_at,
                round_.submitted_by.display_name if round_.submitted_by else "",
                round_.revision,
                round_.get_status_display(),
            ]
            decisions = sorted(round_.decisions.all(), key=lambda d: (d.created_at, d.pk))
            for step in sorted(round_.steps.all(), key=lambda s: s.position):
                at_step = [step.position, step.name, step.get_status_display()]
                mine = [d for d in decisions if d.step_id == step.pk]
                if not mine:
                    yield [*submitted, *at_step, *[""] * 7]
                for d in mine:
                    lines = "; ".join(labels.get(pk, f"line {pk}") for pk in d.line_ids)
                    yield [
                        *submitted,
                        *at_step,
                        d.get_decision_display(),
                        d.user.display_name if d.user else "",
                        d.email,
                        d.created_at,
                        d.get_channel_display(),
                        d.comment,
                        lines,
                    ]

    filename = csv_filename(
        organisation.name, "approval", f"forecast-from-{draft.first_period:%Y-%m}"
    )
    return csv_response(filename=filename, rows=rows())
