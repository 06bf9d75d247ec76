"""The form that drafts next year's budget: the financial year (the next one by default) and
the departure threshold that flags a line far from last year's actuals."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from budgeting.annual import maths
from budgeting.annual.selectors import FinancialYear


class AnnualDraftForm(forms.Form):
    financial_year = forms.TypedChoiceField(label="Financial year", coerce=int)
    departure_percent = forms.DecimalField(
        label="Flag lines further from last year's actuals than (%)",
        min_value=Decimal(1),
        max_value=Decimal(1000),
        max_digits=6,
        decimal_places=1,
        initial=Decimal(str(maths.DEFAULT_DEPARTURE_PERCENT)),
        help_text="The draft's year against the last twelve months' actuals, line by line.",
    )

    def __init__(self, *args, years: list[FinancialYear], **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["financial_year"]
        field.choices = [(y.year, y.words) for y in years]
        if years:
            field.initial = years[0].year
