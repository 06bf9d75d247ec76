"""The partner API's what-if scenarios: list, create (adjustments given field by field, or a
sentence read over the organisation's chart), read what a sentence says without saving, and
compare up to five side by side. Figures come from the same selectors as the screens and the
CSV. Money is a string with two decimals; a month is "YYYY-MM". Routes are in config/api_urls.py.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.drafts.api import Conflict
from budgeting.drafts.models import Draft
from budgeting.drafts.services import DraftError
from budgeting.ledger import api_selectors
from budgeting.ledger.api import ACCOUNT_CLASSES, Money, NewestFirstPagination, PeriodField
from budgeting.ledger.models import Account, Budget, TrackingOption
from budgeting.scenarios import services
from budgeting.scenarios.maths import (
    PNL_ROWS,
    Adjustment,
    Change,
    Group,
    Per,
    ProfitAndLoss,
    Target,
)
from budgeting.scenarios.models import MAX_COMPARED, Scenario
from budgeting.scenarios.selectors import (
    chart_accounts,
    profile_get,
    scenario_adjustments,
    scenario_compare,
    scenario_list,
    scenario_sentence_read,
)
from budgeting.scenarios.sentences import ParseResult
from core.months import add_months
from tenants.api.base import FirmAPIView, api_actor
from tenants.api.errors import ErrorSerializer
from tenants.roles import Action
from tenants.scoping import get_firm_object_or_404

# Text a person types: no NUL (PostgreSQL cannot store it) and something besides spaces (the
# field trims them). As a pattern, so the schema says what is accepted. Python trims a few
# characters a JSON Schema (ECMA) \s does not name, the separators U+001C-U+001F and U+0085:
# they are named here too, or the schema would allow a value that the field trims to nothing.
TEXT = r"^[^\x00]*[^\x00\s\x1c-\x1f\x85][^\x00]*$"


# A figure with at least one digit (drf-spectacular's own pattern for a decimal lets "-" and ""
# through, which no server reads as a number), at most 14 before the point and 2 after.
FIGURE = r"^-?(\d{1,14}(\.\d{0,2})?|\.\d{1,2})$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": FIGURE})
class FigureField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=16, decimal_places=2, **kwargs)


def _text(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        TEXT, error_messages={"invalid": "Give text, without NUL characters."}, **kwargs
    )


# What a scenario starts from (ScenarioBaseEnum in the schema, config/settings.py).
SCENARIO_BASES = [b.value for b in Scenario.Base]


def _organisation(request, organisation_public_id):
    return api_selectors.api_organisation_get(firm=request.firm, public_id=organisation_public_id)


class AdjustmentOutputSerializer(serializers.Serializer):
    description = serializers.CharField()
    account_ids = serializers.SerializerMethodField(help_text="Xero AccountIDs named.")
    group = serializers.CharField(allow_blank=True)
    account_class = serializers.CharField(allow_blank=True)
    account_type = serializers.CharField(allow_blank=True)
    tracking_option_id = serializers.CharField(
        source="tracking_option.option_id", allow_null=True, default=None
    )
    change = serializers.CharField()
    value = Money()
    per = serializers.CharField(allow_blank=True)
    first_period = PeriodField()
    last_period = PeriodField()
    cost_follows = serializers.BooleanField()

    class Meta:
        ref_name = "ScenarioAdjustment"

    def get_account_ids(self, row) -> list[str]:
        return [self.context["account_ids"].get(pk, "") for pk in row.account_ids]


class ScenarioOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    base = serializers.ChoiceField(choices=SCENARIO_BASES)
    budget_id = serializers.CharField(source="base_budget.budget_id", allow_null=True, default=None)
    base_draft_id = serializers.IntegerField(allow_null=True)
    first_period = PeriodField()
    last_period = PeriodField()
    version = serializers.IntegerField()
    sentence = serializers.CharField(allow_blank=True)
    draft_id = serializers.IntegerField(allow_null=True, help_text="The draft it became.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Scenario"


class ReadAdjustmentOutputSerializer(serializers.Serializer):
    accounts = serializers.ListField(child=serializers.CharField(), help_text="Account codes.")
    percent = serializers.CharField(allow_null=True)
    amount = serializers.CharField(allow_null=True)
    per = serializers.ChoiceField(choices=[p.value for p in Per], allow_null=True)
    set_to = serializers.CharField(allow_null=True)
    from_ = serializers.CharField(help_text="YYYY-MM")
    to = serializers.CharField(help_text="YYYY-MM")
    read_by = serializers.CharField(
        required=False,
        help_text="The firm's chat model, for a part the parser could not read: check it before "
        "creating the scenario with these adjustments.",
    )

    class Meta:
        ref_name = "ScenarioReadAdjustment"

    def get_fields(self):
        fields = super().get_fields()
        # "from" is a Python keyword: the field is declared as from_ and named here.
        fields["from"] = fields.pop("from_")
        return fields


class ReadOutputSerializer(serializers.Serializer):
    adjustments = ReadAdjustmentOutputSerializer(many=True)
    not_understood = serializers.ListField(child=serializers.CharField())
    problems = serializers.ListField(child=serializers.CharField(), required=False)
    suggestions = serializers.ListField(child=serializers.CharField(), required=False)
    notes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="What the firm's chat model did: adjustments it read that were ignored and "
        "why, or why it was not asked (a timeout, an error).",
    )

    class Meta:
        ref_name = "ScenarioRead"


class ScenarioCreatedSerializer(ScenarioOutputSerializer):
    adjustments = AdjustmentOutputSerializer(many=True)
    read = ReadOutputSerializer(required=False, help_text="What the sentence was read as.")

    class Meta:
        ref_name = "ScenarioCreated"


class PnlOutputSerializer(serializers.Serializer):
    revenue = serializers.CharField()
    cost_of_sales = serializers.CharField()
    gross_profit = serializers.CharField()
    other_income = serializers.CharField()
    operating_expenses = serializers.CharField()
    net_profit = serializers.CharField()

    class Meta:
        ref_name = "ScenarioProfitAndLoss"


class CompareMonthOutputSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM")
    scenario = PnlOutputSerializer()
    base = PnlOutputSerializer()
    actual = PnlOutputSerializer(allow_null=True, help_text="For a closed month; else null.")

    class Meta:
        ref_name = "ScenarioCompareMonth"


class CompareYearOutputSerializer(serializers.Serializer):
    start = serializers.CharField(help_text="The financial year's first month, YYYY-MM.")
    scenario = PnlOutputSerializer()
    base = PnlOutputSerializer()
    actual = PnlOutputSerializer(allow_null=True)
    closed_months = serializers.IntegerField()

    class Meta:
        ref_name = "ScenarioCompareYear"


class CompareScenarioOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    version = serializers.IntegerField()
    total = PnlOutputSerializer()
    base_total = PnlOutputSerializer()
    months = CompareMonthOutputSerializer(many=True)
    years = CompareYearOutputSerializer(many=True)

    class Meta:
        ref_name = "ScenarioCompared"


class CompareOutputSerializer(serializers.Serializer):
    currency = serializers.CharField()
    scenarios = CompareScenarioOutputSerializer(many=True)

    class Meta:
        ref_name = "ScenarioComparison"


class AdjustmentInputSerializer(serializers.Serializer):
    accounts = serializers.ListField(
        child=_text(max_length=150),
        required=False,
        default=list,
        max_length=500,
        help_text="Account codes or names, as Xero holds them.",
    )
    group = serializers.ChoiceField(choices=[g.value for g in Group], required=False)
    # Any Xero class (the schema's AccountClassEnum); one off the P&L matches no account (409).
    account_class = serializers.ChoiceField(choices=ACCOUNT_CLASSES, required=False)
    account_type = _text(max_length=20, required=False)
    tracking_option_id = _text(max_length=64, required=False)
    change = serializers.ChoiceField(choices=[c.value for c in Change])
    value = FigureField()
    per = serializers.ChoiceField(choices=[p.value for p in Per], required=False)
    first_period = PeriodField(required=False)
    last_period = PeriodField(required=False)
    cost_follows = serializers.BooleanField(required=False, default=False)

    class Meta:
        ref_name = "ScenarioAdjustmentInput"


def _read_json(read: ParseResult) -> dict:
    return read.as_json()


def _bad_sentence(read: ParseResult):
    # Well-formed input that cannot apply is a conflict with the organisation's chart and the
    # scenario's months, not malformed input: 409, with what failed and accounts suggested.
    suggested = (
        f" Accounts with a similar name: {', '.join(read.suggestions)}." if read.suggestions else ""
    )
    return Conflict(" ".join(read.problems) + suggested, code="not_applied")


class ScenarioListApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "POST": Action.PREPARE_DRAFTS}
    pagination_class = NewestFirstPagination

    class InputSerializer(serializers.Serializer):
        name = _text(max_length=120)
        base = serializers.ChoiceField(choices=SCENARIO_BASES)
        budget_id = _text(
            max_length=64,
            required=False,
            help_text="Xero's BudgetID, for base=budget; the overall budget when left out.",
        )
        draft_id = serializers.IntegerField(required=False, help_text="For base=draft.")
        first_period = PeriodField()
        months = serializers.IntegerField(min_value=1, max_value=services.MAX_MONTHS)
        sentence = _text(max_length=1000, required=False)
        adjustments = AdjustmentInputSerializer(many=True, required=False)

        class Meta:
            ref_name = "ScenarioCreate"

    @extend_schema(
        operation_id="scenarios_list",
        summary="List an organisation's what-if scenarios, newest first",
        responses=ScenarioOutputSerializer(many=True),
        tags=["scenarios"],
    )
    def get(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        rows = scenario_list(firm=request.firm, organisation=organisation)
        return self.paginated_response(rows, ScenarioOutputSerializer)

    @extend_schema(
        operation_id="scenarios_create",
        summary="Create a scenario from a sentence or from adjustments",
        request=InputSerializer,
        responses={
            201: ScenarioCreatedSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="Something given cannot apply (code not_applied): nothing is saved.",
            ),
        },
        tags=["scenarios"],
    )
    def post(self, request, organisation_public_id):
        """A sentence is read as the screen reads it; a part it cannot apply (an unknown account,
        a cut of more than 100%, months outside the scenario) fails the request and nothing is
        saved. The response says what was read and what was not understood."""
        organisation = _organisation(request, organisation_public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        base = {}
        if values["base"] == Scenario.Base.BUDGET:
            budgets = Budget.objects.for_firm(request.firm).filter(organisation=organisation)
            if values.get("budget_id"):
                budgets = budgets.filter(budget_id__iexact=values["budget_id"])
            else:
                # No BudgetID: the organisation's overall budget, the one a scenario usually
                # starts from.
                budgets = budgets.filter(type=Budget.Type.OVERALL).order_by("pk")
            base["base_budget"] = budgets.first()
            if base["base_budget"] is None:
                raise exceptions.NotFound("No such budget in this organisation.")
        elif values["base"] == Scenario.Base.DRAFT:
            base["base_draft"] = get_firm_object_or_404(
                Draft, firm=request.firm, organisation=organisation, pk=values.get("draft_id")
            )
        user = api_actor(request)
        try:
            with transaction.atomic():
                scenario = services.scenario_create(
                    firm=request.firm,
                    organisation=organisation,
                    name=values["name"],
                    first_period=values["first_period"],
                    months=values["months"],
                    base=values["base"],
                    user=user,
                    **base,
                )
                # Adjustments given field by field first, then what the sentence says; neither
                # makes an empty scenario, as on the screen.
                adjustments = _adjustments(request, scenario, values.get("adjustments") or [])
                read = None
                if values.get("sentence"):
                    read = scenario_sentence_read(
                        firm=request.firm, scenario=scenario, sentence=values["sentence"]
                    )
                    if not read.ok:
                        raise _bad_sentence(read)
                    adjustments += [a.adjustment for a in read.adjustments]
                if adjustments:
                    services.scenario_adjustments_add(
                        firm=request.firm,
                        scenario=scenario,
                        adjustments=adjustments,
                        sentence=values.get("sentence", ""),
                        user=user,
                    )
        except services.ScenarioServiceError as exc:
            raise Conflict(str(exc), code="not_applied") from exc
        scenario.refresh_from_db()
        body = dict(ScenarioOutputSerializer(scenario).data)
        body["adjustments"] = _adjustments_out(request.firm, scenario)
        if read is not None:
            body["read"] = _read_json(read)
        return Response(body, status=status.HTTP_201_CREATED)


def _adjustments(request, scenario: Scenario, rows: list[dict]) -> list[Adjustment]:
    chart = chart_accounts(firm=request.firm, organisation=scenario.organisation)
    by_code = {a.code.lower(): a.key for a in chart if a.code}
    by_name = {a.name.lower(): a.key for a in chart}
    out = []
    for index, row in enumerate(rows):
        keys = set()
        for name in row.get("accounts", []):
            key = by_code.get(name.strip().lower()) or by_name.get(name.strip().lower())
            if key is None:
                raise Conflict(
                    f"Adjustment {index + 1}: no account is called {name!r}.", code="not_applied"
                )
            keys.add(key)
        option = None
        if row.get("tracking_option_id"):
            option = get_firm_object_or_404(
                TrackingOption,
                firm=request.firm,
                organisation=scenario.organisation,
                option_id__iexact=row["tracking_option_id"],
            ).pk
        change = Change(row["change"])
        out.append(
            Adjustment(
                target=Target(
                    account_keys=frozenset(keys),
                    group=Group(row["group"]) if row.get("group") else None,
                    account_class=row.get("account_class", ""),
                    account_type=(row.get("account_type") or "").upper(),
                    tracking_option=option,
                ),
                change=change,
                value=Decimal(row["value"]),
                first=row.get("first_period") or scenario.first_period,
                last=row.get("last_period") or scenario.last_period,
                per=Per(row["per"]) if row.get("per") and change != Change.PERCENT else None,
                cost_follows=row.get("cost_follows", False),
            )
        )
    return out


def _adjustments_out(firm, scenario: Scenario) -> list[dict]:
    rows = scenario_adjustments(firm=firm, scenario=scenario)
    wanted = {pk for row in rows for pk in row.account_ids}
    ids = dict(Account.objects.for_firm(firm).filter(pk__in=wanted).values_list("pk", "account_id"))
    return AdjustmentOutputSerializer(rows, many=True, context={"account_ids": ids}).data


class ScenarioSentenceReadApi(FirmAPIView):
    firm_actions = {"POST": Action.VIEW}

    class InputSerializer(serializers.Serializer):
        sentence = _text(max_length=1000)
        first_period = PeriodField()
        months = serializers.IntegerField(min_value=1, max_value=services.MAX_MONTHS)

        class Meta:
            ref_name = "ScenarioSentence"

    @extend_schema(
        operation_id="scenarios_read_sentence",
        summary="What a sentence says over the organisation's chart, without saving anything",
        request=InputSerializer,
        responses={
            200: ReadOutputSerializer,
            409: OpenApiResponse(ErrorSerializer, description="Months past 9999 (not_applied)."),
        },
        tags=["scenarios"],
    )
    def post(self, request, organisation_public_id):
        """{"adjustments": [...], "not_understood": [...]}, with "problems" and "suggestions"
        when a part cannot apply: for the user to confirm before creating the scenario. When the
        firm turned its chat model on, a part the parser could not read is read by it: those
        adjustments carry "read_by", and "notes" say what it read that was ignored, or why it
        was not asked. Create the scenario with the confirmed adjustments given field by field;
        a sentence given to create is read by the parser alone."""
        organisation = _organisation(request, organisation_public_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        try:
            last = add_months(values["first_period"], values["months"] - 1)
        except ValueError as exc:  # past the year 9999, the last a date can hold
            raise Conflict("A scenario's months end by December 9999.", code="not_applied") from exc
        scenario = Scenario(
            firm=request.firm,
            organisation=organisation,
            first_period=values["first_period"],
            last_period=last,
        )
        # A part the parser cannot read goes to the firm's chat model when the firm turned it
        # on; what it read is marked "read_by" for the client to confirm, never applied here.
        read = scenario_sentence_read(
            firm=request.firm, scenario=scenario, sentence=values["sentence"], ask_provider=True
        )
        return Response(read.as_json())


def _pnl(pnl: ProfitAndLoss | None) -> dict | None:
    if pnl is None:
        return None
    return {attribute: f"{pnl.figure(attribute):.2f}" for attribute, _label in PNL_ROWS}


class ScenarioCompareApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        ids = serializers.RegexField(
            rf"^[0-9]{{1,9}}(,[0-9]{{1,9}}){{0,{MAX_COMPARED - 1}}}$",
            help_text=f"Scenario ids separated by commas, one to {MAX_COMPARED}.",
            error_messages={"invalid": "Give one to five scenario ids: 12,14"},
        )

    @extend_schema(
        operation_id="scenarios_compare",
        summary="Up to five scenarios side by side: the P&L per month and financial year",
        parameters=[FilterSerializer],
        responses=CompareOutputSerializer,
        tags=["scenarios"],
    )
    def get(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        ids = [int(v) for v in filters.validated_data["ids"].split(",")]
        views = scenario_compare(firm=request.firm, organisation=organisation, scenario_ids=ids)
        if len(views) != len(set(ids)):
            raise exceptions.NotFound("No such scenario in this organisation.")
        profile = profile_get(firm=request.firm, organisation=organisation)
        return Response(
            {
                "currency": profile.base_currency if profile else "",
                "scenarios": [
                    {
                        "id": view.scenario.pk,
                        "name": view.scenario.name,
                        "version": view.scenario.version,
                        "total": _pnl(view.result.total),
                        "base_total": _pnl(view.result.base_total),
                        "months": [
                            {
                                "period": f"{m.period:%Y-%m}",
                                "scenario": _pnl(m.scenario),
                                "base": _pnl(m.base),
                                "actual": _pnl(m.actual),
                            }
                            for m in view.result.months
                        ],
                        "years": [
                            {
                                "start": f"{y.start:%Y-%m}",
                                "scenario": _pnl(y.scenario),
                                "base": _pnl(y.base),
                                "actual": _pnl(y.actual) if y.closed_months else None,
                                "closed_months": y.closed_months,
                            }
                            for y in view.result.years
                        ],
                    }
                    for view in views
                ],
            }
        )


class ScenarioDraftApi(FirmAPIView):
    firm_actions = {"POST": Action.PREPARE_DRAFTS}

    class OutputSerializer(serializers.Serializer):
        draft_id = serializers.IntegerField()
        status = serializers.CharField()
        first_period = PeriodField()
        horizon = serializers.IntegerField()
        lines = serializers.IntegerField(help_text="Accounts the scenario changes.")

        class Meta:
            ref_name = "ScenarioDraft"

    @extend_schema(
        operation_id="scenarios_draft",
        summary="Turn a scenario into a draft of its budget",
        request=None,
        responses={
            201: OutputSerializer,
            409: OpenApiResponse(ErrorSerializer, description="No draft made (not_drafted)."),
        },
        tags=["scenarios"],
    )
    def post(self, request, organisation_public_id, scenario_id):
        """The months still open become a draft (checked against the budget policy); submit it
        for approval as any draft (drafts/<id>/submit/). 409 when the policy allows no draft,
        every month is closed, or nothing differs from the budget."""
        organisation = _organisation(request, organisation_public_id)
        scenario = get_firm_object_or_404(
            Scenario, firm=request.firm, organisation=organisation, pk=scenario_id
        )
        try:
            draft = services.scenario_draft_create(
                firm=request.firm, scenario=scenario, user=api_actor(request)
            )
        except (services.ScenarioServiceError, DraftError) as exc:
            raise Conflict(str(exc), code="not_drafted") from exc
        return Response(
            {
                "draft_id": draft.pk,
                "status": draft.status,
                "first_period": f"{draft.first_period:%Y-%m}",
                "horizon": draft.horizon,
                "lines": draft.lines.count(),
            },
            status=status.HTTP_201_CREATED,
        )
