"""The partner API's view of the audit history: a draft's history, newest first, from the audit
log's selectors (the same entries as the audit screens). Routes are in config/api_urls.py."""

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
from tenants.api.base import FirmAPIView


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
            source="user.email", allow_null=True, help_text="Null for automatic changes."
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
