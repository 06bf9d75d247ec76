"""The partner API's sales pipelines: list a client's versions, import a new one (the CRM
export's rows as JSON, checked row by row as an uploaded file is), and read one version with
its deals and the pipeline beside the statistical forecast per revenue account and month.
Money is a string with two decimals; a month is "YYYY-MM". Routes are in config/api_urls.py.

A row refused is a 400 naming it: `fields` holds "deals.<index>.<column>" (the index from 0,
as every list of the API) with the reason; nothing is saved.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from budgeting.deals import services
from budgeting.deals.models import SalesPipelineUpload
from budgeting.deals.selectors import (
    deal_list,
    revenue_accounts,
    sales_pipeline_comparison,
    sales_pipeline_get_or_404,
    sales_pipeline_list,
)
from budgeting.ledger import api_selectors
from budgeting.ledger.api import Money, NewestFirstPagination, PeriodField
from tenants.api.base import FirmAPIView
from tenants.api.errors import ErrorSerializer, error_body
from tenants.roles import Action

# A cell as a CRM writes it: text without NUL characters (PostgreSQL cannot store one). What
# it must say (a number, a month, a known option) is checked row by row, as for a file.
CELL = r"^[^\x00]*$"


def _cell(max_length: int, **kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        CELL,
        max_length=max_length,
        allow_blank=True,
        trim_whitespace=True,
        error_messages={"invalid": "Give text, without NUL characters."},
        **kwargs,
    )


def _organisation(request, organisation_public_id):
    return api_selectors.api_organisation_get(firm=request.firm, public_id=organisation_public_id)


class SalesPipelineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    as_of = PeriodField(help_text="The month the export describes.")
    source = serializers.CharField(help_text='"csv" (uploaded on the screen) or "api".')
    file_name = serializers.CharField(allow_blank=True)
    default_account_code = serializers.CharField(source="default_account.code")
    deal_count = serializers.IntegerField()
    total_amount = Money()
    weighted_amount = Money()
    uploaded_by = serializers.EmailField(source="uploaded_by.email", allow_null=True, default=None)
    uploaded_at = serializers.DateTimeField()

    class Meta:
        ref_name = "SalesPipeline"


class DealOutputSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    deal = serializers.CharField(source="name")
    amount = Money()
    stage = serializers.CharField(allow_blank=True)
    probability = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    probability_from_stage = serializers.BooleanField()
    close_month = PeriodField()
    account_code = serializers.CharField(source="account.code")
    tracking_option_id = serializers.CharField(
        source="tracking_option.option_id", allow_null=True, default=None
    )

    class Meta:
        ref_name = "SalesPipelineDeal"


class MonthOutputSerializer(serializers.Serializer):
    month = PeriodField()
    statistical = Money()
    pipeline = Money(allow_null=True, help_text="Null: no deal closes this month.")
    blended = Money()

    class Meta:
        ref_name = "SalesPipelineMonth"


class WeightOutputSerializer(serializers.Serializer):
    weight = serializers.DecimalField(max_digits=3, decimal_places=2, coerce_to_string=True)
    tested = serializers.BooleanField(help_text="False: the default, too few past months.")
    months = serializers.IntegerField(help_text="Past months the backtest compared.")
    error_blended = Money(allow_null=True)
    error_statistical = Money(allow_null=True)
    error_pipeline = Money(allow_null=True)
    explanation = serializers.CharField()

    class Meta:
        ref_name = "SalesPipelineWeight"


class LineOutputSerializer(serializers.Serializer):
    account_code = serializers.CharField(source="account.code")
    account_id = serializers.CharField(source="account.account_id", help_text="Xero's AccountID.")
    weight = WeightOutputSerializer()
    months = MonthOutputSerializer(many=True)

    class Meta:
        ref_name = "SalesPipelineLine"


class SalesPipelineDetailSerializer(SalesPipelineOutputSerializer):
    currency = serializers.CharField()
    last_actual = PeriodField(help_text="The forecast starts the month after.")
    lines = LineOutputSerializer(many=True)
    deals = DealOutputSerializer(many=True)

    class Meta:
        ref_name = "SalesPipelineDetail"


class DealInputSerializer(serializers.Serializer):
    deal = _cell(255)
    amount = _cell(40, help_text="In the client's currency, e.g. 12500.00.")
    stage = _cell(100, required=False)
    probability = _cell(20, required=False, help_text="0-100; the stage's default if blank.")
    close_month = _cell(20, help_text="YYYY-MM or YYYY-MM-DD.")
    tracking_option = _cell(
        210, required=False, help_text='An option\'s name, or "Category: Option".'
    )
    account = _cell(150, required=False, help_text="A revenue account's code or name.")

    class Meta:
        ref_name = "SalesPipelineDealInput"


class SalesPipelineListApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "POST": Action.PREPARE_DRAFTS}
    pagination_class = NewestFirstPagination

    class InputSerializer(serializers.Serializer):
        as_of = PeriodField(required=False, help_text="This month where the client is if left out.")
        default_account = _cell(
            150,
            required=False,
            help_text="The revenue account (code or name) of deals naming none; the one with "
            "the most revenue in the last year if left out.",
        )
        file_name = _cell(255, required=False)
        deals = DealInputSerializer(many=True, max_length=services.MAX_ROWS)

        class Meta:
            ref_name = "SalesPipelineCreate"

    @extend_schema(
        operation_id="sales_pipelines_list",
        summary="List a client's sales pipeline versions, newest first",
        responses=SalesPipelineOutputSerializer(many=True),
        tags=["sales pipeline"],
    )
    def get(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        rows = sales_pipeline_list(firm=request.firm, organisation=organisation)
        return self.paginated_response(rows, SalesPipelineOutputSerializer)

    @extend_schema(
        operation_id="sales_pipelines_create",
        summary="Import a CRM export's deals as the next version",
        request=InputSerializer,
        responses={
            201: SalesPipelineOutputSerializer,
            400: OpenApiResponse(
                ErrorSerializer,
                description="Invalid input, or rows refused (fields: deals.<index>.<column>); "
                "nothing is saved.",
            ),
        },
        tags=["sales pipeline"],
    )
    def post(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        default = None
        if values.get("default_account"):
            wanted = values["default_account"].casefold()
            accounts = revenue_accounts(firm=request.firm, organisation=organisation)
            default = next(
                (a for a in accounts if wanted in (a.code.casefold(), a.name.casefold())), None
            )
            if default is None:
                return _refused(
                    {
                        "default_account": [
                            "No revenue account of this client has that code or name."
                        ]
                    }
                )
        rows = [
            (index + 1, {k: v for k, v in deal.items() if v})
            for index, deal in enumerate(values["deals"])
        ]
        try:
            upload = services.sales_pipeline_import(
                firm=request.firm,
                organisation=organisation,
                rows=rows,
                user=request.user if request.user.is_authenticated else None,
                as_of=values.get("as_of"),
                default_account=default,
                file_name=values.get("file_name", ""),
                source=SalesPipelineUpload.Source.API,
            )
        except services.DealImportError as exc:
            fields: dict[str, list[str]] = {}
            for error in exc.errors:
                key = (
                    f"deals.{error.row - 1}.{error.column}"
                    if error.row
                    else error.column or "deals"
                )
                fields.setdefault(key, []).append(error.message)
            return _refused(fields)
        return Response(SalesPipelineOutputSerializer(upload).data, status=status.HTTP_201_CREATED)


def _refused(fields: dict[str, list[str]]) -> Response:
    names = ", ".join(sorted(fields))
    return Response(
        error_body("invalid", f"Nothing was imported ({names}): see fields.", fields=fields),
        status=status.HTTP_400_BAD_REQUEST,
    )


class SalesPipelineDetailApi(FirmAPIView):
    @extend_schema(
        operation_id="sales_pipelines_read",
        summary="One version: its deals, and the pipeline beside the statistical forecast",
        responses=SalesPipelineDetailSerializer,
        tags=["sales pipeline"],
    )
    def get(self, request, organisation_public_id, upload_id):
        organisation = _organisation(request, organisation_public_id)
        upload = sales_pipeline_get_or_404(
            firm=request.firm, organisation=organisation, upload_id=upload_id
        )
        comparison = sales_pipeline_comparison(
            firm=request.firm, organisation=organisation, upload=upload
        )
        body = dict(SalesPipelineOutputSerializer(upload).data)
        body["currency"] = comparison.currency
        body["last_actual"] = f"{comparison.last_actual:%Y-%m}"
        body["lines"] = LineOutputSerializer(comparison.lines, many=True).data
        body["deals"] = DealOutputSerializer(
            deal_list(firm=request.firm, upload=upload), many=True
        ).data
        return Response(body)
