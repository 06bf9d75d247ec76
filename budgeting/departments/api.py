"""The partner API of drafts by department: a draft's departments (list, assign a tracking
option to its manager) and the gap between the departments and the overall figures. The same
selectors and services as the screens. Money is a string with two decimals; a month "YYYY-MM".
Routes are in config/api_urls.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from budgeting.departments import services
from budgeting.departments.selectors import (
    assignment_list,
    department_submission_problems,
    draft_gaps,
)
from budgeting.drafts.api import Conflict, _draft, _organisation, _tracking_option
from budgeting.ledger.api import Money, PeriodField
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action

TEXT = r"^[^\x00]*$"


class AssignmentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tracking_option_id = serializers.CharField(
        source="tracking_option.option_id", help_text="Xero's TrackingOptionID."
    )
    tracking_option = serializers.CharField(source="tracking_option.name")
    manager_email = serializers.EmailField()
    manager_name = serializers.CharField(allow_blank=True)
    manager_is_member = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=services.Status.choices)
    edits = serializers.IntegerField(help_text="Figures the manager changed.")
    assigned_at = serializers.DateTimeField()
    done_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "DepartmentAssignment"

    def get_manager_is_member(self, row) -> bool:
        return row.manager_user_id is not None


class GapMonthSerializer(serializers.Serializer):
    period = PeriodField()
    overall = Money()
    departments = Money(help_text="The sum of the departments' figures.")
    gap = Money(help_text="overall - departments")

    class Meta:
        ref_name = "DepartmentGapMonth"


class GapAccountSerializer(serializers.Serializer):
    account_id = serializers.CharField(help_text="Xero's AccountID.")
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    has_overall_line = serializers.BooleanField()
    department_lines = serializers.IntegerField()
    explanation = serializers.CharField(allow_null=True)
    months = GapMonthSerializer(many=True)

    class Meta:
        ref_name = "DepartmentGapAccount"


class GapOutputSerializer(serializers.Serializer):
    tracking_category = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    accounts = GapAccountSerializer(many=True, help_text="Accounts with a gap in some month.")
    problems = serializers.ListField(
        child=serializers.CharField(), help_text="What holds up submission; empty when nothing."
    )

    class Meta:
        ref_name = "DepartmentGaps"


class DepartmentListApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        tracking_option_id = serializers.RegexField(
            TEXT, max_length=64, help_text="Xero's TrackingOptionID of the department."
        )
        manager_email = serializers.EmailField(
            help_text="A member's email makes the member the manager; anyone else gets a link."
        )
        manager_name = serializers.RegexField(
            TEXT, max_length=150, required=False, allow_blank=True, default=""
        )

        class Meta:
            ref_name = "DepartmentAssign"

    @extend_schema(
        operation_id="draft_departments_list",
        summary="A draft's departments and their managers",
        responses=AssignmentOutputSerializer(many=True),
        tags=["departments"],
    )
    def get(self, request, organisation_public_id, draft_id):
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        rows = assignment_list(firm=request.firm, draft=draft)
        return Response(AssignmentOutputSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="draft_departments_assign",
        summary="Assign a department (tracking option) of a draft to its manager",
        request=InputSerializer,
        responses={
            201: AssignmentOutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The draft is not a draft, has no lines for the option, or its "
                "departments are another tracking category's (code not_assigned).",
            ),
        },
        tags=["departments"],
    )
    def post(self, request, organisation_public_id, draft_id):
        """The manager is emailed a link that shows only their department. Assigning an
        assigned department gives it to the new manager; the earlier links stop working."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        option = _tracking_option(request.firm, organisation, values["tracking_option_id"])
        try:
            assignment = services.department_assign(
                firm=request.firm,
                draft=draft,
                option=option,
                user=api_actor(request),
                email=values["manager_email"],
                name=values["manager_name"],
            )
        except services.DepartmentError as exc:
            raise Conflict(str(exc), code="not_assigned") from exc
        return Response(AssignmentOutputSerializer(assignment).data, status=status.HTTP_201_CREATED)


class DepartmentGapApi(FirmAPIView):
    @extend_schema(
        operation_id="draft_departments_gaps",
        summary="The overall figures against the sum of the departments, per account and month",
        responses=GapOutputSerializer,
        tags=["departments"],
    )
    def get(self, request, organisation_public_id, draft_id):
        """Only accounts with a gap in some month are listed, with the explanation given for
        it, if any. `problems` says what still holds up the draft's submission."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        gaps = draft_gaps(firm=request.firm, draft=draft)
        accounts = []
        for account, gap, note in gaps.rows() if gaps else []:
            accounts.append(
                {
                    "account_id": account.account_id,
                    "code": account.code,
                    "name": account.name,
                    "has_overall_line": gap.has_overall,
                    "department_lines": gap.departments,
                    "explanation": note.reason if note else None,
                    "months": [
                        {
                            "period": m.period,
                            "overall": m.overall,
                            "departments": m.departments,
                            "gap": m.gap,
                        }
                        for m in gap.months
                    ],
                }
            )
        body = {
            "tracking_category": gaps.category.name if gaps else None,
            "currency": draft.currency_code,
            "accounts": accounts,
            "problems": department_submission_problems(firm=request.firm, draft=draft),
        }
        return Response(GapOutputSerializer(body).data)
