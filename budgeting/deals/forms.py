"""The upload form of a client's sales pipeline: the CRM export, the month it describes and the
revenue account of deals whose row names none. Each row is checked by the import service."""

from __future__ import annotations

import datetime as dt

from django import forms

from budgeting.deals.services import MAX_BYTES
from budgeting.ledger.models import Account
from core.months import month_key, parse_month


class SalesPipelineUploadForm(forms.Form):
    file = forms.FileField(
        label="CRM export (CSV)",
        help_text="Columns: deal, amount, stage or probability, close_month; optional "
        "tracking_option and account. UTF-8, up to 1 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    as_of = forms.CharField(
        label="Pipeline as of (month)",
        max_length=10,
        help_text="YYYY-MM: this month, or an earlier month for an older export.",
    )
    default_account = forms.ChoiceField(
        label="Revenue account of deals with no account",
    )

    def __init__(
        self, *args, accounts: list[Account], default: Account | None, as_of: dt.date, **kw
    ):
        kw.setdefault(
            "initial",
            {"as_of": month_key(as_of), "default_account": str(default.pk) if default else ""},
        )
        super().__init__(*args, **kw)
        self.accounts = {str(a.pk): a for a in accounts}
        self.fields["default_account"].choices = [(k, str(a)) for k, a in self.accounts.items()]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size // 1024} KB; upload one of at most {MAX_BYTES // 1024} KB."
            )
        return upload

    def clean_as_of(self):
        month = parse_month(self.cleaned_data["as_of"])
        if month is None:
            raise forms.ValidationError("Give a month as YYYY-MM, e.g. 2026-11.")
        return month

    def clean_default_account(self):
        return self.accounts[self.cleaned_data["default_account"]]
