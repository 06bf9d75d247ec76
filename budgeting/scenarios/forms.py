"""The scenario forms: a new scenario (its base and months), a sentence, and one adjustment typed
field by field with its accounts found by name or code."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django import forms

from budgeting.drafts.models import Draft
from budgeting.ledger.models import Budget
from budgeting.scenarios.maths import (
    GROUP_LABELS,
    Adjustment,
    Change,
    ChartAccount,
    Group,
    Per,
    Target,
)
from budgeting.scenarios.models import Scenario
from budgeting.scenarios.selectors import TrackingName
from core.months import month_key, parse_month

CHANGES = [
    (Change.PERCENT.value, "By a percent"),
    (Change.AMOUNT.value, "By an amount"),
    (Change.SET_TO.value, "Set to"),
]
PERS = [(Per.MONTH.value, "each month"), (Per.TOTAL.value, "in total over the months")]
XERO_CLASSES = [("", "Any class"), ("REVENUE", "Revenue"), ("EXPENSE", "Expense")]
XERO_TYPES = [("", "Any type")] + [
    (t, t) for t in ("REVENUE", "SALES", "OTHERINCOME", "DIRECTCOSTS", "EXPENSE", "OVERHEADS",
                     "DEPRECIATN")
]  # fmt: skip


class MonthField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        month = parse_month(text)
        if month is None:
            raise forms.ValidationError("Give a month as YYYY-MM, e.g. 2027-03.")
        return month


class ScenarioCreateForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    base = forms.ChoiceField(label="Starts from")
    first_month = MonthField(label="First month", help_text="YYYY-MM")
    months = forms.IntegerField(min_value=1, max_value=36, initial=12, label="Months")

    def __init__(self, *args, budgets: list[Budget], drafts: list[Draft], first: dt.date, **kw):
        kw.setdefault("initial", {"first_month": month_key(first), "months": 12})
        super().__init__(*args, **kw)
        self.budgets = {str(b.pk): b for b in budgets}
        self.drafts = {str(d.pk): d for d in drafts}
        self.fields["base"].choices = (
            [(f"budget:{b.pk}", f"Budget: {b}") for b in budgets]
            + [(f"draft:{d.pk}", f"Draft from {d.first_period:%b %Y} ({d.get_status_display()})")
               for d in drafts]
            + [("forecast", "The latest forecast")]
        )  # fmt: skip

    def base_values(self) -> dict:
        kind, _, pk = self.cleaned_data["base"].partition(":")
        if kind == "budget":
            return {"base": Scenario.Base.BUDGET, "base_budget": self.budgets.get(pk)}
        if kind == "draft":
            return {"base": Scenario.Base.DRAFT, "base_draft": self.drafts.get(pk)}
        return {"base": Scenario.Base.FORECAST}


class SentenceForm(forms.Form):
    sentence = forms.CharField(
        max_length=1000,
        label="Say what changes",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: increase sales by 15% but COGS rises 5% from March.",
    )


def accounts_find(text: str, chart: list[ChartAccount]) -> tuple[set[int], list[str]]:
    """Accounts named in `text`, separated by commas or semicolons: by code ("469"), by name in
    any case ("rent"), or as the search offers them ("469 Rent"). Returns the keys found and the
    parts that named none."""
    found: set[int] = set()
    missing: list[str] = []
    by_code = {a.code.lower(): a for a in chart if a.code}
    for part in re.split(r"[;,\n]", text or ""):
        words = part.strip().lower()
        if not words:
            continue
        first = words.split()[0]
        matches = [a for a in chart if a.label.lower() == words or a.name.lower() == words]
        if not matches and first in by_code:
            matches = [by_code[first]]
        if not matches:
            matches = [a for a in chart if words in a.name.lower()]
        if matches:
            found |= {a.key for a in matches}
        else:
            missing.append(part.strip())
    return found, missing


class AdjustmentForm(forms.Form):
    accounts = forms.CharField(
        required=False,
        label="Accounts",
        help_text="Search by name or code; separate several with commas.",
        widget=forms.TextInput(attrs={"list": "scenario-accounts", "autocomplete": "off"}),
    )
    group = forms.ChoiceField(
        required=False,
        label="Or a group",
        choices=[("", "No group")] + [(g.value, GROUP_LABELS[g]) for g in Group],
    )
    account_class = forms.ChoiceField(required=False, choices=XERO_CLASSES, label="Xero class")
    account_type = forms.ChoiceField(required=False, choices=XERO_TYPES, label="Xero type")
    tracking_option = forms.ChoiceField(required=False, label="Tracking option")
    change = forms.ChoiceField(choices=CHANGES, label="Change")
    value = forms.DecimalField(
        max_digits=16, decimal_places=2, label="Percent or amount", help_text="A cut is negative."
    )
    per = forms.ChoiceField(choices=PERS, required=False, label="An amount applies")
    first = MonthField(required=False, label="From")
    last = MonthField(required=False, label="Until")
    cost_follows = forms.BooleanField(
        required=False, label="Cost of sales follows revenue at its gross margin"
    )

    def __init__(
        self,
        *args,
        chart: list[ChartAccount],
        options: list[TrackingName],
        months: list[dt.date],
        **kw,
    ):
        super().__init__(*args, **kw)
        self.chart, self.months = chart, months
        self.fields["tracking_option"].choices = [("", "Overall")] + [
            (str(o.key), f"{o.category}: {o.name}") for o in options
        ]

    def clean(self):
        data = super().clean()
        keys, missing = accounts_find(data.get("accounts", ""), self.chart)
        if missing:
            self.add_error(
                "accounts", f"No account is called {', '.join(missing)}: search by name or code."
            )
        if not (keys or data.get("group") or data.get("account_class") or data.get("account_type")):
            self.add_error("accounts", "Choose accounts, a group, or a Xero class or type.")
        data["account_keys"] = frozenset(keys)
        return data

    def adjustment(self) -> Adjustment:
        data = self.cleaned_data
        option = data.get("tracking_option")
        change = Change(data["change"])
        return Adjustment(
            target=Target(
                account_keys=data["account_keys"],
                group=Group(data["group"]) if data.get("group") else None,
                account_class=data.get("account_class") or "",
                account_type=data.get("account_type") or "",
                tracking_option=int(option) if option else None,
            ),
            change=change,
            value=Decimal(data["value"]),
            first=data.get("first") or self.months[0],
            last=data.get("last") or self.months[-1],
            per=Per(data["per"]) if change != Change.PERCENT and data.get("per") else None,
            cost_follows=bool(data.get("cost_follows")),
        )
