from django import forms

from tenants.models import ApiKey, Membership
from tenants.roles import Role


class FirmCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Firm name")


class FirmSettingsForm(forms.Form):
    name = forms.CharField(max_length=200, label="Firm name")
    require_mfa = forms.BooleanField(
        required=False,
        label="Require two-factor authentication for owners, admins and approvers",
    )


class InvitationForm(forms.Form):
    email = forms.EmailField(label="Email address")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.PREPARER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class ClientOrganisationForm(forms.Form):
    name = forms.CharField(max_length=200, label="Client name")
    base_currency = forms.CharField(max_length=3, initial="NZD", label="Base currency")

    def clean_base_currency(self) -> str:
        code = self.cleaned_data["base_currency"].strip().upper()
        if len(code) != 3 or not code.isalpha():
            raise forms.ValidationError("Use a three-letter ISO currency code, such as NZD.")
        return code


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="Who or what uses the key, e.g. “Practice dashboard”.",
    )
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        initial=[ApiKey.Scope.READ],
        widget=forms.CheckboxSelectMultiple,
        help_text="Write and approve include read.",
    )
    member = forms.ModelChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        label="Acts for member",
        help_text="Optional for read and write keys: the key can then do only what this "
        "member's role allows. An approve key always acts for you, its creator: approvals "
        "through it count as yours.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires on",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for a key that lasts until revoked.",
    )

    def __init__(self, *args, members=None, approve_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if members is not None:
            self.fields["member"].queryset = members
        self.fields["member"].label_from_instance = lambda m: (
            f"{m.user.email} ({m.get_role_display()})"
        )
        if approve_only:
            # Approvers make approve keys for themselves only: nothing else to choose.
            self.fields["scopes"].choices = [(ApiKey.Scope.APPROVE, ApiKey.Scope.APPROVE.label)]
            self.fields["scopes"].initial = [ApiKey.Scope.APPROVE]
            self.fields["scopes"].help_text = (
                "An approve key approves as you and reads what it approves. Owners and admins "
                "make read and write keys."
            )
            del self.fields["member"]
