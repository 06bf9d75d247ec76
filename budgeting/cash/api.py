"""The partner API of cash: an organisation's closing cash per month, actual and projected,
with the terms it was projected on, the low point and the month it falls below the threshold.
The same figures as the screen and the CSV (cash_view_load). Routes are in config/api_urls.py."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from budgeting.cash.selectors import cash_view_load
from budgeting.ledger.api_selectors import api_organisation_get
from tenants.api.base import FirmAPIView

MONEY = {"max_digits": 16, "decimal_places": 2}


class CashMonthOutputSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The first day of the month; cash is at its end.")
    actual = serializers.BooleanField(help_text="From the synced balance sheet, or projected.")
    revenue = serializers.DecimalField(**MONEY)
    costs = serializers.DecimalField(**MONEY, help_text="The P&L's costs but depreciation.")
    depreciation = serializers.DecimalField(**MONEY)
    net_profit = serializers.DecimalField(**MONEY)
    receipts = serializers.DecimalField(**MONEY, help_text="Projected months only; 0 for actual.")
    payments = serializers.DecimalField(**MONEY, help_text="Projected months only; 0 for actual.")
    tax_paid = serializers.DecimalField(**MONEY, help_text="GST/VAT settled in the month.")
    net_cash_flow = serializers.DecimalField(**MONEY)
    cash = serializers.DecimalField(**MONEY, help_text="Closing cash: the bank accounts together.")
    debtors = serializers.DecimalField(**MONEY)
    creditors = serializers.DecimalField(**MONEY)
    tax = serializers.DecimalField(**MONEY, help_text="GST/VAT owed at the month's end.")
    other_assets = serializers.DecimalField(**MONEY)
    other_liabilities = serializers.DecimalField(**MONEY)
    equity = serializers.DecimalField(**MONEY)

    class Meta:
        ref_name = "CashMonth"


class CashTermsOutputSerializer(serializers.Serializer):
    debtor_days = serializers.DecimalField(max_digits=10, decimal_places=1)
    creditor_days = serializers.DecimalField(max_digits=10, decimal_places=1)
    tax_rate = serializers.DecimalField(
        max_digits=10, decimal_places=4, help_text="GST/VAT owed per unit of revenue."
    )
    tax_cycle = serializers.IntegerField(help_text="Months between GST/VAT settlements.")
    last_settlement = serializers.DateField(allow_null=True)

    class Meta:
        ref_name = "CashTerms"


class CashSourceOutputSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The draft, forecast run or budget.")
    first = serializers.DateField()
    last = serializers.DateField()

    class Meta:
        ref_name = "CashSource"


class CashBankOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    balance = serializers.DecimalField(**MONEY)

    class Meta:
        ref_name = "CashBank"


class CashOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    threshold = serializers.DecimalField(**MONEY, allow_null=True)
    low = CashMonthOutputSerializer(allow_null=True, help_text="The lowest projected month.")
    below = CashMonthOutputSerializer(
        allow_null=True, help_text="The first projected month under the threshold."
    )
    terms = CashTermsOutputSerializer()
    sources = CashSourceOutputSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
    banks = CashBankOutputSerializer(
        many=True, help_text="The bank accounts at the last actual month's end."
    )
    months = CashMonthOutputSerializer(many=True)

    class Meta:
        ref_name = "Cash"


class CashApi(FirmAPIView):
    etag = True

    @extend_schema(
        operation_id="cash_retrieve",
        summary="An organisation's closing cash per month, actual and projected",
        responses=CashOutputSerializer,
        tags=["cash"],
    )
    def get(self, request, organisation_public_id):
        """The last twelve month ends from the synced balance sheet, then twelve months
        projected from the forecast P&L (the latest draft, else forecast run, else budget) with
        the client's own debtor days, creditor days and GST/VAT timing; the low point and the
        first month under the threshold the firm set."""
        organisation = api_organisation_get(firm=request.firm, public_id=organisation_public_id)
        view = cash_view_load(firm=request.firm, organisation=organisation)
        projection = view.projection
        data = {
            "currency": view.currency,
            "threshold": projection.threshold,
            "low": projection.low,
            "below": projection.below,
            "terms": projection.terms,
            "sources": [
                {"source": words, "first": first, "last": last}
                for words, first, last in view.sources
            ],
            "notes": list(projection.notes),
            "banks": [{"name": name, "balance": amount} for name, amount in view.banks],
            "months": list(view.months),
        }
        return Response(CashOutputSerializer(data).data)
