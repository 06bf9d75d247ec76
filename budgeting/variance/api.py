"""The partner API's currency split of an organisation's variances (budgeting.currency): for
each account with foreign-currency activity, the month's and the year to date's variance as
volume, rate and currency gains and losses, which add up to the variance, with the actual and
budget rate of each currency and what the synced documents do not explain. The same figures as
the variance report's "Currency effects" and its CSV. Routes: config/api_urls.py."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.ledger import api_selectors
from budgeting.ledger.api import Money, PeriodField
from budgeting.ledger.models import XeroOrganisation
from budgeting.variance.selectors import variance_report_load
from tenants.api.base import FirmAPIView
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action


class NotSynced(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_synced"


RATE = {"max_digits": 24, "decimal_places": 6, "coerce_to_string": True, "allow_null": True}


class RateEffectOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    foreign = Money(help_text="The actual amount in the currency, net of tax.")
    base = Money(help_text="The same lines in base currency, as Xero converted them.")
    at_budget_rate = Money(help_text="The foreign amount at the budget rates.")
    effect = Money(help_text="base - at_budget_rate: the rate effect.")
    actual_rate = serializers.DecimalField(**RATE)
    budget_rate = serializers.DecimalField(**RATE, help_text="Null where a month has none.")

    class Meta:
        ref_name = "CurrencyRateEffect"


class CurrencySplitOutputSerializer(serializers.Serializer):
    actual = Money()
    budget = Money()
    variance = Money(help_text="volume + rate + gains_losses.")
    volume = Money(help_text="Actual at budget rates minus budget.")
    rate = Money(help_text="What the rates did: the sum of the currencies' effects.")
    gains_losses = Money(help_text="Currency gains and losses (Xero's FX system accounts).")
    remainder = Money(help_text="The actual less every synced line: not in the documents.")
    by_currency = RateEffectOutputSerializer(many=True)

    class Meta:
        ref_name = "CurrencySplit"


class AccountCurrencyOutputSerializer(serializers.Serializer):
    account_id = serializers.CharField(source="account.account_id", help_text="Xero's AccountID.")
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    month = CurrencySplitOutputSerializer()
    year_to_date = CurrencySplitOutputSerializer()

    class Meta:
        ref_name = "AccountCurrencyEffects"


class VarianceCurrencyApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW}

    class FilterSerializer(serializers.Serializer):
        period = PeriodField(help_text="The month, YYYY-MM.")

    class OutputSerializer(serializers.Serializer):
        period = PeriodField()
        currency = serializers.CharField(help_text="The organisation's base currency.")
        accounts = AccountCurrencyOutputSerializer(many=True, help_text="In report order.")

        class Meta:
            ref_name = "VarianceCurrencyEffects"

    @extend_schema(
        operation_id="variances_currency_retrieve",
        summary="The currency split of an organisation's variances for a month (overall budget)",
        parameters=[FilterSerializer],
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="Not synced from Xero yet (code not_synced)."
            ),
        },
        tags=["variances"],
    )
    def get(self, request, organisation_public_id):
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        period = filters.validated_data["period"]
        profile = XeroOrganisation.objects.for_firm(request.firm).filter(organisation=organisation)
        profile = profile.first()
        if profile is None:
            raise NotSynced(f"{organisation.name} has not been synced from Xero yet.")
        view = variance_report_load(
            firm=request.firm,
            organisation=organisation,
            profile=profile,
            period=period,
            with_narratives=False,
            with_currency=True,
        )
        payload = {
            "period": period,
            "currency": profile.base_currency,
            "accounts": [row.currency for row in view.currency_rows],
        }
        return Response(self.OutputSerializer(payload).data)
