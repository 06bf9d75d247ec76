"""The partner API's budget rates: list an organisation's, and set one (the same checks as the
screen and the CSV import). A rate is a string with up to six decimals, Xero's way round: units
of the currency per one unit of the organisation's base currency. Routes: config/api_urls.py.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.currency import selectors, services
from budgeting.currency.models import BudgetRate
from budgeting.ledger import api_selectors
from budgeting.ledger.api import PeriodField
from budgeting.ledger.models import XeroOrganisation
from tenants.api.base import FirmAPIView
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action

RATE_PATTERN = r"^\d{1,12}(\.\d{1,6})?$"


class Refused(exceptions.APIException):
    """Well-formed, but not a rate the organisation can keep; the message says why."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "refused"


class BudgetRateOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    period = PeriodField(allow_null=True, help_text="Null: every month of the budget.")
    rate = serializers.DecimalField(max_digits=18, decimal_places=6, coerce_to_string=True)
    # "origin", not "source": the draft's own "source" enum keeps its name in the schema.
    origin = serializers.ChoiceField(
        source="source",
        choices=BudgetRate.Source.choices,
        help_text="Entered, imported from a file, or the average of past documents.",
    )
    note = serializers.CharField(allow_blank=True)
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "BudgetRate"


class BudgetRateListApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        currency = serializers.RegexField(
            r"^[A-Za-z]{3}$", help_text="An ISO 4217 code the organisation's documents use."
        )
        period = PeriodField(
            required=False, allow_null=True, help_text="A month of the budget; leave out for all."
        )
        rate = serializers.RegexField(
            RATE_PATTERN,
            help_text="Units of the currency per one unit of base currency, more than zero.",
            error_messages={"invalid": "Give a rate like 1.254902 (up to six decimals)."},
        )

        class Meta:
            ref_name = "BudgetRateSet"

    def _organisation(self, request, organisation_public_id):
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        profile = XeroOrganisation.objects.for_firm(request.firm).filter(organisation=organisation)
        return organisation, profile.first()

    @extend_schema(
        operation_id="budget_rates_list",
        summary="The exchange rates an organisation's budget assumed",
        responses=BudgetRateOutputSerializer(many=True),
        tags=["currency"],
    )
    def get(self, request, organisation_public_id):
        organisation, _profile = self._organisation(request, organisation_public_id)
        rates = BudgetRate.objects.for_firm(request.firm).filter(organisation=organisation)
        return self.paginated_response(rates, BudgetRateOutputSerializer)

    @extend_schema(
        operation_id="budget_rates_set",
        summary="Set the budget rate of a currency, for every month or one",
        request=InputSerializer,
        responses={
            201: BudgetRateOutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The rate cannot be kept (code refused), with the reason: nothing "
                "is saved.",
            ),
        },
        tags=["currency"],
    )
    def post(self, request, organisation_public_id):
        """Refused with the reason (409, code refused): a currency the organisation's documents do not use,
        its base currency, a zero rate, or a month outside the budget."""
        organisation, profile = self._organisation(request, organisation_public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if profile is None:
            raise Refused(f"{organisation.name} has not been synced from Xero yet.")
        currency, period = values["currency"].upper(), values.get("period")
        refusal = services.currency_refusal(
            currency=currency,
            base_currency=profile.base_currency,
            known=selectors.currencies_used(
                firm=request.firm, organisation=organisation, base_currency=profile.base_currency
            ),
            period=period,
            months=selectors.budget_months(firm=request.firm, organisation=organisation),
        )
        if refusal:
            raise Refused(refusal)
        rate = Decimal(values["rate"])
        if rate <= 0:
            raise Refused("A rate must be more than zero.")
        user = request.user if request.user and request.user.is_authenticated else None
        if user is None and getattr(request, "api_key", None) is not None:
            user = request.api_key.created_by
        saved = services.budget_rate_set(
            firm=request.firm,
            organisation=organisation,
            currency=currency,
            period=period,
            rate=rate,
            reason="Budget rate set through the API",
            user=user,
        )
        return Response(BudgetRateOutputSerializer(saved).data, status=status.HTTP_201_CREATED)
