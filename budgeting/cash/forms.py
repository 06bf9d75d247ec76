"""The cash threshold form: it checks the shape of the amount; the rules are the service's."""

from __future__ import annotations

from django import forms

from budgeting.cash.services import THRESHOLD_MAX


class CashThresholdForm(forms.Form):
    threshold = forms.DecimalField(
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=-THRESHOLD_MAX,
        max_value=THRESHOLD_MAX,
        label="Warn when closing cash would fall below",
        help_text="In the organisation's base currency. Leave it empty for no threshold.",
    )
