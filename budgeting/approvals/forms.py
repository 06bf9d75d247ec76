"""Forms of the approval chain screen: the ordered steps, and external approvers."""

from __future__ import annotations

from django import forms

from budgeting.approvals.models import ApprovalChain
from tenants.roles import Action, Role, role_allows

APPROVING_ROLES = [(r.value, r.label) for r in Role if role_allows(r.value, Action.APPROVE)]


class ApprovalStepForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, label="Step name")
    roles = forms.MultipleChoiceField(
        choices=APPROVING_ROLES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Anyone with the role",
    )
    member_ids = forms.TypedMultipleChoiceField(
        required=False, coerce=int, label="Or these members", widget=forms.CheckboxSelectMultiple
    )
    external_approver_ids = forms.TypedMultipleChoiceField(
        required=False,
        coerce=int,
        label="Or these external approvers",
        widget=forms.CheckboxSelectMultiple,
    )
    condition = forms.ChoiceField(choices=ApprovalChain.Condition.choices, label="When")
    change_above = forms.DecimalField(
        required=False, max_digits=16, decimal_places=2, min_value=0, label="Change above"
    )

    def __init__(self, *args, members=(), externals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member_ids"].choices = [(m.user_id, str(m.user)) for m in members]
        self.fields["external_approver_ids"].choices = [(e.pk, str(e)) for e in externals]

    def step(self) -> dict | None:
        """The step for the service, or None for a row left blank."""
        data = self.cleaned_data
        if not data.get("name"):
            return None
        return {
            "name": data["name"],
            "roles": data["roles"],
            "member_ids": data["member_ids"],
            "external_approver_ids": data["external_approver_ids"],
            "condition": data["condition"],
            "change_above": data["change_above"],
        }


ApprovalStepFormSet = forms.formset_factory(ApprovalStepForm, extra=1, max_num=10)


class ExternalApproverForm(forms.Form):
    email = forms.EmailField(label="Email")
    name = forms.CharField(max_length=150, required=False, label="Name")
