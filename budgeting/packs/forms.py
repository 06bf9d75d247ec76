"""The forms of report packs: an organisation's schedule and the firm's branding. They check
shapes; the rules (members of the firm, the logo's type, size and dimensions) are the
services'."""

from __future__ import annotations

import re

from django import forms

from budgeting.packs.models import PackSchedule
from budgeting.packs.services import COLOUR, LOGO_MAX_BYTES


class PackScheduleForm(forms.Form):
    frequency = forms.ChoiceField(
        choices=PackSchedule.Frequency.choices,
        label="Send the pack",
        help_text="Quarterly: the months that end a quarter of the client's financial year.",
    )
    send_day = forms.IntegerField(
        min_value=1,
        max_value=28,
        initial=5,
        label="On day of the month",
        help_text="In the client's time zone; the pack covers the month before.",
    )
    after_close = forms.BooleanField(
        required=False, initial=True, label="Also send it as soon as a month close is synced"
    )
    members = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple, label="Members"
    )
    external_emails = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Other recipients",
        help_text="The client's people: one email address a line (or separated by commas).",
        max_length=5000,
    )

    def __init__(self, *args, member_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = member_choices

    def clean_external_emails(self) -> list[str]:
        raw = self.cleaned_data["external_emails"]
        emails = [e.strip() for e in re.split(r"[\n,;]+", raw) if e.strip()]
        errors = []
        for email in emails:
            try:
                forms.EmailField().clean(email)
            except forms.ValidationError:
                errors.append(f"“{email[:80]}” is not an email address.")
        if errors:
            raise forms.ValidationError(errors)
        return emails


class PackBrandingForm(forms.Form):
    display_name = forms.CharField(
        max_length=120,
        required=False,
        label="Name on the pack",
        help_text="Leave empty to use the firm's name.",
    )
    colour = forms.CharField(
        max_length=7,
        initial="#1F4E79",
        label="Colour",
        help_text="A hex colour such as #1F4E79: headings, table heads and chart lines.",
        widget=forms.TextInput(attrs={"pattern": "#[0-9A-Fa-f]{6}"}),
    )
    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG or JPEG, at most 512 KB and 2000 pixels on each side.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    def clean_colour(self) -> str:
        colour = self.cleaned_data["colour"].strip()
        if not COLOUR.match(colour):
            raise forms.ValidationError("Give a hex colour such as #1F4E79.")
        return colour

    def clean_logo(self) -> bytes | None:
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        if upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                f"The logo is {upload.size // 1024} KB; upload one of at most 512 KB."
            )
        return upload.read()
