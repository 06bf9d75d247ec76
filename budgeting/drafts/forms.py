"""Forms of the forecast draft screens: the budget policy, and one month's edit of a line."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from budgeting.drafts import guardrails as policy_rules
from budgeting.drafts.models import BudgetPolicy, DraftBalance
from budgeting.ledger.models import Account, TrackingOption


class BudgetPolicyForm(forms.Form):
    scope = forms.ChoiceField(
        choices=BudgetPolicy.Scope.choices,
        widget=forms.RadioSelect,
        help_text="Roll out step by step: read-only analysis, then assisted drafting for chosen "
        "accounts, then all accounts.",
    )
    accounts = forms.MultipleChoiceField(
        required=False,
        label="Accounts in scope (assisted)",
        widget=forms.CheckboxSelectMultiple,
    )
    tracking_options = forms.MultipleChoiceField(
        required=False,
        label="Tracking options in scope (assisted)",
        widget=forms.CheckboxSelectMultiple,
        help_text="Every account of a chosen option is in scope.",
    )
    horizon = forms.IntegerField(
        min_value=1,
        max_value=policy_rules.MAX_DRAFT_HORIZON,
        label="Months ahead a draft covers",
    )
    max_change_percent = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=7,
        decimal_places=2,
        label="Largest change per month, percent of the original budget",
    )
    max_change_amount = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        label="Largest change per month, amount",
    )
    revenue_cap = forms.DecimalField(
        required=False, min_value=0, max_digits=16, decimal_places=2, label="Revenue cap per month"
    )
    expense_cap = forms.DecimalField(
        required=False, min_value=0, max_digits=16, decimal_places=2, label="Expense cap per month"
    )
    account_caps = forms.CharField(
        required=False,
        label="Caps per account",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One per line, the account code then the cap: "469 = 8000".',
    )
    capex_accounts = forms.MultipleChoiceField(
        required=False,
        label="Capital expenditure accounts (need the extra approval step)",
        widget=forms.CheckboxSelectMultiple,
    )
    extra_approval_above = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        label="A line's change over the draft above which the extra approval step is needed",
    )

    def __init__(
        self,
        *args,
        accounts: list[Account],
        options: list[TrackingOption],
        current: BudgetPolicy | None,
        **kwargs,
    ):
        self.account_list = accounts
        by_pk = {a.pk: a for a in accounts}
        if current is not None:
            kwargs.setdefault(
                "initial",
                {
                    "scope": current.scope,
                    "accounts": [str(i) for i in current.account_ids],
                    "tracking_options": [str(i) for i in current.tracking_option_ids],
                    "horizon": current.horizon,
                    "max_change_percent": current.max_change_percent,
                    "max_change_amount": current.max_change_amount,
                    "revenue_cap": current.class_caps.get("REVENUE"),
                    "expense_cap": current.class_caps.get("EXPENSE"),
                    "account_caps": "\n".join(
                        f"{by_pk[int(pk)].code or by_pk[int(pk)].name} = {cap}"
                        for pk, cap in current.account_caps.items()
                        if int(pk) in by_pk
                    ),
                    "capex_accounts": [str(i) for i in current.capex_account_ids],
                    "extra_approval_above": current.extra_approval_above,
                },
            )
        else:
            kwargs.setdefault("initial", {"scope": BudgetPolicy.Scope.ALL, "horizon": 6})
        super().__init__(*args, **kwargs)
        account_choices = [(str(a.pk), str(a)) for a in accounts]
        self.fields["accounts"].choices = account_choices
        self.fields["capex_accounts"].choices = account_choices
        self.fields["tracking_options"].choices = [(str(o.pk), str(o)) for o in options]

    def clean_account_caps(self) -> dict[int, Decimal]:
        by_code = {}
        for account in self.account_list:
            by_code[(account.code or account.name).lower()] = account
        caps: dict[int, Decimal] = {}
        for number, raw in enumerate(self.cleaned_data["account_caps"].splitlines(), start=1):
            if not raw.strip():
                continue
            code, sep, amount = raw.partition("=")
            account = by_code.get(code.strip().lower())
            if not sep or account is None:
                raise forms.ValidationError(
                    f'Line {number}: write an account code, "=", then the cap ("469 = 8000").'
                )
            try:
                value = Decimal(amount.strip().replace(",", ""))
            except InvalidOperation as exc:
                raise forms.ValidationError(
                    f"Line {number}: {amount.strip()!r} is not an amount."
                ) from exc
            if value < 0:
                raise forms.ValidationError(f"Line {number}: a cap cannot be negative.")
            caps[account.pk] = value
        return caps

    def clean(self):
        data = super().clean()
        if data.get("scope") == BudgetPolicy.Scope.ASSISTED and not (
            data.get("accounts") or data.get("tracking_options")
        ):
            self.add_error(
                "accounts", "Assisted drafting needs at least one account or tracking option."
            )
        return data

    def class_caps(self) -> dict[str, Decimal]:
        caps = {}
        for key, name in (("REVENUE", "revenue_cap"), ("EXPENSE", "expense_cap")):
            if self.cleaned_data.get(name) is not None:
                caps[key] = self.cleaned_data[name]
        return caps


class DraftLineEditForm(forms.Form):
    period = forms.ChoiceField(label="Month")
    amount = forms.DecimalField(max_digits=16, decimal_places=2, label="New figure")
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Required: approvers and the audit log see it.",
        error_messages={"required": "Say why you changed the figure: a reason is required."},
    )

    def __init__(self, *args, balances: list[DraftBalance], **kwargs):
        super().__init__(*args, **kwargs)
        self.balances = {f"{b.period:%Y-%m}": b for b in balances}
        self.fields["period"].choices = [
            (key, f"{b.period:%B %Y}") for key, b in self.balances.items()
        ]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why you changed the figure.")
        return reason

    def balance(self) -> DraftBalance:
        return self.balances[self.cleaned_data["period"]]
