"""The partner API's approval of a forecast draft: its current approval round, and approving or
rejecting a step.

Every rule (segregation of duties, steps in order, a stale revision) is in
`budgeting.approvals.services.approval_decide`, the same service the screens and email links use; this
module only maps its refusals to the API's error format. A refused decision is a 409 with code
`decision_refused` and the service's message saying why, whether the rule is about who decides
(the preparer or an editor, someone the step does not name, someone who approved another step)
or about the draft's state (a later step, a stale revision, nothing pending). A key without the
approve scope, or a member whose role cannot approve, gets a 403 before any of that.

Approve keys act as the member who created them (tenants/api/permissions.py); a signed-in
person acts as themself. Routes are registered in config/api_urls.py (ENDPOINTS).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from budgeting.approvals import services as approvals
from budgeting.approvals.models import (
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStep,
    ExternalApprover,
)
from budgeting.drafts.api import (
    Conflict,
    DraftDetailOutputSerializer,
    _draft,
    _draft_detail,
    _organisation,
)
from budgeting.drafts.models import Draft, DraftLine
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.models import Firm, User
from tenants.roles import Action, Role
from tenants.scoping import get_firm_object_or_404


def _or(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def step_approvers_in_words(*, firm: Firm, step: ApprovalStep) -> str:
    """Who the step names, as a sentence: roles, members by name, external approvers."""
    parts = []
    if step.roles:
        labels = [str(Role(r).label) if r in Role.values else r for r in step.roles]
        parts.append(f"anyone with the {_or(labels)} role")
    if step.member_ids:
        emails = sorted(User.objects.filter(pk__in=step.member_ids).values_list("email", flat=True))
        parts += emails
    if step.external_approver_ids:
        parts += [
            str(e)
            for e in ExternalApprover.objects.for_firm(firm).filter(
                pk__in=step.external_approver_ids
            )
        ]
    text = _or(parts) or "nobody"
    return text[0].upper() + text[1:]


# Statuses are enums named by their model (config/settings.py ENUM_NAME_OVERRIDES).
class ApprovalStepOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The step_id to approve or reject it by.")
    position = serializers.IntegerField(help_text="1, 2, …: steps are decided in this order.")
    name = serializers.CharField()
    state = serializers.ChoiceField(source="status", choices=ApprovalStep.Status.choices)
    condition = serializers.CharField(
        help_text="When the step applies. One of: always, capex, change_above, extra_approval "
        "(the budget policy's extra approval step: capital expenditure, a large change)."
    )
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Why a conditional step applies to this draft, one per line and reason, e.g. "
        '"Plant (710): Capital expenditure account"; empty for a step that always applies.',
    )
    who_may_approve = serializers.CharField(help_text="Who the step names, in words.")
    decided_by = serializers.EmailField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "ApprovalStep"


class ApprovalDecisionOutputSerializer(serializers.Serializer):
    step_id = serializers.IntegerField()
    step = serializers.CharField(source="step.name")
    decision = serializers.CharField(help_text="One of: approve, reject, request_changes.")
    channel = serializers.CharField(help_text="One of: screen, api, email.")
    by = serializers.EmailField(source="email")
    at = serializers.DateTimeField(source="created_at")
    revision = serializers.IntegerField(help_text="The draft's revision decided on.")
    comment = serializers.CharField()
    line_ids = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The draft lines a change was requested on (request_changes only).",
    )

    class Meta:
        ref_name = "ApprovalDecision"


class ApprovalOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    draft_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ApprovalRequest.Status.choices)
    revision = serializers.IntegerField(
        help_text="The draft's revision this round is for; send it back to decide on it."
    )
    chain_version = serializers.IntegerField()
    submitted_by = serializers.EmailField(source="submitted_by.email", allow_null=True)
    submitted_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    steps = ApprovalStepOutputSerializer(many=True, source="steps_loaded", help_text="In order.")
    decisions = ApprovalDecisionOutputSerializer(
        many=True, source="decisions_loaded", help_text="Oldest first."
    )

    class Meta:
        ref_name = "Approval"


def _current_round(firm: Firm, draft: Draft) -> ApprovalRequest:
    """The pending round, else the latest one; 404 when the draft was never submitted."""
    rounds = (
        ApprovalRequest.objects.for_firm(firm)
        .filter(draft=draft)
        .select_related("submitted_by")
        .order_by("-submitted_at", "-pk")
    )
    current = rounds.filter(status=ApprovalRequest.Status.PENDING).first() or rounds.first()
    if current is None:
        raise exceptions.NotFound(
            "This draft has not been submitted for approval.", code="not_submitted"
        )
    return current


def _approval_body(firm: Firm, request: ApprovalRequest) -> dict:
    decisions = list(
        ApprovalDecision.objects.for_firm(firm)
        .filter(request=request)
        .select_related("step")
        .order_by("created_at", "pk")
    )
    steps = list(ApprovalStep.objects.for_firm(firm).filter(request=request).order_by("position"))
    for step in steps:
        last = next((d for d in reversed(decisions) if d.step_id == step.pk), None)
        step.who_may_approve = step_approvers_in_words(firm=firm, step=step)
        step.decided_by = last.email if last else None
    request.steps_loaded = steps
    request.decisions_loaded = decisions
    return ApprovalOutputSerializer(request).data


class DraftApprovalApi(FirmAPIView):
    etag = True

    @extend_schema(
        operation_id="draft_approval_retrieve",
        summary="A draft's approval: its steps in order and the decisions made",
        responses={200: ApprovalOutputSerializer},
        tags=["approvals"],
    )
    def get(self, request, organisation_public_id, draft_id):
        """The pending approval round of the draft, or its latest one when none is pending:
        each step with its state and who may approve it, and who decided what, when and how.
        404 (code not_submitted) when the draft was never submitted."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        return Response(_approval_body(request.firm, _current_round(request.firm, draft)))


_DECIDE_RESPONSES = {
    200: ApprovalOutputSerializer,
    409: OpenApiResponse(
        ErrorSerializer,
        description="The decision was refused (code decision_refused); the message says why: "
        "segregation of duties (the preparer, an editor of the draft, or someone who approved "
        "another step cannot approve), not an approver of the step, a later step than the open "
        "one, a stale revision, or a draft not waiting for approval.",
    ),
}


class _StepDecideApi(FirmAPIView):
    firm_actions = {"POST": Action.APPROVE}
    decision: str = ""

    class InputSerializer(serializers.Serializer):
        comment = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default=""
        )
        revision = serializers.IntegerField(
            min_value=1,
            max_value=2_147_483_647,
            required=False,
            help_text="The draft's revision you reviewed: the decision is refused if it changed.",
        )

    def _check(self, firm: Firm, draft: Draft, values: dict) -> None:
        """Input checks that need the draft; raise ValidationError (400)."""

    def _decide(self, request, organisation_public_id, draft_id, step_id):
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        step = get_firm_object_or_404(
            ApprovalStep, firm=request.firm, request__draft=draft, pk=step_id
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        self._check(request.firm, draft, values)
        membership = request.membership
        if membership is None:  # FirmPermission guarantees a member for APPROVE; be explicit.
            raise exceptions.PermissionDenied("No member to approve as.", code="no_member")
        approver = approvals.approver_for_member(firm=request.firm, user=membership.user)
        try:
            record = approvals.approval_decide(
                firm=request.firm,
                draft=draft,
                approver=approver,
                decision=self.decision,
                channel=ApprovalDecision.Channel.API,
                comment=values["comment"],
                step_id=step.pk,
                revision=values.get("revision"),
                line_ids=values.get("line_ids", ()),
            )
        except approvals.ApprovalError as exc:
            raise Conflict(str(exc), code="decision_refused") from exc
        request_row = (
            ApprovalRequest.objects.for_firm(request.firm)
            .select_related("submitted_by")
            .get(pk=record.request_id)
        )
        return Response(_approval_body(request.firm, request_row))


class ApprovalStepApproveApi(_StepDecideApi):
    decision = ApprovalDecision.Decision.APPROVE

    class InputSerializer(_StepDecideApi.InputSerializer):
        class Meta:
            ref_name = "ApprovalStepApprove"

    @extend_schema(
        operation_id="approval_steps_approve",
        summary="Approve the open step of a draft's approval",
        request=InputSerializer,
        responses=_DECIDE_RESPONSES,
        tags=["approvals"],
    )
    def post(self, request, organisation_public_id, draft_id, step_id):
        """Approves as the member the key acts for, under the same rules as the screens. Needs
        a key with the approve scope, created by that member. Returns the updated approval."""
        return self._decide(request, organisation_public_id, draft_id, step_id)


class ApprovalStepRejectApi(_StepDecideApi):
    decision = ApprovalDecision.Decision.REJECT

    class InputSerializer(_StepDecideApi.InputSerializer):
        comment = serializers.CharField(
            max_length=2000,
            help_text="Why: required, so the preparer knows what to change.",
            error_messages={
                "required": "Say why in a comment: the preparer needs to know what to change.",
                "blank": "Say why in a comment: the preparer needs to know what to change.",
            },
        )

        class Meta:
            ref_name = "ApprovalStepReject"

    @extend_schema(
        operation_id="approval_steps_reject",
        summary="Reject the open step of a draft's approval",
        request=InputSerializer,
        responses=_DECIDE_RESPONSES,
        tags=["approvals"],
    )
    def post(self, request, organisation_public_id, draft_id, step_id):
        """Rejects the draft as the member the key acts for: the round closes and the draft is
        rejected. A comment is required. Needs a key with the approve scope. Returns the
        updated approval."""
        return self._decide(request, organisation_public_id, draft_id, step_id)


class ApprovalStepRequestChangesApi(_StepDecideApi):
    decision = ApprovalDecision.Decision.REQUEST_CHANGES

    class InputSerializer(ApprovalStepRejectApi.InputSerializer):
        line_ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2_147_483_647),
            required=False,
            default=list,
            max_length=10_000,
            help_text="Ids of the draft's lines to change (from the draft's lines); optional.",
        )

        class Meta:
            ref_name = "ApprovalStepRequestChanges"

    def _check(self, firm: Firm, draft: Draft, values: dict) -> None:
        # Lines of another draft (or another firm) are a mistake to report, not to drop.
        asked = set(values.get("line_ids", ()))
        known = set(
            DraftLine.objects.for_firm(firm)
            .filter(draft=draft, pk__in=asked)
            .values_list("pk", flat=True)
        )
        if asked - known:
            raise exceptions.ValidationError(
                {"line_ids": [f"Not lines of this draft: {sorted(asked - known)}."]}
            )

    @extend_schema(
        operation_id="approval_steps_request_changes",
        summary="Request changes on the open step of a draft's approval",
        request=InputSerializer,
        responses=_DECIDE_RESPONSES,
        tags=["approvals"],
    )
    def post(self, request, organisation_public_id, draft_id, step_id):
        """Sends the draft back to its preparer as an editable draft, naming the lines to change
        (optional) and why (required). Submitting it again starts a new round. Needs a key with
        the approve scope. Returns the updated approval."""
        return self._decide(request, organisation_public_id, draft_id, step_id)


# --- Submitting a draft to the chain --------------------------------------------------------


class DraftSubmitApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    @extend_schema(
        operation_id="drafts_submit",
        summary="Submit a draft for approval",
        request=None,
        responses={
            200: DraftDetailOutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The draft cannot be submitted: the message says why (code "
                "cannot_submit).",
            ),
        },
        tags=["drafts"],
    )
    def post(self, request, organisation_public_id, draft_id):
        """Sends the draft to the organisation's approval chain, as the screens do: every line
        accepted or edited, none breaking the policy. Needs a key with the write scope."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        try:
            approvals.draft_submit(firm=request.firm, draft=draft, user=api_actor(request))
        except approvals.ApprovalError as exc:
            raise Conflict(str(exc), code="cannot_submit") from exc
        draft.refresh_from_db()
        return Response(_draft_detail(request.firm, draft))
