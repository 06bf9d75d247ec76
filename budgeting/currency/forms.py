"""The budget-rates page's forms: one rate typed in, a CSV file of rates, and an average of a
past period of the organisation's documents."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from budgeting.currency.maths import RATE_MAX
from core.months import parse_month

MAX_FILE_BYTES = 256 * 1024


def _month(value: str, *, label: str, required: bool):
    value = (value or "").strip()
    if not value:
        if required:
            raise forms.ValidationError(f"Give the {label} month, like 2026-07.")
        return None
    month = parse_month(value)
    if month is None:
        raise forms.ValidationError(f"{value!r} is not a month like 2026-07.")
    return month


class BudgetRateForm(forms.Form):
    currency = forms.ChoiceField(label="Currency")
    month = forms.CharField(
        label="Month (YYYY-MM; leave empty for every month)", required=False, max_length=10
    )
    rate = forms.DecimalField(
        label="Units of the currency per one unit of base currency, as Xero shows rates",
        min_value=Decimal("0.000001"),
        max_value=RATE_MAX,
        max_digits=18,
        decimal_places=6,
    )

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, prefix="entered", **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]

    def clean_month(self):
        return _month(self.cleaned_data.get("month"), label="", required=False)


class BudgetRatesFileForm(forms.Form):
    file = forms.FileField(
        label="CSV file with the columns currency, month (YYYY-MM, or empty) and rate"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="file", **kwargs)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError("The file is over 256 KB; budget rates fit in far less.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text (save it as CSV UTF-8)."
            ) from None


class AverageRateForm(forms.Form):
    currency = forms.ChoiceField(label="Currency")
    first = forms.CharField(label="From month (YYYY-MM)", max_length=10)
    last = forms.CharField(label="To month (YYYY-MM)", max_length=10)

    def __init__(self, *args, currencies: list[str], **kwargs):
        super().__init__(*args, prefix="average", **kwargs)
        self.fields["currency"].choices = [(c, c) for c in currencies]

    def clean_first(self):
        return _month(self.cleaned_data.get("first"), label="first", required=True)

    def clean_last(self):
        return _month(self.cleaned_data.get("last"), label="last", required=True)

    def clean(self):
        data = super().clean()
        if data.get("first") and data.get("last") and data["last"] < data["first"]:
            self.add_error("last", "The period ends before it starts.")
        return data
