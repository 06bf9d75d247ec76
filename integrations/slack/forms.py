from django import forms
from django.conf import settings

from integrations.slack.client import slack_url_allowed
from integrations.slack.models import SlackSettings


class SlackSettingsForm(forms.Form):
    method = forms.ChoiceField(
        choices=SlackSettings.Method.choices,
        label="How the app posts to Slack",
        widget=forms.RadioSelect,
        help_text=(
            "An incoming webhook posts into one channel. A bot token (a Slack app with the "
            "chat:write and users:read.email scopes) posts into the channel below and finds "
            "members by email."
        ),
    )
    webhook_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Incoming webhook URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown again. Leave empty to keep the current one.",
    )
    bot_token = forms.CharField(
        required=False,
        label="Bot token",
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="xoxb-... Stored encrypted and never shown again. Leave empty to keep it.",
    )
    default_channel = forms.CharField(
        required=False,
        max_length=80,
        label="Channel",
        help_text="With a bot token: #name or the channel's ID (invite the app to a private one).",
    )
    approvals_to_slack = forms.BooleanField(
        required=False,
        label="Post approval requests and the daily digest to Slack too",
        help_text="Emails still go out; approvers linked below may decide from Slack.",
    )
    reason = forms.CharField(required=False, max_length=200, label="Reason for the change")

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"].strip()
        if url and not slack_url_allowed(url):
            raise forms.ValidationError(
                "An incoming webhook URL is one Slack gave you, starting "
                f"{settings.SLACK_URL_PREFIXES[0]}services/."
            )
        return url

    def clean_bot_token(self) -> str:
        token = self.cleaned_data["bot_token"].strip()
        if token and not token.startswith("xoxb-"):
            raise forms.ValidationError("A bot token starts with xoxb-.")
        return token


class SlackMemberForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    slack_user_id = forms.CharField(required=False, max_length=20, label="Slack member ID")
