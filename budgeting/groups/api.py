"""The partner API of client groups: the firm's groups, a group's consolidated report (the same
`group_report_load` as the screen and the CSV), and its translation rates (read, and set one at
a time). Money is a string with two decimals; a month is "YYYY-MM". Routes are in
config/api_urls.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.groups import services
from budgeting.groups.models import ClientGroup, GroupTranslationRate
from budgeting.groups.selectors import (
    BASES,
    GroupReport,
    group_get_or_404,
    group_members,
    group_rates,
    group_report_load,
    group_reporting_month,
)
from budgeting.ledger.api import Money, PeriodField
from tenants.api.base import FirmAPIView, api_actor
from tenants.roles import Action


class GroupMemberSerializer(serializers.Serializer):
    organisation_id = serializers.UUIDField(help_text="The organisation's public id.")
    name = serializers.CharField()
    currency = serializers.CharField(help_text="The currency it reports in (Xero's).")

    class Meta:
        ref_name = "GroupMember"


class GroupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    reporting_currency = serializers.CharField()
    parent_id = serializers.UUIDField(allow_null=True, help_text="The parent's public id.")
    members = GroupMemberSerializer(many=True)

    class Meta:
        ref_name = "ClientGroup"


def _group_data(group, members) -> dict:
    return {
        "id": group.pk,
        "name": group.name,
        "reporting_currency": group.reporting_currency,
        "parent_id": group.parent.public_id if group.parent else None,
        "members": [
            {
                "organisation_id": m.organisation.public_id,
                "name": m.organisation.name,
                "currency": m.currency,
            }
            for m in members
        ],
    }


class GroupListApi(FirmAPIView):
    @extend_schema(
        operation_id="groups_list",
        summary="The firm's client groups, with their members",
        responses=GroupSerializer(many=True),
        tags=["groups"],
    )
    def get(self, request):
        """Oldest first, paged like every list of the API."""
        paginator = self.pagination_class()
        groups = ClientGroup.objects.for_firm(request.firm).select_related("parent")
        page = paginator.paginate_queryset(groups, request, view=self)
        data = [_group_data(g, group_members(firm=request.firm, group=g)) for g in page]
        return paginator.get_paginated_response(GroupSerializer(data, many=True).data)


class ComparisonSerializer(serializers.Serializer):
    actual = Money()
    budget = Money()
    variance = Money(help_text="Actual less budget.")
    material = serializers.BooleanField()

    class Meta:
        ref_name = "GroupComparison"


class LinePartSerializer(serializers.Serializer):
    organisation_id = serializers.UUIDField(allow_null=True, help_text="None for the eliminations.")
    part = serializers.CharField(help_text="The member's name, or Eliminated.")
    actual = Money()
    budget = Money()

    class Meta:
        ref_name = "GroupLinePart"


class GroupLineSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Xero's Account.Type and the code the members share.")
    code = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    section = serializers.CharField()
    month = ComparisonSerializer()
    year_to_date = ComparisonSerializer()
    parts = LinePartSerializer(
        many=True, help_text="The month's figures as each member makes them up."
    )
    narrative = serializers.CharField(allow_blank=True)

    class Meta:
        ref_name = "GroupLine"


class GroupTotalSerializer(serializers.Serializer):
    section = serializers.CharField()
    month = ComparisonSerializer()
    year_to_date = ComparisonSerializer()

    class Meta:
        ref_name = "GroupTotal"


class EliminationSerializer(serializers.Serializer):
    name = serializers.CharField()
    out_of_balance = Money(help_text="The month's income less expense; zero when it balances.")
    out_of_balance_budget = Money()
    out_of_balance_year_to_date = Money()

    class Meta:
        ref_name = "GroupElimination"


class GroupReportSerializer(serializers.Serializer):
    group = GroupSerializer()
    period = PeriodField()
    basis = serializers.ChoiceField(choices=BASES)
    currency = serializers.CharField()
    problem = serializers.CharField(
        allow_blank=True, help_text="Why there are no figures (a missing rate, say); else empty."
    )
    financial_year_start = PeriodField(allow_null=True)
    lines = GroupLineSerializer(many=True)
    totals = GroupTotalSerializer(many=True)
    eliminations = EliminationSerializer(many=True)
    translation_effect = Money(
        allow_null=True,
        help_text="Net profit's actual at the actual rates less at the budget rates.",
    )

    class Meta:
        ref_name = "GroupReport"


def _comparison(c) -> dict:
    return {"actual": c.actual, "budget": c.budget, "variance": c.variance, "material": c.material}


def _report_data(view: GroupReport, members) -> dict:
    period = view.period
    lines, totals = [], []
    for section in view.sections:
        for row in section.rows:
            parts = [
                {
                    "organisation_id": m.organisation.public_id,
                    "part": m.organisation.name,
                    "actual": row.group_line.members[m.key].actual_between(
                        first=period, last=period
                    ),
                    "budget": row.group_line.members[m.key].budget_between(
                        first=period, last=period
                    ),
                }
                for m, _amount in row.parts
            ]
            if row.eliminated is not None:
                e = row.group_line.eliminated
                parts.append(
                    {
                        "organisation_id": None,
                        "part": "Eliminated",
                        "actual": e.actual_between(first=period, last=period),
                        "budget": e.budget_between(first=period, last=period),
                    }
                )
            lines.append(
                {
                    "key": row.line.account_id,
                    "code": row.line.code,
                    "name": row.line.name,
                    "section": section.key,
                    "month": _comparison(row.line.month),
                    "year_to_date": _comparison(row.line.year_to_date),
                    "parts": parts,
                    "narrative": row.narrative,
                }
            )
        totals.append(
            {
                "section": section.key,
                "month": _comparison(section.total.month),
                "year_to_date": _comparison(section.total.year_to_date),
            }
        )
    return {
        "group": _group_data(view.group, members),
        "period": period,
        "basis": view.basis,
        "currency": view.currency,
        "problem": view.problem,
        "financial_year_start": view.year_start,
        "lines": lines,
        "totals": totals,
        "eliminations": [
            {
                "name": row.mapping.name,
                "out_of_balance": row.month_difference,
                "out_of_balance_budget": row.month_budget_difference,
                "out_of_balance_year_to_date": row.year_to_date_difference,
            }
            for row in view.eliminations
        ],
        "translation_effect": view.translation_effect_month,
    }


class GroupReportApi(FirmAPIView):
    class FilterSerializer(serializers.Serializer):
        period = PeriodField(
            required=False, help_text="Default: the last month every member closed."
        )
        basis = serializers.ChoiceField(
            choices=BASES,
            required=False,
            help_text="budget: actual and budget at the budget's rates; actual: both at the "
            "month's actual rates.",
        )

    @extend_schema(
        operation_id="groups_report",
        summary="A group's consolidated P&L against its consolidated budget",
        parameters=[FilterSerializer],
        responses=GroupReportSerializer,
        tags=["groups"],
    )
    def get(self, request, group_id):
        """In the group's currency, with each line's parts by member, the intercompany pairs
        eliminated (and what each is out of balance by), and a narrative for each material
        line. A group that cannot be consolidated (a rate missing, a member not synced) answers
        with `problem` and no lines."""
        group = group_get_or_404(firm=request.firm, group_id=group_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        members = group_members(firm=request.firm, group=group)
        period = filters.validated_data.get("period") or group_reporting_month(members)
        if period is None:
            raise exceptions.ValidationError(
                {"period": ["No member has synced yet: there is no month to report."]}
            )
        view = group_report_load(
            firm=request.firm,
            group=group,
            period=period,
            basis=filters.validated_data.get("basis", "budget"),
        )
        return Response(GroupReportSerializer(_report_data(view, members)).data)


class RateSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3, help_text="A member's currency, e.g. AUD.")
    month = PeriodField(source="period")
    basis = serializers.ChoiceField(choices=GroupTranslationRate.Basis.values)
    rate = serializers.DecimalField(
        max_digits=18,
        decimal_places=8,
        coerce_to_string=True,
        help_text="Units of the member's currency to one unit of the group's; above zero.",
    )

    class Meta:
        ref_name = "GroupTranslationRate"


class GroupRateListApi(FirmAPIView):
    # Setting a rate is preparing the figures: a write key, as for drafts.
    firm_actions = {"GET": Action.VIEW, "POST": Action.PREPARE_DRAFTS}

    @extend_schema(
        operation_id="groups_rates_list",
        summary="A group's translation rates",
        responses=RateSerializer(many=True),
        tags=["groups"],
    )
    def get(self, request, group_id):
        group = group_get_or_404(firm=request.firm, group_id=group_id)
        return Response(RateSerializer(group_rates(firm=request.firm, group=group), many=True).data)

    @extend_schema(
        operation_id="groups_rates_set",
        summary="Set one translation rate (replacing the one of that currency, month and basis)",
        request=RateSerializer,
        responses={201: RateSerializer},
        tags=["groups"],
    )
    def post(self, request, group_id):
        """A currency no member reports in, a rate of zero or below, or a month outside the ten
        years around today is a 400 that says which."""
        group = group_get_or_404(firm=request.firm, group_id=group_id)
        data = RateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            rate = services.translation_rate_set(
                firm=request.firm,
                group=group,
                currency=values["currency"],
                period=values["period"],
                basis=values["basis"],
                rate=values["rate"],
                user=api_actor(request),
            )
        except services.GroupError as exc:
            raise exceptions.ValidationError({"rate": [str(exc)]}) from exc
        return Response(RateSerializer(rate).data, status=status.HTTP_201_CREATED)
