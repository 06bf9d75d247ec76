"""The partner API's view of the audit history: a draft's history, newest first, from the audit
log's selectors (the same entries as the audit screens), and why a draft line's figures are what
they are. Routes are in config/api_urls.py."""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from budgeting.audit import selectors as audit_selectors
from budgeting.drafts.api import _draft, _organisation
from budgeting.drafts.models import DraftLine
from budgeting.ledger.api import Money, PeriodField
from tenants.api.base import FirmAPIView
from tenants.scoping import get_firm_object_or_404


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | bool | int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)


# What a draft's history holds (audit_selectors: the models that are part of a draft).
HISTORY_OBJECTS = [
    "draft",
    "draftline",
    "draftbalance",
    "approvalrequest",
    "approvalstep",
    "approvaldecision",
    "budgetpublication",
    "budgetrollback",
]


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.CharField(allow_null=True, help_text="As text; null when empty.")
    after = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "HistoryFieldChange"

    def to_representation(self, change):
        return {"field": change.field, "before": _text(change.before), "after": _text(change.after)}


class DraftHistoryApi(FirmAPIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField(source="history_id", help_text="The history record's id.")
        object = serializers.ChoiceField(
            source="model_key",
            choices=HISTORY_OBJECTS,
            help_text="What changed: the draft, a line, a month of a line, or its approval.",
        )
        object_id = serializers.IntegerField()
        label = serializers.CharField()
        kind = serializers.ChoiceField(choices=["Created", "Changed", "Deleted"])
        when = serializers.DateTimeField()
        user = serializers.EmailField(
            source="who_email",
            allow_null=True,
            help_text=(
                "The member's email, or that of someone outside the firm (an external "
                "approver, a department's manager by their link); null for automatic changes."
            ),
        )
        reason = serializers.CharField(help_text="The change reason.")
        changes = FieldChangeSerializer(many=True, help_text="Fields changed, before and after.")

        class Meta:
            ref_name = "DraftHistoryEntry"

    @extend_schema(
        operation_id="draft_history_list",
        summary="The audit history of a draft and its lines, newest first",
        responses=OutputSerializer(many=True),
        tags=["drafts"],
    )
    def get(self, request, organisation_public_id, draft_id):
        """Who changed what in the draft, its lines and months, and its approval, when and why."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        headers = audit_selectors.audit_headers(
            firm=request.firm,
            organisation=organisation,
            flt=audit_selectors.AuditFilter(draft_id=draft.pk),
        )
        # The history is a UNION over several tables: paged by position, with an opaque cursor.
        paginator = self.pagination_class()
        size = paginator.get_page_size(request)
        start = _offset(request.query_params.get(paginator.cursor_query_param))
        chunk = list(headers[start : start + size + 1])
        entries = audit_selectors.audit_entries_load(chunk[:size])
        url = request.build_absolute_uri()
        name = paginator.cursor_query_param
        following = replace_query_param(url, name, _cursor(start + size)) if chunk[size:] else None
        previous = None
        if start:
            back = max(start - size, 0)
            previous = (
                replace_query_param(url, name, _cursor(back))
                if back
                else remove_query_param(url, name)
            )
        return Response(
            {
                "next": following,
                "previous": previous,
                "results": self.OutputSerializer(entries, many=True).data,
            }
        )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o={offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        offset = int(text.removeprefix("o=")) if text.startswith("o=") else -1
    except (ValueError, UnicodeError):
        offset = -1
    if offset < 0:
        raise serializers.ValidationError(
            {"cursor": ["This cursor is not valid. Use the `next` or `previous` link of a page."]}
        )
    return offset


# --- Why this figure ---------------------------------------------------------------------------


class WhyMethodSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The forecasting method, e.g. seasonal_naive.")
    label = serializers.CharField(help_text="The method in words.")
    confidence = serializers.IntegerField(help_text="0-100.")
    confidence_label = serializers.CharField()
    backtest_mase = serializers.FloatField(
        allow_null=True, help_text="Backtest MASE on the line's own history; null if too short."
    )
    backtest_smape = serializers.FloatField(allow_null=True, help_text="Backtest sMAPE, percent.")
    notes = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "WhyMethod"


class WhyMonthSerializer(serializers.Serializer):
    period = PeriodField()
    actual = Money(help_text="The actual as it was when the figure was suggested.")

    class Meta:
        ref_name = "WhyHistoryMonth"

    def to_representation(self, pair):
        period, actual = pair
        return super().to_representation({"period": period, "actual": actual})


class WhyRealisedSerializer(serializers.Serializer):
    steps = serializers.ListField(child=serializers.IntegerField(), help_text="Months ahead.")
    abs_errors = serializers.ListField(
        child=serializers.FloatField(), help_text="Absolute error of each scored forecast."
    )

    class Meta:
        ref_name = "WhyRealised"


class WhyHistorySerializer(serializers.Serializer):
    months = serializers.IntegerField()
    values = WhyMonthSerializer(
        many=True, source="*", help_text="Every month given to the forecast, oldest first."
    )
    horizon = serializers.IntegerField()
    levels = serializers.ListField(child=serializers.IntegerField())
    engine = serializers.CharField(help_text="The engine's version the inputs hash names.")
    realised = serializers.DictField(
        child=WhyRealisedSerializer(),
        help_text="By method: its scored past forecasts of this line, which moved the choice.",
    )

    class Meta:
        ref_name = "WhyHistory"

    def to_representation(self, why):
        kept = why.provenance.get("history")
        if not kept:
            return None  # a line drafted before its inputs were kept
        return {
            "months": kept["months"],
            "values": WhyMonthSerializer(why.history, many=True).data,
            "horizon": kept["horizon"],
            "levels": kept["levels"],
            "engine": kept["engine"],
            "realised": kept["realised"],
        }


class WhyVarianceSerializer(serializers.Serializer):
    trigger = serializers.ChoiceField(choices=["variance", "forecast", "both"])
    period = PeriodField()
    actual = Money()
    budget = Money()
    variance = Money(help_text="Actual minus budget.")
    percent = serializers.CharField(allow_null=True, help_text="Of the budget; null with none.")
    favourable = serializers.BooleanField(allow_null=True)
    material = serializers.BooleanField()
    threshold_percent = serializers.CharField(source="threshold.percent", allow_null=True)
    threshold_floor = Money(source="threshold.floor", allow_null=True)
    forecast_total = Money(help_text="The suggestion over the draft's months.")
    budget_total = Money()
    forecast_material = serializers.BooleanField(help_text="The forecast leaves the budget.")

    class Meta:
        ref_name = "WhyVariance"

    def to_representation(self, kept):
        kept = {**kept, "period": dt.date.fromisoformat(kept["period"])}
        kept["threshold"] = kept.get("threshold") or {"percent": None, "floor": None}
        return super().to_representation(kept)


class WhyNarrativeSerializer(serializers.Serializer):
    shown = serializers.CharField(help_text="The narrative shown on the line.")
    variance_text = serializers.CharField(help_text="The variance narrative part; may be empty.")
    forecast_text = serializers.CharField(help_text="What the forecast itself says.")
    generator = serializers.CharField(help_text="Who wrote the variance narrative.")
    fallback_reason = serializers.CharField(
        help_text="Why the firm's outside provider was not used; empty when it was or is off."
    )
    written_at = serializers.DateTimeField(allow_null=True)
    facts = serializers.DictField(
        allow_null=True, help_text="The facts the narrative quoted, numbers as strings."
    )
    drivers = serializers.ListField(child=serializers.DictField())

    class Meta:
        ref_name = "WhyNarrative"


class WhyPolicyCheckSerializer(serializers.Serializer):
    rule = serializers.CharField()
    label = serializers.CharField()
    checked = serializers.BooleanField(help_text="False when the policy turns the rule off.")
    limit = serializers.CharField(allow_null=True)
    ok = serializers.BooleanField()
    violations = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "WhyPolicyCheck"


class WhyPolicySerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="0: the default guardrails.")
    checks = WhyPolicyCheckSerializer(many=True, help_text="Every rule, checked or off.")
    extra_approval_reasons = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "WhyPolicy"


class WhyDecisionSerializer(serializers.Serializer):
    when = serializers.DateTimeField()
    who = serializers.EmailField()
    action = serializers.ChoiceField(
        choices=["accepted", "edited", "reset", "approved", "rejected", "changes requested"]
    )
    detail = serializers.CharField()

    class Meta:
        ref_name = "WhyDecision"


class DraftLineWhyApi(FirmAPIView):
    class OutputSerializer(serializers.Serializer):
        line_id = serializers.IntegerField(source="line.pk")
        account_id = serializers.CharField(source="line.account.account_id")
        account_code = serializers.CharField(source="line.account.code")
        tracking_option_id = serializers.CharField(
            source="line.tracking_option.option_id", allow_null=True
        )
        kept = serializers.SerializerMethodField(
            help_text="Whether what produced the figures was kept (lines drafted before it "
            "was kept have only the method, confidence and inputs hash on the line)."
        )
        inputs_hash = serializers.CharField(source="line.inputs_hash")
        reproduced = serializers.BooleanField(
            allow_null=True,
            help_text="The kept inputs give the same suggestions and inputs hash today.",
        )
        method = WhyMethodSerializer(source="provenance.method", allow_null=True, default=None)
        history = WhyHistorySerializer(source="*", allow_null=True)
        variance = WhyVarianceSerializer(
            source="provenance.variance", allow_null=True, default=None
        )
        narrative = WhyNarrativeSerializer(
            source="provenance.narrative", allow_null=True, default=None
        )
        policy = WhyPolicySerializer(source="provenance.policy", allow_null=True, default=None)
        decisions = WhyDecisionSerializer(
            many=True, help_text="Who accepted, edited or approved the figures, oldest first."
        )

        class Meta:
            ref_name = "DraftLineWhy"

        def get_kept(self, why) -> bool:
            return bool(why.provenance)

        def to_representation(self, why):
            data = super().to_representation(why)
            if not why.provenance:
                for key in ("method", "history", "variance", "narrative", "policy"):
                    data[key] = None
            return data

    @extend_schema(
        operation_id="draft_lines_why",
        summary="Why a draft line's figures are what they are",
        responses=OutputSerializer,
        tags=["drafts"],
    )
    def get(self, request, organisation_public_id, draft_id, line_id):
        """What produced the suggestion, kept when it was made: the method and its backtest,
        every month of history it was given (so it can be reproduced after Xero's data
        changes), the variance that triggered it, the narrative shown and the facts it quoted,
        each policy check; then who accepted, edited or approved it."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        line = get_firm_object_or_404(DraftLine, firm=request.firm, draft=draft, pk=line_id)
        why = audit_selectors.draft_line_why(firm=request.firm, line=line)
        return Response(self.OutputSerializer(why).data)
