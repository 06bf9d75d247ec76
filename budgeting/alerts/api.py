"""The partner API of alerts: an organisation's rules (list, create), its alerts with what was
sent to whom, acknowledging and snoozing one. The rules are checked by
budgeting.alerts.services.alert_rule_save, as the form's are: a bad rule is a 400 naming each
field. Routes are in config/api_urls.py."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from budgeting.alerts import selectors, services
from budgeting.alerts.models import Alert, AlertRule
from budgeting.drafts.api import _organisation
from budgeting.ledger.api import NewestFirstPagination
from budgeting.ledger.models import TrackingOption
from tenants.api.base import FirmAPIView, api_actor
from tenants.roles import Action
from tenants.scoping import get_firm_object_or_404


class RecipientSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertRule.RecipientKind.choices)
    user_id = serializers.IntegerField(required=False, help_text="For kind member.")
    email = serializers.CharField(required=False, max_length=254, help_text="For kind email.")
    channel = serializers.CharField(
        required=False, max_length=81, help_text='For kind slack_channel: "#finance".'
    )

    class Meta:
        ref_name = "AlertRecipient"


class AlertRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=150)
    threshold = serializers.ChoiceField(choices=AlertRule.Threshold.choices)
    account_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2_147_483_647),
        required=False,
        default=list,
        max_length=1000,
        help_text="Account ids (the accounts endpoint's); empty: every account of account_class.",
    )
    account_class = serializers.ChoiceField(
        choices=[("", "any"), ("REVENUE", "REVENUE"), ("EXPENSE", "EXPENSE")],
        required=False,
        default="",
    )
    tracking_option_id = serializers.CharField(
        source="tracking_option.option_id",
        required=False,
        allow_null=True,
        default=None,
        max_length=64,
        help_text="Xero's TrackingOptionID, or null for the whole organisation.",
    )
    limit = serializers.DecimalField(
        max_digits=16, decimal_places=2, required=False, allow_null=True, default=None
    )
    recipients = RecipientSerializer(many=True)
    quiet_from = serializers.TimeField(required=False, allow_null=True, default=None)
    quiet_until = serializers.TimeField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        ref_name = "AlertRule"


class DeliverySerializer(serializers.Serializer):
    channel = serializers.CharField()
    recipient = serializers.CharField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    due_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(
        help_text="What became of it, in words; for Slack, the state of the message in the "
        "firm's Slack outbox once handed over (posting, posted, failed)."
    )
    outcome_error = serializers.CharField(
        help_text="Why the last attempt failed (Slack's reason for a Slack message); empty when "
        "nothing failed."
    )

    class Meta:
        ref_name = "AlertDelivery"


class AlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    rule_id = serializers.IntegerField()
    account_id = serializers.IntegerField()
    account = serializers.CharField()
    tracking_option = serializers.CharField(allow_null=True)
    period = serializers.DateField()
    severity = serializers.CharField(source="get_severity_display")
    threshold = serializers.CharField()
    day = serializers.IntegerField()
    actual = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text="Month to date; provisional."
    )
    expected = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    edge = serializers.DecimalField(max_digits=16, decimal_places=2)
    by = serializers.DecimalField(max_digits=16, decimal_places=2)
    projected = serializers.DecimalField(max_digits=16, decimal_places=2)
    budget = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    drivers = serializers.ListField(child=serializers.DictField())
    summary = serializers.CharField()
    state = serializers.CharField()
    raised_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    snoozed_until = serializers.DateTimeField(allow_null=True)
    deliveries = DeliverySerializer(many=True, source="deliveries.all")

    class Meta:
        ref_name = "Alert"


class AlertRuleListApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "POST": Action.MANAGE_POLICIES}
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="alert_rules_list",
        summary="An organisation's alert rules",
        responses=AlertRuleSerializer(many=True),
        tags=["alerts"],
    )
    def get(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        rules = selectors.alert_rules_list(firm=request.firm, organisation=organisation)
        return self.paginated_response(rules.select_related("tracking_option"), AlertRuleSerializer)

    @extend_schema(
        operation_id="alert_rules_create",
        summary="Add an alert rule",
        request=AlertRuleSerializer,
        responses={201: AlertRuleSerializer},
        tags=["alerts"],
    )
    def post(self, request, organisation_public_id):
        """A rule with an unknown account, an impossible limit, no recipient or half a quiet
        window is a 400 whose `fields` say what to change."""
        organisation = _organisation(request, organisation_public_id)
        data = AlertRuleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        option_id = (values.pop("tracking_option", None) or {}).get("option_id")
        option = None
        if option_id:
            option = (
                TrackingOption.objects.for_firm(request.firm)
                .filter(organisation=organisation, option_id__iexact=option_id)
                .first()
            )
            if option is None:
                raise exceptions.ValidationError(
                    {"tracking_option_id": ["No such tracking option in this organisation."]}
                )
        recipients = [
            {k: v for k, v in dict(r).items() if v is not None} for r in values.pop("recipients")
        ]
        try:
            rule = services.alert_rule_save(
                firm=request.firm,
                organisation=organisation,
                tracking_option=option,
                recipients=recipients,
                user=api_actor(request),
                **values,
            )
        except services.AlertRuleInvalid as error:
            raise exceptions.ValidationError(error.errors) from error
        return Response(AlertRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


class AlertRuleDetailApi(FirmAPIView):
    firm_actions = {"GET": Action.VIEW, "DELETE": Action.MANAGE_POLICIES}

    def _rule(self, request, organisation_public_id, rule_id) -> AlertRule:
        organisation = _organisation(request, organisation_public_id)
        return get_firm_object_or_404(
            AlertRule,
            firm=request.firm,
            organisation=organisation,
            pk=rule_id,
            deleted_at=None,
        )

    @extend_schema(
        operation_id="alert_rules_retrieve",
        summary="One alert rule",
        responses=AlertRuleSerializer,
        tags=["alerts"],
    )
    def get(self, request, organisation_public_id, rule_id):
        return Response(
            AlertRuleSerializer(self._rule(request, organisation_public_id, rule_id)).data
        )

    @extend_schema(
        operation_id="alert_rules_delete",
        summary="Delete an alert rule",
        description="The rule raises nothing more and leaves the list; the alerts it raised stay "
        "in the alerts list with what was sent to whom, and its unsent deliveries are not sent.",
        request=None,
        responses={204: None},
        tags=["alerts"],
    )
    def delete(self, request, organisation_public_id, rule_id):
        services.alert_rule_delete(
            firm=request.firm,
            rule=self._rule(request, organisation_public_id, rule_id),
            user=api_actor(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertListApi(FirmAPIView):
    pagination_class = NewestFirstPagination

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=Alert.State.choices, required=False)

    @extend_schema(
        operation_id="alerts_list",
        summary="An organisation's alerts, with what was sent to whom",
        parameters=[FilterSerializer],
        responses=AlertSerializer(many=True),
        tags=["alerts"],
    )
    def get(self, request, organisation_public_id):
        organisation = _organisation(request, organisation_public_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        alerts = selectors.alerts_list(
            firm=request.firm,
            organisation=organisation,
            state=filters.validated_data.get("state", ""),
        )
        return self.paginated_response(alerts, AlertSerializer)


class AlertAcknowledgeApi(FirmAPIView):
    firm_actions = {"POST": Action.VIEW}

    @extend_schema(
        operation_id="alerts_acknowledge",
        summary="Acknowledge an alert",
        request=None,
        responses=AlertSerializer,
        tags=["alerts"],
    )
    def post(self, request, organisation_public_id, alert_id):
        organisation = _organisation(request, organisation_public_id)
        alert = get_firm_object_or_404(
            Alert, firm=request.firm, organisation=organisation, pk=alert_id
        )
        alert = services.alert_acknowledge(firm=request.firm, alert=alert, user=api_actor(request))
        return Response(AlertSerializer(alert).data)


class AlertSnoozeApi(FirmAPIView):
    firm_actions = {"POST": Action.VIEW}

    class InputSerializer(serializers.Serializer):
        until = serializers.DateTimeField(
            help_text="Hold this account's further alerts this month until then (31 days at most)."
        )

    @extend_schema(
        operation_id="alerts_snooze",
        summary="Snooze an alert",
        request=InputSerializer,
        responses=AlertSerializer,
        tags=["alerts"],
    )
    def post(self, request, organisation_public_id, alert_id):
        organisation = _organisation(request, organisation_public_id)
        alert = get_firm_object_or_404(
            Alert, firm=request.firm, organisation=organisation, pk=alert_id
        )
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            alert = services.alert_snooze(
                firm=request.firm,
                alert=alert,
                user=api_actor(request),
                until=data.validated_data["until"],
            )
        except services.SnoozeInvalid as error:
            raise exceptions.ValidationError({"until": [str(error)]}) from error
        return Response(AlertSerializer(alert).data)
