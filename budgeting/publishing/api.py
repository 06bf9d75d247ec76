"""The partner API of publishing to Xero: an organisation's import files with their
verification, publishing an approved draft, and rolling a published file back to an earlier
revision of the same budget. The rules are in budgeting.publishing.services, the same the screens
use; a refusal is a 409 with the service's message. Routes are in config/api_urls.py."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from budgeting.drafts.api import (
    Conflict,
    DraftDetailOutputSerializer,
    _draft,
    _draft_detail,
    _organisation,
)
from budgeting.ledger.api import NewestFirstPagination
from budgeting.publishing import services as publishing
from budgeting.publishing.models import BudgetPublication
from budgeting.publishing.selectors import budget_publication_rollback_choices
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action
from tenants.scoping import get_firm_object_or_404


class PublicationCellSerializer(serializers.Serializer):
    account_code = serializers.CharField(source="code")
    account_name = serializers.CharField(source="name")
    period = serializers.DateField(help_text="The first day of the month.")
    amount = serializers.CharField(help_text="Whole currency units, as the file has it.")

    class Meta:
        ref_name = "PublicationCell"


class PublicationDifferenceSerializer(serializers.Serializer):
    account_code = serializers.CharField(source="code")
    account_name = serializers.CharField(source="name")
    period = serializers.DateField()
    expected = serializers.CharField(allow_null=True)
    synced = serializers.CharField(allow_null=True, help_text="Null: Xero holds no figure.")

    class Meta:
        ref_name = "PublicationDifference"


class PublicationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    draft_id = serializers.IntegerField(allow_null=True)
    budget_name = serializers.CharField(help_text="The Xero budget the file goes into.")
    xero_budget_id = serializers.CharField(
        help_text="Xero's BudgetID; empty while the forecast budget is not in Xero yet."
    )
    original_budget_name = serializers.CharField()
    replaces_original = serializers.BooleanField(
        help_text="The file goes into the original budget (the organisation's setting)."
    )
    # A plain string with its values in the help text: `status` already names the draft's
    # choice set in the schema.
    status = serializers.CharField(
        help_text="One of: "
        + "; ".join(f"{value} ({label})" for value, label in BudgetPublication.Status.choices)
    )
    file_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField(allow_null=True)
    cells = PublicationCellSerializer(source="expected", many=True)
    differences = PublicationDifferenceSerializer(many=True)
    original_differences = PublicationDifferenceSerializer(
        many=True, help_text="Cells of the original budget that moved since the file was made."
    )

    class Meta:
        ref_name = "Publication"


class PublicationListApi(FirmAPIView):
    etag = True
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="publications_list",
        summary="An organisation's Budget Manager import files and their verification",
        responses=PublicationOutputSerializer(many=True),
        tags=["publishing"],
    )
    def get(self, request, organisation_public_id):
        """Every import file, newest first: the budget it goes into, its figures, and what the
        last sync found (verified, awaiting import, a mismatch, the original changed)."""
        organisation = _organisation(request, organisation_public_id)
        publications = BudgetPublication.objects.for_firm(request.firm).filter(
            organisation=organisation
        )
        return self.paginated_response(publications, PublicationOutputSerializer)


_REFUSED = OpenApiResponse(
    ErrorSerializer,
    description="Refused (code publication_refused); the message says why and what to do.",
)


class DraftPublishApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    @extend_schema(
        operation_id="drafts_publish",
        summary="Make the import files of an approved draft",
        request=None,
        responses={200: PublicationOutputSerializer(many=True), 409: _REFUSED},
        tags=["publishing"],
    )
    def post(self, request, organisation_public_id, draft_id):
        """One Budget Manager import file per original budget the draft changes, into its
        forecast budget (or the original, with "replace the original" on and approved), emailed
        to whoever asked. A rollback draft's file goes into the budget of the file it rolls
        back. Import each in Xero; the next sync verifies it. Needs a key with the write
        scope."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        try:
            made = publishing.draft_publish(firm=request.firm, draft=draft, user=api_actor(request))
        except publishing.PublicationError as exc:
            raise Conflict(str(exc), code="publication_refused") from exc
        return Response(PublicationOutputSerializer(made, many=True).data)


class PublicationRollbackApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        to = serializers.IntegerField(
            required=False,
            allow_null=True,
            help_text="The id of an earlier verified file of the same budget; null or absent: "
            "the figures before the first file (the original budget's, for a forecast budget).",
        )
        reason = serializers.CharField(required=False, allow_blank=True, max_length=200)

        class Meta:
            ref_name = "PublicationRollbackInput"

    class OutputSerializer(serializers.Serializer):
        publication_id = serializers.IntegerField()
        to_publication_id = serializers.IntegerField(allow_null=True)
        draft = DraftDetailOutputSerializer(help_text="The rollback draft, to submit.")

        class Meta:
            ref_name = "PublicationRollback"

    @extend_schema(
        operation_id="publications_rollback",
        summary="Roll a published import file back to an earlier revision of its budget",
        request=InputSerializer,
        responses={201: OutputSerializer, 409: _REFUSED},
        tags=["publishing"],
    )
    def post(self, request, organisation_public_id, publication_id):
        """Makes a rollback draft with the earlier revision's figures over the file's cells.
        It goes through the approval chain like any draft (its preparer cannot approve it),
        is published with drafts_publish into the same budget, and the next sync verifies the
        earlier figures. Nothing changes in Xero until then. Needs a key with the write
        scope."""
        organisation = _organisation(request, organisation_public_id)
        publication = get_firm_object_or_404(
            BudgetPublication, firm=request.firm, organisation=organisation, pk=publication_id
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        to = None
        if data.validated_data.get("to") is not None:
            to = next(
                (
                    p
                    for p in budget_publication_rollback_choices(
                        firm=request.firm, publication=publication
                    )
                    if p.pk == data.validated_data["to"]
                ),
                None,
            )
            if to is None:
                raise serializers.ValidationError(
                    {"to": ["Not an earlier verified file of the same budget."]}
                )
        try:
            rollback = publishing.budget_publication_rollback(
                firm=request.firm,
                publication=publication,
                to=to,
                user=api_actor(request),
                reason=data.validated_data.get("reason", ""),
            )
        except publishing.PublicationError as exc:
            raise Conflict(str(exc), code="publication_refused") from exc
        return Response(
            {
                "publication_id": publication.pk,
                "to_publication_id": to.pk if to else None,
                "draft": _draft_detail(request.firm, rollback.draft),
            },
            status=status.HTTP_201_CREATED,
        )
