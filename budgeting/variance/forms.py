from decimal import Decimal

from django import forms

from budgeting.variance.models import NarrativeProviderSettings
from core.outbound import OutboundURLRefused, outbound_url_check


class NarrativeProviderForm(forms.Form):
    enabled = forms.BooleanField(
        required=False,
        label="Word narratives with an outside chat model",
        help_text=(
            "Off: narratives are written here, from the data alone. On: the facts of each "
            "material variance, with contact and people's names replaced by placeholders, are "
            "sent to the endpoint below; an answer with any number not in the facts is "
            "discarded and the local narrative used instead."
        ),
    )
    base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Endpoint base URL",
        help_text=(
            "An OpenAI-compatible API on the public internet, e.g. https://llm.example.com/v1 "
            "(addresses inside a private network are refused)."
        ),
    )
    model = forms.CharField(required=False, max_length=100, label="Model")
    api_key = forms.CharField(
        required=False,
        label="API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current key.",
    )

    def __init__(self, *args, current: NarrativeProviderSettings, **kwargs):
        self.current = current
        kwargs.setdefault(
            "initial",
            {"enabled": current.enabled, "base_url": current.base_url, "model": current.model},
        )
        super().__init__(*args, **kwargs)

    def clean_base_url(self) -> str:
        # Checked on save for a clear error; checked again on every request (the host may
        # resolve elsewhere by then), see core/outbound.py.
        base_url = self.cleaned_data["base_url"]
        if base_url:
            try:
                outbound_url_check(base_url)
            except OutboundURLRefused as refusal:
                raise forms.ValidationError(str(refusal), code="outbound_refused") from refusal
        return base_url

    def clean(self):
        data = super().clean()
        if data.get("enabled"):
            for name, label in (("base_url", "an endpoint base URL"), ("model", "a model")):
                if not data.get(name):
                    self.add_error(name, f"Give {label} to turn the provider on.")
            if not data.get("api_key") and not self.current.api_key:
                self.add_error("api_key", "Give an API key to turn the provider on.")
        return data


class MaterialityForm(forms.Form):
    """The default threshold and the per-class overrides, side by side."""

    ROWS = (("", "Every account"), ("REVENUE", "Revenue accounts"), ("EXPENSE", "Expense accounts"))

    def __init__(self, *args, current: dict[str, tuple[Decimal, Decimal]], **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in self.ROWS:
            name = key.lower() or "default"
            percent, floor = current.get(key, (None, None))
            required = key == ""
            self.fields[f"{name}_percent"] = forms.DecimalField(
                label=f"{label}: percent of budget",
                min_value=Decimal(0),
                max_value=Decimal(1000),
                decimal_places=2,
                required=required,
                initial=percent if percent is not None else (Decimal(10) if required else None),
            )
            self.fields[f"{name}_floor"] = forms.DecimalField(
                label=f"{label}: at least (money)",
                min_value=Decimal(0),
                decimal_places=2,
                max_digits=16,
                required=required,
                initial=floor if floor is not None else (Decimal(500) if required else None),
            )

    def clean(self):
        data = super().clean()
        for key, label in self.ROWS[1:]:
            name = key.lower()
            given = [data.get(f"{name}_percent"), data.get(f"{name}_floor")]
            if any(v is not None for v in given) and not all(v is not None for v in given):
                self.add_error(f"{name}_percent", f"{label}: give both the percent and the floor.")
        return data

    def thresholds(self) -> dict[str, tuple[Decimal, Decimal] | None]:
        result = {}
        for key, _label in self.ROWS:
            name = key.lower() or "default"
            percent = self.cleaned_data.get(f"{name}_percent")
            floor = self.cleaned_data.get(f"{name}_floor")
            result[key] = (percent, floor) if percent is not None and floor is not None else None
        return result
