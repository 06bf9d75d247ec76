"""The partner API's reads of synced Xero data, and triggering a sync, per client organisation.

URLs name the organisation by its public id and synced objects by Xero's own ids. Money is a
string with two decimals ("1234.50", never a float); a period is a month, "YYYY-MM".
Routes are registered in config/api_urls.py (ENDPOINTS), like every API endpoint.
"""

import datetime as dt

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.ledger import api_selectors, selectors
from budgeting.ledger.models import Budget, SyncRun
from budgeting.ledger.sync import organisation_sync_start
from integrations.models import XeroConnection
from tenants.api.base import FirmAPIView
from tenants.api.errors import ErrorSerializer
from tenants.api.pagination import FirmCursorPagination
from tenants.roles import Action

# Xero's Account.Class and Account.Status values, and its Account Types
# (https://developer.xero.com/documentation/api/accounting/types#accounts).
ACCOUNT_CLASSES = ["ASSET", "EQUITY", "EXPENSE", "LIABILITY", "REVENUE"]
ACCOUNT_STATUSES = ["ACTIVE", "ARCHIVED", "DELETED"]
ACCOUNT_TYPES = [
    "BANK",
    "CURRENT",
    "CURRLIAB",
    "DEPRECIATN",
    "DIRECTCOSTS",
    "EQUITY",
    "EXPENSE",
    "FIXED",
    "INVENTORY",
    "LIABILITY",
    "NONCURRENT",
    "OTHERINCOME",
    "OVERHEADS",
    "PREPAYMENT",
    "REVENUE",
    "SALES",
    "TERMLIAB",
    "PAYGLIABILITY",
    "SUPERANNUATIONEXPENSE",
    "SUPERANNUATIONLIABILITY",
    "WAGESEXPENSE",
]
# Xero ids are GUIDs and account codes are short and alphanumeric; nothing else is asked for.
XERO_REF_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


# --- Fields -----------------------------------------------------------------------------------


# Years from 1901: a financial year or year-to-date reaches back up to eleven months before
# the month asked for, and every month the API returns must itself be a valid YYYY-MM.
PERIOD_PATTERN = r"^(190[1-9]|19[1-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])$"


@extend_schema_field({"type": "string", "pattern": PERIOD_PATTERN, "example": "2026-03"})
class PeriodField(serializers.Field):
    """A month as "YYYY-MM"; stored as the first day of the month."""

    default_error_messages = {
        "invalid": "Give a month as YYYY-MM, from 1901-01 to 9999-12, e.g. 2026-03."
    }

    def to_representation(self, value: dt.date) -> str:
        return f"{value:%Y-%m}"

    def to_internal_value(self, data) -> dt.date:
        text = str(data).strip()
        try:
            month = dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            self.fail("invalid")
        if len(text) != 7 or month.year < 1901:
            self.fail("invalid")
        return month


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^(19|[2-9][0-9])[0-9]{2}-(0[1-9]|1[0-2])$",
        "example": "2025-07",
    }
)
class FinancialYearStartField(PeriodField):
    """Output only: the first month of a year to date, up to eleven months before a period."""


class UpperChoiceField(serializers.ChoiceField):
    """Xero's upper-case codes; "revenue" is taken to mean REVENUE."""

    def to_internal_value(self, data):
        return super().to_internal_value(str(data).upper())


def Money(**kwargs) -> serializers.DecimalField:
    # A string with two decimals, as Xero shows money: never a float.
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, coerce_to_string=True, **kwargs
    )


def AccountClassField(**kwargs) -> serializers.ChoiceField:
    # An enum in the schema (AccountClassEnum, config/settings.py), read from `account_class`.
    return serializers.ChoiceField(
        choices=ACCOUNT_CLASSES, source="account_class", help_text="Xero's class.", **kwargs
    )


def _with_class_field(fields: dict, field: serializers.Field) -> dict:
    # Xero's name for an account's class is "Class", a Python keyword: added here, not declared.
    fields["class"] = field
    return fields


class _PeriodFilterSerializer(serializers.Serializer):
    period_from = PeriodField(required=False, help_text="First month, YYYY-MM (inclusive).")
    period_to = PeriodField(required=False, help_text="Last month, YYYY-MM (inclusive).")
    account = serializers.RegexField(
        XERO_REF_PATTERN,
        required=False,
        help_text="An account, by Xero's AccountID or by its code.",
        error_messages={"invalid": "Give Xero's AccountID or the account's code."},
    )

    def get_fields(self):
        return _with_class_field(
            super().get_fields(),
            UpperChoiceField(
                choices=ACCOUNT_CLASSES, required=False, help_text="Accounts of this class only."
            ),
        )

    def validate(self, data):
        first, last = data.get("period_from"), data.get("period_to")
        if first and last and first > last:
            raise serializers.ValidationError(
                {"period_to": [f"Give a month on or after period_from ({first:%Y-%m})."]}
            )
        return data

    def filters(self) -> dict:
        data = dict(self.validated_data)
        data["account_class"] = data.pop("class", None)
        return data


def _filters(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.filters()


# --- Accounts ---------------------------------------------------------------------------------


class AccountListApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        type = UpperChoiceField(choices=ACCOUNT_TYPES, required=False, help_text="Xero's type.")
        status = UpperChoiceField(choices=ACCOUNT_STATUSES, required=False)

        def get_fields(self):
            return _with_class_field(
                super().get_fields(),
                UpperChoiceField(
                    choices=ACCOUNT_CLASSES, required=False, help_text="Xero's class."
                ),
            )

        def filters(self) -> dict:
            data = dict(self.validated_data)
            data["account_class"] = data.pop("class", None)
            return data

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="account_id", help_text="Xero's AccountID.")
        code = serializers.CharField()
        name = serializers.CharField()
        type = serializers.ChoiceField(choices=ACCOUNT_TYPES, help_text="Xero's account type.")
        status = serializers.ChoiceField(choices=ACCOUNT_STATUSES)

        class Meta:
            ref_name = "Account"

        def get_fields(self):
            return _with_class_field(super().get_fields(), AccountClassField())

    @extend_schema(
        operation_id="accounts_list",
        summary="List an organisation's accounts",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
        tags=["accounts"],
    )
    def get(self, request, organisation_public_id):
        """The chart of accounts as last synced from Xero."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        accounts = api_selectors.account_list(
            firm=request.firm,
            organisation=organisation,
            **_filters(self.FilterSerializer, request),
        )
        return self.paginated_response(accounts, self.OutputSerializer)


# --- Tracking categories ----------------------------------------------------------------------


class TrackingOptionOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="option_id", help_text="Xero's TrackingOptionID.")
    name = serializers.CharField()
    status = serializers.CharField()

    class Meta:
        ref_name = "TrackingOption"


class TrackingCategoryListApi(FirmAPIView):
    etag = True

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="category_id", help_text="Xero's TrackingCategoryID.")
        name = serializers.CharField()
        status = serializers.CharField()
        options = TrackingOptionOutputSerializer(many=True)

        class Meta:
            ref_name = "TrackingCategory"

    @extend_schema(
        operation_id="tracking_categories_list",
        summary="List an organisation's tracking categories and their options",
        responses=OutputSerializer(many=True),
        tags=["tracking categories"],
    )
    def get(self, request, organisation_public_id):
        """Tracking categories (e.g. Region), each with its options (e.g. North, South)."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        categories = api_selectors.tracking_category_list(
            firm=request.firm, organisation=organisation
        )
        return self.paginated_response(categories, self.OutputSerializer)


# --- Budgets ----------------------------------------------------------------------------------


class BudgetTrackingOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="option_id", help_text="Xero's TrackingOptionID.")
    name = serializers.CharField()
    category_id = serializers.CharField(source="category.category_id")
    category = serializers.CharField(source="category.name")

    class Meta:
        ref_name = "BudgetTrackingOption"


class BudgetLineOutputSerializer(serializers.Serializer):
    account_id = serializers.CharField(source="account.account_id", help_text="AccountID.")
    account_code = serializers.CharField(source="account.code")
    account_name = serializers.CharField(source="account.name")

    class Meta:
        ref_name = "BudgetLine"


class BudgetListApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        tracking_option = serializers.RegexField(
            XERO_REF_PATTERN,
            required=False,
            help_text="The tracking budgets for this TrackingOptionID, or `none` for the overall "
            "budget. Leave out for all budgets.",
            error_messages={"invalid": "Give Xero's TrackingOptionID, or none."},
        )

    class OutputSerializer(serializers.Serializer):
        id = serializers.CharField(source="budget_id", help_text="Xero's BudgetID.")
        type = serializers.ChoiceField(choices=Budget.Type.choices)
        description = serializers.CharField()
        tracking_options = serializers.SerializerMethodField(
            help_text="The option(s) a tracking budget is for; empty for the overall budget."
        )
        lines = BudgetLineOutputSerializer(many=True, help_text="The accounts the budget has.")

        class Meta:
            ref_name = "Budget"

        @extend_schema_field(BudgetTrackingOutputSerializer(many=True))
        def get_tracking_options(self, budget: Budget) -> list:
            options = [o for o in (budget.tracking_option, budget.tracking_option_2) if o]
            return BudgetTrackingOutputSerializer(options, many=True).data

    @extend_schema(
        operation_id="budgets_list",
        summary="List an organisation's budgets with their lines",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
        tags=["budgets"],
    )
    def get(self, request, organisation_public_id):
        """Xero's budgets of the organisation: the overall budget and tracking budgets, each with
        its lines (accounts). The monthly figures are under each budget's balances."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        budgets = api_selectors.budget_list(
            firm=request.firm, organisation=organisation, **filters.validated_data
        )
        return self.paginated_response(budgets, self.OutputSerializer)


class BudgetBalanceListApi(FirmAPIView):
    etag = True

    class FilterSerializer(_PeriodFilterSerializer):
        pass

    class OutputSerializer(serializers.Serializer):
        account_id = serializers.CharField(source="xero_account_id", help_text="AccountID.")
        account_code = serializers.CharField()
        period = PeriodField()
        amount = Money()
        notes = serializers.CharField()

        class Meta:
            ref_name = "BudgetBalance"

    @extend_schema(
        operation_id="budget_balances_list",
        summary="List a budget's monthly figures",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
        tags=["budgets"],
    )
    def get(self, request, organisation_public_id, budget_id):
        """One row per account and month of the budget, as synced from Xero."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        budget = api_selectors.api_budget_get(
            firm=request.firm, organisation=organisation, budget_id=budget_id
        )
        balances = api_selectors.budget_balance_list(
            firm=request.firm, budget=budget, **_filters(self.FilterSerializer, request)
        )
        return self.paginated_response(balances, self.OutputSerializer)


# --- Actuals ----------------------------------------------------------------------------------


class ActualBalanceListApi(FirmAPIView):
    etag = True

    class FilterSerializer(_PeriodFilterSerializer):
        tracking_option = serializers.RegexField(
            XERO_REF_PATTERN,
            required=False,
            help_text=(
                "A TrackingOptionID for that option's actuals, or `none` for the overall "
                "(untracked) figures. Leave out for both."
            ),
            error_messages={"invalid": "Give Xero's TrackingOptionID, or none."},
        )

    class OutputSerializer(serializers.Serializer):
        account_id = serializers.CharField(source="xero_account_id", help_text="AccountID.")
        account_code = serializers.CharField()
        tracking_option_id = serializers.CharField(
            source="xero_tracking_option_id",
            allow_null=True,
            help_text="Xero's TrackingOptionID; null for the overall figure.",
        )
        period = PeriodField()
        amount = Money(help_text="As Xero's Profit and Loss shows it: revenue and costs positive.")

        class Meta:
            ref_name = "ActualBalance"

        def get_fields(self):
            return _with_class_field(super().get_fields(), AccountClassField())

    @extend_schema(
        operation_id="actuals_list",
        summary="List an organisation's monthly actuals",
        parameters=[FilterSerializer],
        responses=OutputSerializer(many=True),
        tags=["actuals"],
    )
    def get(self, request, organisation_public_id):
        """Monthly P&L actuals per account: overall, and per tracking option."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        actuals = api_selectors.actual_balance_list(
            firm=request.firm,
            organisation=organisation,
            **_filters(self.FilterSerializer, request),
        )
        return self.paginated_response(actuals, self.OutputSerializer)


# --- Sync runs --------------------------------------------------------------------------------


class NewestFirstPagination(FirmCursorPagination):
    ordering = "-id"


class SyncRunFailedScopeSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text='"actuals", "actuals:<TrackingCategoryID>", '
        '"budget:<BudgetID>", "budgets" or "transactions".'
    )
    name = serializers.CharField(help_text='What failed, e.g. "Region actuals".')
    error = serializers.CharField(help_text="Why.")

    class Meta:
        ref_name = "SyncRunFailedScope"


class SyncRunOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=SyncRun.Kind.choices)
    state = serializers.ChoiceField(choices=SyncRun.State.choices)
    trigger = serializers.ChoiceField(choices=SyncRun.Trigger.choices)
    progress = serializers.IntegerField(help_text="Percent done.")
    step = serializers.CharField(help_text="What the run is doing, or did last.")
    counts = serializers.SerializerMethodField(help_text="Rows changed, by kind.")
    closed_up_to = serializers.SerializerMethodField(
        help_text="Xero's period lock date seen by the run, when it closed a month."
    )
    calls_used = serializers.IntegerField(help_text="Xero API calls the run made.")
    calls_planned = serializers.IntegerField(
        help_text="The fewest calls Xero's documented rules allow for what the run fetched."
    )
    error = serializers.CharField(
        help_text="Why the run failed, or which parts of a succeeded run failed and why; "
        "notes on how Xero's reports were read. Empty otherwise."
    )
    failed_scopes = SyncRunFailedScopeSerializer(
        many=True,
        help_text="Parts of the run that failed while the rest was saved (a budget, the "
        "organisation's actuals, a tracking category's actuals, the transactions). Their "
        "previous data is unchanged; the next run fetches them again.",
    )
    reconciled = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the synced actuals match Xero's own P&L to the cent; null until checked.",
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        ref_name = "SyncRun"

    # A run's counts are free-form JSON written by the sync: numbers, and a few facts besides.
    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_counts(self, run: SyncRun) -> dict:
        return {
            name: value
            for name, value in (run.counts or {}).items()
            if isinstance(value, int) and not isinstance(value, bool)
        }

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_closed_up_to(self, run: SyncRun) -> str | None:
        return (run.counts or {}).get("closed_up_to")


class SyncBlocked(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "not_connected"


# Why an organisation cannot sync, as a stable error code.
_BLOCKED_CODES = {
    selectors.NOT_CONNECTED: "not_connected",
    XeroConnection.Status.NEEDS_REAUTH: "needs_reauthorisation",
    XeroConnection.Status.REVOKED: "xero_revoked",
}


class SyncRunApi(FirmAPIView):
    """Sync runs of an organisation: GET lists them, POST starts one (one class for the one URL;
    each method has its own serializers and its own action)."""

    firm_actions = {"GET": Action.VIEW, "POST": Action.SYNC}
    etag = True
    pagination_class = NewestFirstPagination

    class StartInputSerializer(serializers.Serializer):
        full = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Re-read everything from Xero instead of only what changed.",
        )

        class Meta:
            ref_name = "SyncRunStart"

    @extend_schema(
        operation_id="sync_runs_list",
        summary="List an organisation's sync runs, newest first",
        responses=SyncRunOutputSerializer(many=True),
        tags=["sync runs"],
    )
    def get(self, request, organisation_public_id):
        """Each sync from Xero: state, progress, what changed, calls used and reconciliation."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        runs = api_selectors.sync_run_list(firm=request.firm, organisation=organisation)
        return self.paginated_response(runs, SyncRunOutputSerializer)

    @extend_schema(
        operation_id="sync_runs_create",
        summary="Start a sync from Xero",
        request=StartInputSerializer,
        responses={
            202: SyncRunOutputSerializer,
            409: OpenApiResponse(
                ErrorSerializer,
                description="The organisation is not linked to Xero, or its connection needs "
                "re-authorisation (code not_connected, needs_reauthorisation, xero_revoked, archived).",
            ),
        },
        tags=["sync runs"],
    )
    def post(self, request, organisation_public_id):
        """Queues a sync and answers at once with the run; poll the list for its progress. If a
        sync is already queued or running, that run is returned instead of starting another.
        Needs a key with the write scope."""
        organisation = api_selectors.api_organisation_get(
            firm=request.firm, public_id=organisation_public_id
        )
        data = self.StartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if organisation.archived_at is not None:
            raise SyncBlocked(
                f"{organisation.name} is archived. Restore it in the screens to sync it again.",
                code="archived",
            )
        sync_status = selectors.organisation_sync_status(
            firm=request.firm, organisation=organisation
        )
        blocker = selectors.organisation_sync_blocker(status=sync_status)
        if blocker:
            raise SyncBlocked(blocker, code=_BLOCKED_CODES[sync_status.xero_state])
        run = organisation_sync_start(
            firm=request.firm,
            organisation=organisation,
            trigger=SyncRun.Trigger.MANUAL,
            kind=SyncRun.Kind.FULL if data.validated_data["full"] else None,
        )
        return Response(SyncRunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)
