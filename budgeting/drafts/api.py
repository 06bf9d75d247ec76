"""The partner API's variance report, kept forecasts and forecast drafts of an organisation.

Figures come from the same domain code as the screens: the variance report from
`variance_report_load` (as the report page and its CSV), drafts from the draft selectors, edits
through `draft_line_edit` (submission is budgeting/approvals/api.py, a draft's history
from the audit log's selectors. Money is a string with two decimals; a period is "YYYY-MM".
Routes are registered in config/api_urls.py (ENDPOINTS).
"""

import datetime as dt

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.drafts import selectors as draft_selectors
from budgeting.drafts.guardrails import figure_problem
from budgeting.drafts.models import Draft, DraftLine, ForecastRecord
from budgeting.drafts.services import (
    DraftError,
    draft_can_submit,
    draft_line_edit,
    draft_lines_accept,
)
from budgeting.ledger import api_selectors
from budgeting.ledger.api import (
    ACCOUNT_TYPES,
    XERO_REF_PATTERN,
    AccountClassField,
    FinancialYearStartField,
    Money,
    NewestFirstPagination,
    PeriodField,
    UpperChoiceField,
    _with_class_field,
)
from budgeting.ledger.models import TrackingOption, XeroOrganisation
from budgeting.variance.maths import Section
from budgeting.variance.selectors import ACCOUNT_CLASSES, ReportFilters, variance_report_load
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.models import ClientOrganisation, Firm
from tenants.roles import Action
from tenants.scoping import get_firm_object_or_404


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _organisation(request, organisation_public_id) -> ClientOrganisation:
    return api_selectors.api_organisation_get(firm=request.firm, public_id=organisation_public_id)


def _tracking_option(firm: Firm, organisation: ClientOrganisation, option_id: str):
    try:
        return TrackingOption.objects.for_firm(firm).get(
            organisation=organisation, option_id__iexact=option_id
        )
    except TrackingOption.DoesNotExist:
        raise exceptions.NotFound("No such tracking option in this organisation.") from None


# --- Variance ---------------------------------------------------------------------------------

VARIANCE_STATUSES = ["favourable", "unfavourable", "on budget", "no budget"]


class ComparisonOutputSerializer(serializers.Serializer):
    actual = Money()
    budget = Money()
    variance = Money(help_text="Actual minus budget.")
    percent = serializers.DecimalField(
        max_digits=None,
        decimal_places=1,
        coerce_to_string=True,
        allow_null=True,
        help_text="The variance as a percent of the budget, one decimal; null with no budget.",
    )
    favourable = serializers.BooleanField(
        allow_null=True, help_text="Good news or bad; null when the variance is zero."
    )
    # VarianceStatusEnum in the schema (config/settings.py ENUM_NAME_OVERRIDES).
    status = serializers.ChoiceField(choices=VARIANCE_STATUSES)
    material = serializers.BooleanField(help_text="Over the organisation's materiality threshold.")

    class Meta:
        ref_name = "VarianceComparison"


class AgainstForecastOutputSerializer(serializers.Serializer):
    month = ComparisonOutputSerializer(help_text="`budget` is the forecast budget's figure.")
    year_to_date = ComparisonOutputSerializer()

    class Meta:
        ref_name = "VarianceAgainstForecast"


class VarianceLineOutputSerializer(serializers.Serializer):
    account_id = serializers.CharField(help_text="Xero's AccountID.")
    account_code = serializers.CharField(source="code")
    account_name = serializers.CharField(source="name")
    account_type = serializers.ChoiceField(choices=ACCOUNT_TYPES)
    month = ComparisonOutputSerializer(help_text="The month asked for.")
    year_to_date = ComparisonOutputSerializer(help_text="The financial year to that month.")
    against_forecast = AgainstForecastOutputSerializer(
        allow_null=True,
        help_text="Actual against the forecast budget beside the original; null before one "
        "exists in Xero.",
    )

    class Meta:
        ref_name = "VarianceLine"

    def get_fields(self):
        return _with_class_field(super().get_fields(), AccountClassField())


class VarianceSectionOutputSerializer(serializers.Serializer):
    section = serializers.ChoiceField(source="key", choices=[s.value for s in Section])
    label = serializers.CharField()
    lines = VarianceLineOutputSerializer(many=True, help_text="Empty for the profit lines.")
    month = ComparisonOutputSerializer(source="total.month", help_text="The section's total.")
    year_to_date = ComparisonOutputSerializer(source="total.year_to_date")
    against_forecast = AgainstForecastOutputSerializer(
        allow_null=True, help_text="The total against the forecast budget; null before one exists."
    )

    class Meta:
        ref_name = "VarianceSection"


class _ApiLine:
    """A report line with its comparison against the forecast budget, for the serializer."""

    def __init__(self, line, against_forecast) -> None:
        self._line = line
        self.against_forecast = against_forecast

    def __getattr__(self, name: str):
        return getattr(self._line, name)


class VarianceApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        period = PeriodField(help_text="The month, YYYY-MM.")
        tracking_option = serializers.RegexField(
            XERO_REF_PATTERN,
            required=False,
            help_text="A TrackingOptionID: that option's actuals against its tracking budget. "
            "Leave out for the overall report.",
            error_messages={"invalid": "Give Xero's TrackingOptionID."},
        )
        material = serializers.BooleanField(
            required=False, default=False, help_text="Only lines with a material variance."
        )

        def get_fields(self):
            return _with_class_field(
                super().get_fields(),
                UpperChoiceField(
                    choices=list(ACCOUNT_CLASSES), required=False, help_text="Lines of this class."
                ),
            )

    class OutputSerializer(serializers.Serializer):
        period = PeriodField()
        financial_year_start = FinancialYearStartField(help_text="First month of the year to date.")
        currency = serializers.CharField(help_text="The organisation's base currency.")
        tracking_option_id = serializers.CharField(allow_null=True)
        budget_id = serializers.CharField(
            allow_null=True, help_text="The Xero BudgetID compared against; null when none."
        )
        forecast_budget_id = serializers.CharField(
            allow_null=True,
            help_text="The Xero BudgetID of the forecast budget beside it (the original is "
            "kept), also compared against; null before one exists in Xero.",
        )
        sections = VarianceSectionOutputSerializer(many=True, help_text="In report order.")

        class Meta:
            ref_name = "VarianceReport"

    @extend_schema(
        operation_id="variances_retrieve",
        summary="An organisation's variance report for a month",
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
        """Actual against budget per account, with section totals, for the month and the year to
        date: the same figures as the variance report and its CSV."""
        organisation = _organisation(request, organisation_public_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        profile = XeroOrganisation.objects.for_firm(request.firm).filter(organisation=organisation)
        profile = profile.first()
        if profile is None:
            raise Conflict(
                f"{organisation.name} has not been synced from Xero yet.", code="not_synced"
            )
        option = None
        if data.get("tracking_option"):
            option = _tracking_option(request.firm, organisation, data["tracking_option"])
        account_class = data.get("class")
        view = variance_report_load(
            firm=request.firm,
            organisation=organisation,
            profile=profile,
            period=data["period"],
            tracking_option=option,
            filters=ReportFilters(
                account_classes=frozenset([account_class] if account_class else []),
                material_only=data["material"],
            ),
            with_narratives=False,
        )
        body = {
            "period": view.report.period,
            "financial_year_start": view.report.financial_year_start,
            "currency": view.data.currency,
            "tracking_option_id": option.option_id if option else None,
            "budget_id": view.data.budget.budget_id if view.data.budget else None,
            "forecast_budget_id": (
                view.data.forecast_budget.budget_id if view.data.forecast_budget else None
            ),
            "sections": [
                {
                    "key": section.key,
                    "label": section.label,
                    "lines": [_ApiLine(row.line, row.forecast) for row in section.rows],
                    "total": section.total,
                    "against_forecast": section.forecast_total,
                }
                for section in view.sections
            ],
        }
        return Response(self.OutputSerializer(body).data)


# --- Kept forecasts ---------------------------------------------------------------------------


def forecast_record_list(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    account: str | None = None,
    tracking_option: str | None = None,
    method: str | None = None,
    made_from: dt.date | None = None,
    made_to: dt.date | None = None,
) -> QuerySet[ForecastRecord]:
    records = (
        ForecastRecord.objects.for_firm(firm)
        .filter(organisation=organisation)
        .select_related("account", "tracking_option")
    )
    if account:
        records = records.filter(Q(account__account_id__iexact=account) | Q(account__code=account))
    if tracking_option == api_selectors.OVERALL:
        records = records.filter(tracking_option__isnull=True)
    elif tracking_option:
        records = records.filter(tracking_option__option_id__iexact=tracking_option)
    if method:
        records = records.filter(method=method)
    if made_from:
        records = records.filter(made_at__gte=made_from)
    if made_to:
        records = records.filter(made_at__lte=made_to)
    return records


class ForecastListApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        account = serializers.RegexField(
            XERO_REF_PATTERN,
            required=False,
            help_text="An account, by Xero's AccountID or by its code.",
            error_messages={"invalid": "Give Xero's AccountID or the account's code."},
        )
        tracking_option = serializers.RegexField(
            XERO_REF_PATTERN,
            required=False,
            help_text="A TrackingOptionID, or `none` for the overall lines. Leave out for both.",
            error_messages={"invalid": "Give Xero's TrackingOptionID, or none."},
        )
        method = serializers.RegexField(
            r"^[a-z0-9_]{1,40}$",
            required=False,
            help_text="The forecasting method, e.g. naive, seasonal_naive, ets.",
            error_messages={"invalid": "Give a method's name, e.g. seasonal_naive."},
        )
        made_from = PeriodField(
            required=False, help_text="Forecasts made after this month closed or later (YYYY-MM)."
        )
        made_to = PeriodField(
            required=False, help_text="Forecasts made after this month closed or earlier."
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        account_id = serializers.CharField(source="account.account_id", help_text="AccountID.")
        account_code = serializers.CharField(source="account.code")
        tracking_option_id = serializers.CharField(
            source="tracking_option.option_id",
            allow_null=True,
            help_text="Xero's TrackingOptionID; null for the overall line.",
        )
        method = serializers.CharField()
        made_at = PeriodField(help_text="The last closed month the forecast used.")
        target = PeriodField(help_text="The month forecast.")
        step = serializers.IntegerField(help_text="Months ahead of made_at.")
        point = Money()
        lo_80 = Money()
        hi_80 = Money()
        lo_95 = Money()
        hi_95 = Money()
        created_at = serializers.DateTimeField()
        scored = serializers.SerializerMethodField(help_text="Whether the month has closed.")
        actual = Money(allow_null=True, help_text="Once the target month closed; else null.")
        abs_error = Money(allow_null=True)
        within_80 = serializers.BooleanField(allow_null=True)
        within_95 = serializers.BooleanField(allow_null=True)
        scored_at = serializers.DateTimeField(allow_null=True)

        class Meta:
            ref_name = "ForecastRecord"

        def get_scored(self, record: ForecastRecord) -> bool:
            return record.actual is not None

    @extend_schema(
        operation_id="forecasts_list",
        summary="List the forecasts kept for scoring, with their accuracy once scored",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
        tags=["forecasts"],
    )
    def get(self, request, organisation_public_id):
        """Every forecast month kept by the rolling forecast; `actual`, `abs_error` and the
        interval hits are filled once the target month closes."""
        organisation = _organisation(request, organisation_public_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        records = forecast_record_list(
            firm=request.firm, organisation=organisation, **filters.validated_data
        )
        return self.paginated_response(records, self.OutputSerializer)


# --- Drafts -----------------------------------------------------------------------------------


def _draft(request, organisation: ClientOrganisation, draft_id: int) -> Draft:
    return get_firm_object_or_404(Draft, firm=request.firm, organisation=organisation, pk=draft_id)


class DraftOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Draft.Status.choices)
    source = serializers.ChoiceField(choices=Draft.Source.choices)
    revision = serializers.IntegerField(help_text="Goes up with every change to the draft.")
    horizon = serializers.IntegerField(help_text="Months forecast.")
    first_period = PeriodField(help_text="The first forecast month.")
    last_actual_period = PeriodField(help_text="The last closed month the forecast used.")
    policy_version = serializers.IntegerField(
        help_text="0: checked against the default guardrails (no policy saved yet)."
    )
    currency = serializers.CharField(source="currency_code")
    lines_analysed = serializers.IntegerField()
    created_by = serializers.EmailField(source="created_by.email", allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Draft"


class DraftListOutputSerializer(DraftOutputSerializer):
    line_count = serializers.IntegerField()

    class Meta:
        ref_name = "DraftSummary"


class PolicyViolationSerializer(serializers.Serializer):
    rule = serializers.CharField(
        help_text="One of: actual_multiple, sign, max_change_percent, max_change_amount, "
        "account_cap, class_cap, scope."
    )
    message = serializers.CharField(help_text="The rule and its limit, in words.")
    limit = serializers.CharField(
        allow_null=True,
        default=None,
        help_text='The limit the rule applies: an amount ("7500.00"), a percent ("50") or '
        "zero for the sign rule; null for scope.",
    )
    period = serializers.SerializerMethodField(help_text="The month, when the rule is monthly.")

    class Meta:
        ref_name = "PolicyViolation"

    @extend_schema_field(PeriodField(allow_null=True))
    def get_period(self, violation: dict) -> str | None:
        # Stored as an ISO date; shown as a month, like every period of the API.
        return violation["period"][:7] if violation.get("period") else None


class PolicyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField(source="policy_ok")
    violations = PolicyViolationSerializer(
        many=True, source="policy_violations", help_text="They block submission, not edits."
    )
    needs_extra_approval = serializers.BooleanField()
    extra_approval_reasons = serializers.ListField(child=serializers.CharField())

    class Meta:
        ref_name = "DraftPolicyResult"


class DraftBalanceOutputSerializer(serializers.Serializer):
    period = PeriodField()
    original = Money(source="original_amount", allow_null=True, help_text="The budget's figure.")
    actual = Money(allow_null=True, help_text="Once the month has closed.")
    suggested = Money(source="suggested_amount")
    lo_80 = Money()
    hi_80 = Money()
    lo_95 = Money()
    hi_95 = Money()
    edited = Money(source="edited_amount", allow_null=True, help_text="A person's figure.")
    effective = Money(source="effective_amount", help_text="The edit, else the suggestion.")
    edited_by = serializers.EmailField(
        source="editor_email",
        allow_null=True,
        help_text="Who edited: a member, or a department's manager outside the firm.",
    )
    edited_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(source="edit_reason")

    class Meta:
        ref_name = "DraftBalance"


class DraftLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    account_id = serializers.CharField(source="account.account_id", help_text="AccountID.")
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")
    tracking_option_id = serializers.CharField(source="tracking_option.option_id", allow_null=True)
    tracking_option = serializers.CharField(source="tracking_option.name", allow_null=True)
    section = serializers.ChoiceField(choices=[s.value for s in Section])
    trigger = serializers.ChoiceField(choices=DraftLine.Trigger.choices)
    method = serializers.CharField()
    confidence = serializers.IntegerField(help_text="0-100.")
    confidence_label = serializers.CharField()
    forecast_total = Money(help_text="Over the horizon.")
    budget_total = Money()
    narrative = serializers.CharField()
    reason = serializers.CharField(help_text="The last edit's reason.")
    accepted = serializers.BooleanField()
    edited = serializers.BooleanField()
    policy = PolicyResultSerializer(source="*")
    balances = DraftBalanceOutputSerializer(many=True, help_text="One per month.")

    class Meta:
        ref_name = "DraftLine"


class DraftDetailOutputSerializer(DraftOutputSerializer):
    can_submit = serializers.SerializerMethodField()
    submit_blockers = serializers.SerializerMethodField(
        help_text="Why the draft cannot be submitted yet; empty when it can."
    )
    lines = DraftLineOutputSerializer(many=True, source="lines_loaded")

    class Meta:
        ref_name = "DraftDetail"

    def get_can_submit(self, draft) -> bool:
        return not draft.submit_blockers

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_submit_blockers(self, draft) -> list[str]:
        return draft.submit_blockers


def _draft_detail(firm: Firm, draft: Draft) -> dict:
    draft.lines_loaded = draft_selectors.draft_lines(firm=firm, draft=draft)
    draft.submit_blockers = draft_can_submit(firm=firm, draft=draft)
    return DraftDetailOutputSerializer(draft).data


class DraftListApi(FirmAPIView):
    etag = True
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="drafts_list",
        summary="List an organisation's forecast drafts, newest first",
        responses=DraftListOutputSerializer(many=True),
        tags=["drafts"],
    )
    def get(self, request, organisation_public_id):
        """Drafts of a Forecast version of the budget; their lines are under each draft."""
        organisation = _organisation(request, organisation_public_id)
        drafts = draft_selectors.draft_list(firm=request.firm, organisation=organisation)
        return self.paginated_response(drafts, DraftListOutputSerializer)


class DraftDetailApi(FirmAPIView):
    etag = True

    @extend_schema(
        operation_id="drafts_retrieve",
        summary="A forecast draft with its lines and monthly figures",
        responses=DraftDetailOutputSerializer,
        tags=["drafts"],
    )
    def get(self, request, organisation_public_id, draft_id):
        """Each line with its trigger, method, confidence and policy result, and each month's
        original, suggested (with 80% and 95% intervals), edited and effective figures."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        return Response(_draft_detail(request.firm, draft))


class DraftLineEditApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        period = PeriodField(help_text="The month to change, YYYY-MM.")
        # Any number is read, so a figure a budget cannot hold gets the guardrails' message
        # (code figure_size), the same as the screen's, not a count of digits.
        amount = serializers.DecimalField(
            max_digits=None,
            decimal_places=None,
            coerce_to_string=True,
            help_text='The new figure, e.g. "1234.00": at most 99999999999999.99, in cents.',
        )
        reason = serializers.CharField(
            max_length=2000,
            help_text="Why the figure changed: required, and kept in the draft's history.",
            error_messages={
                "required": "Say why you changed the figure: a reason is required.",
                "blank": "Say why you changed the figure: a reason is required.",
            },
        )

        class Meta:
            ref_name = "DraftLineEdit"

        def validate_amount(self, value):
            problem = figure_problem(value)
            if problem:
                raise serializers.ValidationError(problem, code="figure_size")
            return value

    @extend_schema(
        operation_id="draft_lines_edit",
        summary="Change one month of a draft line, with a reason",
        request=InputSerializer,
        responses={
            200: DraftLineOutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The draft is no longer a draft (code not_editable).",
            ),
        },
        tags=["drafts"],
    )
    def post(self, request, organisation_public_id, draft_id, line_id):
        """Sets the month's figure and checks the policy again: the line comes back with the
        policy's result. A violation does not stop the edit, but blocks submission. The draft's
        revision goes up. Needs a key with the write scope."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        line = get_firm_object_or_404(DraftLine, firm=request.firm, draft=draft, pk=line_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not any(b.period == values["period"] for b in line.balances.all()):
            raise serializers.ValidationError(
                {"period": [f"This line has no {values['period']:%Y-%m} in the draft."]}
            )
        try:
            draft_line_edit(
                firm=request.firm,
                draft=draft,
                line=line,
                period=values["period"],
                amount=values["amount"],
                reason=values["reason"],
                user=api_actor(request),
            )
        except DraftError as exc:
            raise Conflict(str(exc), code="not_editable") from exc
        line = next(
            x
            for x in draft_selectors.draft_lines(firm=request.firm, draft=draft)
            if x.pk == line.pk
        )
        return Response(DraftLineOutputSerializer(line).data)


class DraftLinesAcceptApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    class InputSerializer(serializers.Serializer):
        lines = serializers.ListField(
            child=serializers.IntegerField(min_value=1),
            required=False,
            min_length=1,
            max_length=10000,
            help_text="The ids of the lines to accept: one or many.",
        )
        material = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Accept every line a material variance triggered (trigger variance or "
            "both); with `lines`, only those of them.",
        )

        class Meta:
            ref_name = "DraftLinesAccept"

        def validate(self, attrs):
            if "lines" not in attrs and not attrs["material"]:
                raise serializers.ValidationError(
                    {"lines": ["Name the lines to accept, or send material: true."]}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):
        accepted = serializers.IntegerField(
            help_text="Lines newly accepted; those accepted already are left as they are."
        )
        draft = DraftDetailOutputSerializer()

        class Meta:
            ref_name = "DraftLinesAccepted"

    @extend_schema(
        operation_id="draft_lines_accept",
        summary="Accept the suggestions of draft lines: one, many, or every material one",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The draft is no longer a draft (code not_editable).",
            ),
        },
        tags=["drafts"],
    )
    def post(self, request, organisation_public_id, draft_id):
        """A line's suggested figures become the draft's, as "Accept" does on the draft's
        screen; a line must be accepted or edited before the draft is submitted. The draft's
        revision goes up when a line changes. Needs a key with the write scope."""
        organisation = _organisation(request, organisation_public_id)
        draft = _draft(request, organisation, draft_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "lines" in values:
            known = set(
                DraftLine.objects.for_firm(request.firm)
                .filter(draft=draft, pk__in=values["lines"])
                .values_list("pk", flat=True)
            )
            unknown = sorted(set(values["lines"]) - known)
            if unknown:
                raise serializers.ValidationError(
                    {"lines": [f"Not lines of this draft: {', '.join(map(str, unknown))}."]}
                )
        try:
            accepted = draft_lines_accept(
                firm=request.firm,
                draft=draft,
                line_ids=values.get("lines"),
                material=values["material"],
                user=api_actor(request),
            )
        except DraftError as exc:
            raise Conflict(str(exc), code="not_editable") from exc
        draft.refresh_from_db()
        body = {"accepted": accepted, "draft": _draft_detail(request.firm, draft)}
        return Response(body)
