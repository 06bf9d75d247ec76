"""Forms of drafts by department: assigning a department, a manager's edit of one month of one
of their lines, and the explanation of a gap."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from budgeting.drafts import guardrails as policy_rules
from budgeting.drafts.models import DraftLine
from budgeting.ledger.models import TrackingOption
from tenants.models import Membership


class DepartmentAssignForm(forms.Form):
    option = forms.ChoiceField(label="Department (tracking option)")
    member = forms.ChoiceField(label="A member of the firm", required=False)
    email = forms.EmailField(
        label="Or someone outside the firm, by email",
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    name = forms.CharField(label="Their name (optional)", max_length=150, required=False)

    def __init__(self, *args, options: list[TrackingOption], members: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {str(o.pk): o for o in options}
        self.members = {str(m.user_id): m.user for m in members}
        self.fields["option"].choices = [
            (key, f"{o.name} ({o.category.name})") for key, o in self.options.items()
        ]
        self.fields["member"].choices = [("", "Nobody: use the email below")] + [
            (key, f"{u.display_name} <{u.email}>") for key, u in self.members.items()
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if "\x00" in name:
            raise forms.ValidationError("The name cannot hold NUL characters.")
        return name.strip()

    def clean(self):
        data = super().clean()
        if not data.get("member") and not data.get("email") and not self.errors:
            raise forms.ValidationError("Choose a member, or give the manager's email address.")
        if data.get("member") and data.get("email"):
            raise forms.ValidationError("Choose a member or give an email address, not both.")
        return data

    def chosen_option(self) -> TrackingOption:
        return self.options[self.cleaned_data["option"]]

    def manager_user(self):
        return self.members.get(self.cleaned_data.get("member") or "")


class DepartmentLineEditForm(forms.Form):
    line = forms.ChoiceField(label="Line")
    period = forms.ChoiceField(label="Month")
    amount = forms.DecimalField(
        label="New figure", widget=forms.NumberInput(attrs={"step": "0.01"})
    )
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Required: the firm, the approvers and the audit log see it.",
        error_messages={"required": "Say why you changed the figure: a reason is required."},
    )

    def __init__(self, *args, lines: list[DraftLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {str(line.pk): line for line in lines}
        self.fields["line"].choices = [
            (key, f"{line.account.code} {line.account.name}".strip())
            for key, line in self.lines.items()
        ]
        periods = sorted({b.period for line in lines for b in line.balances.all()})
        self.periods = {f"{p:%Y-%m}": p for p in periods}
        self.fields["period"].choices = [(key, f"{p:%B %Y}") for key, p in self.periods.items()]

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        problem = policy_rules.figure_problem(amount)
        if problem:
            raise forms.ValidationError(problem, code="figure_size")
        return amount

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason or "\x00" in reason:
            raise forms.ValidationError("Say why you changed the figure, in plain text.")
        return reason

    def chosen_line(self) -> DraftLine:
        return self.lines[self.cleaned_data["line"]]

    def chosen_period(self):
        return self.periods[self.cleaned_data["period"]]


class GapExplainForm(forms.Form):
    reason = forms.CharField(
        label="Why the departments do not add up",
        max_length=1000,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Leave empty to take an explanation back.",
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"]
        if "\x00" in reason:
            raise forms.ValidationError("The explanation cannot hold NUL characters.")
        return reason.strip()
