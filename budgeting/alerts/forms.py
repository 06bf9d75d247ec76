"""The alert rule form. The rules themselves are checked by
budgeting.alerts.services.alert_rule_save (the API's too); this form only turns fields into its
arguments, and puts the service's refusals back on the fields they concern."""

from django import forms

from budgeting.alerts.models import AlertRule
from budgeting.alerts.services import AlertRuleInvalid
from budgeting.ledger.drivers import PROFIT_AND_LOSS_CLASSES
from budgeting.ledger.models import Account, TrackingOption
from tenants.models import ClientOrganisation, Firm, User


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=150)
    threshold = forms.ChoiceField(choices=AlertRule.Threshold.choices)
    accounts = forms.ModelMultipleChoiceField(
        queryset=Account.objects.none(),
        required=False,
        help_text="None chosen: every account of the class below (or every P&L account).",
    )
    account_class = forms.ChoiceField(
        choices=[("", "Any"), ("REVENUE", "Revenue"), ("EXPENSE", "Expense")], required=False
    )
    tracking_option = forms.ModelChoiceField(
        queryset=TrackingOption.objects.none(),
        required=False,
        empty_label="The whole organisation",
    )
    limit = forms.DecimalField(
        required=False,
        max_digits=16,
        decimal_places=2,
        help_text="For a fixed limit: the month's most, in the organisation's currency.",
    )
    budget_owners = forms.BooleanField(
        required=False, label="The organisation's budget owners (its external approvers)"
    )
    members = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False)
    emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Other email addresses, one a line or separated by commas.",
    )
    slack_channel = forms.CharField(required=False, max_length=81, help_text="e.g. #finance-alerts")
    quiet_from = forms.TimeField(
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="Quiet hours, in the organisation's time zone: alerts wait until they end.",
    )
    quiet_until = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    active = forms.BooleanField(required=False, initial=True)

    # Service field -> form field, for its errors.
    FIELDS = {"account_ids": "accounts", "recipients": None}

    def __init__(self, *args, firm: Firm, organisation: ClientOrganisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = (
            Account.objects.for_firm(firm)
            .filter(organisation=organisation, account_class__in=PROFIT_AND_LOSS_CLASSES)
            .order_by("code", "name")
        )
        self.fields["tracking_option"].queryset = TrackingOption.objects.for_firm(firm).filter(
            organisation=organisation
        )
        self.fields["members"].queryset = User.objects.filter(memberships__firm=firm).order_by(
            "email"
        )

    @classmethod
    def initial_of(cls, rule: AlertRule) -> dict:
        kinds = {r["kind"] for r in rule.recipients}
        return {
            "name": rule.name,
            "threshold": rule.threshold,
            "accounts": rule.account_ids,
            "account_class": rule.account_class,
            "tracking_option": rule.tracking_option_id,
            "limit": rule.limit,
            "budget_owners": AlertRule.RecipientKind.BUDGET_OWNERS in kinds,
            "members": [r["user_id"] for r in rule.recipients if r["kind"] == "member"],
            "emails": "\n".join(r["email"] for r in rule.recipients if r["kind"] == "email"),
            "slack_channel": next(
                (r["channel"] for r in rule.recipients if r["kind"] == "slack_channel"), ""
            ),
            "quiet_from": rule.quiet_from,
            "quiet_until": rule.quiet_until,
            "active": rule.active,
        }

    def arguments(self) -> dict:
        data = self.cleaned_data
        recipients: list[dict] = []
        if data["budget_owners"]:
            recipients.append({"kind": "budget_owners"})
        recipients += [{"kind": "member", "user_id": u.pk} for u in data["members"]]
        emails = data["emails"].replace(",", "\n").split()
        recipients += [{"kind": "email", "email": e} for e in emails]
        if data["slack_channel"].strip():
            recipients.append({"kind": "slack_channel", "channel": data["slack_channel"].strip()})
        return {
            "name": data["name"],
            "threshold": data["threshold"],
            "account_ids": [a.pk for a in data["accounts"]],
            "account_class": data["account_class"],
            "tracking_option": data["tracking_option"],
            "limit": data["limit"],
            "recipients": recipients,
            "quiet_from": data["quiet_from"],
            "quiet_until": data["quiet_until"],
            "active": data["active"],
        }

    def add_service_errors(self, error: AlertRuleInvalid) -> None:
        for name, messages in error.errors.items():
            field = self.FIELDS.get(name, name)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
