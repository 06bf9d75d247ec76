from django import forms

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
