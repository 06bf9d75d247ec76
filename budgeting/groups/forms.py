"""The group screens' forms: what a person types, checked for shape. Whether it makes sense
(members of the firm, one financial year, accounts of the members) is the services' to say."""

from __future__ import annotations

from django import forms

from budgeting.groups.models import GroupTranslationRate
from budgeting.groups.services import MAX_MEMBERS
from budgeting.variance.maths import ACCOUNT_CLASS_BY_TYPE

MAX_RATES_FILE = 512 * 1024


class GroupForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)
    reporting_currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$",
        max_length=3,
        error_messages={"invalid": "Give a three-letter currency code, such as NZD."},
        help_text="The currency the group reports in, e.g. NZD.",
    )
    members = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text="Two or more organisations whose financial years end in the same month.",
    )
    parent = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, organisations=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(o.pk, o.name) for o in organisations]
        self.fields["members"].choices = choices
        self.fields["parent"].choices = [("", "None named"), *choices]

    def clean_reporting_currency(self) -> str:
        return self.cleaned_data["reporting_currency"].upper()

    def clean_members(self) -> list[int]:
        members = self.cleaned_data["members"]
        if len(members) > MAX_MEMBERS:
            raise forms.ValidationError(f"A group has at most {MAX_MEMBERS} members.")
        return members


class RateForm(forms.Form):
    currency = forms.ChoiceField()
    month = forms.RegexField(
        regex=r"^\d{4}-\d{2}$",
        max_length=7,
        error_messages={"invalid": "Give a month as YYYY-MM, e.g. 2026-10."},
    )
    basis = forms.ChoiceField(choices=GroupTranslationRate.Basis.choices)
    rate = forms.DecimalField(
        max_digits=18,
        decimal_places=8,
        min_value=0,
        help_text="Units of the member's currency to one unit of the group's.",
    )

    def __init__(self, *args, currencies=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, c) for c in sorted(currencies)]


class RatesFileForm(forms.Form):
    file = forms.FileField(help_text="CSV with the columns currency, month, basis, rate.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RATES_FILE:
            raise forms.ValidationError("The file is larger than 512 KB: split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                "The file is not UTF-8 text: save it as CSV UTF-8."
            ) from exc


class MappingForm(forms.Form):
    name = forms.CharField(max_length=120, strip=True)
    income_account = forms.TypedChoiceField(coerce=int)
    expense_account = forms.TypedChoiceField(coerce=int)

    def __init__(self, *args, accounts=(), **kwargs):
        super().__init__(*args, **kwargs)

        def label(a):
            code = f"{a.code} " if a.code else ""
            return f"{a.organisation.name}: {code}{a.name}"

        self.fields["income_account"].choices = [
            (a.pk, label(a)) for a in accounts if _class(a) == "REVENUE"
        ]
        self.fields["expense_account"].choices = [
            (a.pk, label(a)) for a in accounts if _class(a) == "EXPENSE"
        ]


def _class(account) -> str:
    return account.account_class or ACCOUNT_CLASS_BY_TYPE.get(account.type, "")
