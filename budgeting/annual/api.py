"""The partner API's annual drafts: draft next financial year's budget (or a year again,
superseding its draft), and list an annual draft's flags. The draft itself is read, edited,
submitted and published through the drafts' endpoints. Routes are in config/api_urls.py.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from budgeting.annual import maths, services
from budgeting.annual.models import AnnualDraft, AnnualLineFlag
from budgeting.annual.selectors import annual_counts, annual_flags
from budgeting.drafts.api import Conflict
from budgeting.ledger import api_selectors
from budgeting.ledger.api import PeriodField
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action
from tenants.scoping import get_firm_object_or_404


def _organisation(request, organisation_public_id):
    return api_selectors.api_organisation_get(firm=request.firm, public_id=organisation_public_id)


class AnnualDraftOutputSerializer(serializers.Serializer):
    draft_id = serializers.IntegerField()
    financial_year = serializers.IntegerField(help_text="By the calendar year it ends in.")
    first_period = PeriodField()
    status = serializers.CharField(source="draft.status")
    lines = serializers.IntegerField()
    flagged_lines = serializers.IntegerField()
    superseded_draft_id = serializers.IntegerField(allow_null=True)

    class Meta:
        ref_name = "AnnualDraft"


class AnnualDraftCreateApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        financial_year = serializers.IntegerField(
            required=False,
            min_value=1901,
            max_value=9999,
            help_text="By the calendar year it ends in; the next financial year when left out.",
        )
        departure_percent = serializers.DecimalField(
            required=False,
            max_digits=6,
            decimal_places=1,
            min_value=Decimal(1),
            max_value=Decimal(1000),
            help_text=(
                "Flag lines whose year departs from the last twelve months' actuals by more "
                f"than this; {maths.DEFAULT_DEPARTURE_PERCENT:g} when left out."
            ),
        )
        supersede_draft_id = serializers.IntegerField(
            required=False,
            help_text="Draft the year again: the id of its current annual draft, superseded.",
        )

        class Meta:
            ref_name = "AnnualDraftCreate"

    @extend_schema(
        operation_id="annual_drafts_create",
        summary="Draft next financial year's budget from the history",
        request=InputSerializer,
        responses={
            201: AnnualDraftOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid input."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="No draft made (not_drafted): no history, a year that cannot be "
                "drafted, or drafted already without supersede_draft_id.",
            ),
        },
        tags=["annual drafts"],
    )
    def post(self, request, organisation_public_id):
        """Every Profit and Loss line (overall and per tracking option with history) forecast
        to the year, with its method and intervals, flagged where atypical. Review, submit and
        publish it as any draft (drafts/<id>/...); it is published into a new budget for the
        year."""
        organisation = _organisation(request, organisation_public_id)
        given = self.InputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        supersede = None
        if data.get("supersede_draft_id") is not None:
            supersede = get_firm_object_or_404(
                AnnualDraft,
                firm=request.firm,
                organisation=organisation,
                draft_id=data["supersede_draft_id"],
            )
        try:
            annual = services.annual_draft_create(
                firm=request.firm,
                organisation=organisation,
                user=api_actor(request),
                financial_year=data.get("financial_year"),
                departure_percent=data.get("departure_percent"),
                supersede=supersede,
            )
        except services.AnnualDraftError as exc:
            raise Conflict(str(exc), code="not_drafted") from exc
        counts = annual_counts(firm=request.firm, annual=annual)
        output = {
            "draft_id": annual.draft_id,
            "financial_year": annual.financial_year,
            "first_period": annual.first_period,
            "draft": annual.draft,
            "lines": counts.lines,
            "flagged_lines": counts.flagged_lines,
            "superseded_draft_id": supersede.draft_id if supersede else None,
        }
        return Response(AnnualDraftOutputSerializer(output).data, status=status.HTTP_201_CREATED)


class AnnualLineFlagSerializer(serializers.Serializer):
    line_id = serializers.IntegerField()
    account_id = serializers.CharField(source="line.account.account_id", help_text="Xero's.")
    account_code = serializers.CharField(source="line.account.code")
    tracking_option_id = serializers.CharField(
        source="line.tracking_option.option_id", allow_null=True, default=None
    )
    kind = serializers.ChoiceField(choices=AnnualLineFlag.Kind.choices)
    reason = serializers.CharField()
    months = serializers.SerializerMethodField(help_text="YYYY-MM, marked on the line's chart.")
    percent = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True)
    applied_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "AnnualLineFlag"

    def get_months(self, flag) -> list[str]:
        return [month[:7] for month in flag.months]


class AnnualDraftFlagsApi(FirmAPIView):
    class OutputSerializer(serializers.Serializer):
        draft_id = serializers.IntegerField()
        financial_year = serializers.IntegerField()
        superseded = serializers.BooleanField()
        flags = AnnualLineFlagSerializer(many=True)

        class Meta:
            ref_name = "AnnualDraftFlags"

    @extend_schema(
        operation_id="annual_drafts_flags",
        summary="The flags of an annual draft's lines, with why and their months",
        responses=OutputSerializer,
        tags=["annual drafts"],
    )
    def get(self, request, organisation_public_id, draft_id):
        organisation = _organisation(request, organisation_public_id)
        annual = get_firm_object_or_404(
            AnnualDraft, firm=request.firm, organisation=organisation, draft_id=draft_id
        )
        return Response(
            self.OutputSerializer(
                {
                    "draft_id": annual.draft_id,
                    "financial_year": annual.financial_year,
                    "superseded": annual.superseded_at is not None,
                    "flags": annual_flags(firm=request.firm, draft=annual.draft),
                }
            ).data
        )
