"""The partner API of report packs: an organisation's packs (with each sending's state) and the
download of one's PDF. Routes are in config/api_urls.py."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers

from budgeting.ledger.api import NewestFirstPagination
from budgeting.ledger.api_selectors import api_organisation_get
from budgeting.packs.models import PackDelivery, ReportPack
from budgeting.packs.views import report_pack_pdf_response
from tenants.api.base import FirmAPIView


class PackDeliveryOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=PackDelivery.Reason.choices)
    state = serializers.ChoiceField(choices=PackDelivery.State.choices)
    recipients = serializers.ListField(child=serializers.CharField())
    sent_to = serializers.ListField(
        child=serializers.CharField(), help_text="Who it has reached so far."
    )
    attempts = serializers.IntegerField(help_text="Failed attempts.")
    error = serializers.CharField(help_text="The last failure's message; empty when none.")
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "PackDelivery"


class ReportPackOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.DateField(help_text="The first day of the month the pack covers.")
    state = serializers.ChoiceField(choices=ReportPack.State.choices)
    error = serializers.CharField(help_text="Why building failed; empty when it did not.")
    built_at = serializers.DateTimeField(allow_null=True)
    file_name = serializers.CharField()
    pdf_sha256 = serializers.CharField(help_text="SHA-256 of the PDF; empty until built.")
    currency = serializers.CharField(source="figures.currency", default="")
    net_profit_actual = serializers.CharField(source="figures.net_profit.actual", default=None)
    net_profit_budget = serializers.CharField(source="figures.net_profit.budget", default=None)
    material_variances = serializers.IntegerField(source="figures.material", default=None)
    download_url = serializers.SerializerMethodField()
    deliveries = PackDeliveryOutputSerializer(many=True, source="deliveries.all")

    class Meta:
        ref_name = "ReportPack"

    def get_download_url(self, pack: ReportPack) -> str | None:
        if pack.state != ReportPack.State.READY:
            return None
        request = self.context["request"]
        return request.build_absolute_uri(f"{request.path.rstrip('/')}/{pack.pk}/pdf/")


class ReportPackListApi(FirmAPIView):
    etag = True
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="report_packs_list",
        summary="An organisation's report packs, each month's, with their sendings",
        responses=ReportPackOutputSerializer(many=True),
        tags=["report packs"],
    )
    def get(self, request, organisation_public_id):
        """One pack per month, built after each close and on the organisation's schedule: its
        state, the net profit it showed, each sending (after the close, on the schedule, by
        hand) with who it reached and any failure, and where to download the PDF."""
        organisation = api_organisation_get(firm=request.firm, public_id=organisation_public_id)
        packs = (
            ReportPack.objects.for_firm(request.firm)
            .filter(organisation=organisation)
            .defer("pdf", "html")
            .select_related("organisation")
            .prefetch_related("deliveries")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(packs, request, view=self)
        data = ReportPackOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class ReportPackPdfApi(FirmAPIView):
    @extend_schema(
        operation_id="report_packs_pdf",
        summary="Download a report pack's PDF",
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
        },
        tags=["report packs"],
    )
    def get(self, request, organisation_public_id, pack_id):
        """The PDF as built (404 while it is building or when building failed)."""
        organisation = api_organisation_get(firm=request.firm, public_id=organisation_public_id)
        return report_pack_pdf_response(
            firm=request.firm, organisation=organisation, pack_id=pack_id
        )
