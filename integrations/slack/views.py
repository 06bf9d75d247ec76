"""The Slack app's Request URL: a button clicked in one of our messages. Slack signs each
request; an unsigned, wrongly signed, stale or replayed one is refused with 401 and does
nothing. The firm is not known here: the button's own signed value names it, and the job that
owns the button (a receiver of slack_action_clicked) decides what the click means."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from integrations.slack import services as slack_services
from integrations.slack.client import slack_response_post, slack_url_allowed
from integrations.slack.errors import SlackError
from integrations.slack.forms import SlackMemberForm, SlackSettingsForm
from integrations.slack.models import SlackMember, SlackMessage, SlackSettings
from integrations.slack.selectors import slack_messages_recent
from integrations.slack.signals import SlackReply, slack_action_clicked
from integrations.slack.signing import MAX_AGE, SlackSignatureInvalid, slack_request_verify
from tenants.models import Membership
from tenants.roles import Action
from tenants.scoping import FirmRequest, firm_view, get_firm_object_or_404

logger = logging.getLogger(__name__)


# Slack posts without a CSRF token; its signature (checked first) is what authorises it.
@csrf_exempt
@require_POST
def slack_interactions(request: HttpRequest) -> HttpResponse:
    body = request.body
    signature = request.headers.get("X-Slack-Signature")
    try:
        slack_request_verify(
            secret=settings.SLACK_SIGNING_SECRET,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=signature,
            body=body,
        )
    except SlackSignatureInvalid as exc:
        logger.warning("Slack interaction refused: %s", exc)
        return HttpResponse("Not signed by Slack.", status=401, content_type="text/plain")
    # Within Slack's five minutes the same signed request could be sent again: each signature
    # is taken once (kept a little longer than the window it could be replayed in).
    if not cache.add(f"slack-interaction:{signature}", 1, timeout=int(MAX_AGE.total_seconds()) * 2):
        logger.warning("Slack interaction refused: replayed signature")
        return HttpResponse("Already received.", status=401, content_type="text/plain")
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse("No payload.", status=400, content_type="text/plain")
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        # Nothing else is asked of this app; Slack only needs the acknowledgement.
        return HttpResponse(status=200)
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    team = payload.get("team") if isinstance(payload.get("team"), dict) else {}
    response_url = str(payload.get("response_url") or "")
    for action in payload.get("actions") or []:
        if not isinstance(action, dict):
            continue
        reply = next(
            (
                answer
                for _receiver, answer in slack_action_clicked.send(
                    sender=None,
                    action_id=str(action.get("action_id") or ""),
                    value=str(action.get("value") or ""),
                    slack_user_id=str(user.get("id") or ""),
                    team_id=str(team.get("id") or user.get("team_id") or ""),
                    payload=payload,
                )
                if isinstance(answer, SlackReply)
            ),
            None,
        )
        if reply is None:
            continue
        if not slack_url_allowed(response_url):
            logger.warning("Slack interaction: response_url %r is not Slack's", response_url)
            continue
        try:
            slack_response_post(response_url=response_url, text=reply.text, blocks=reply.blocks)
        except SlackError as exc:
            # The person sees nothing and can click again; the click itself changed nothing.
            logger.warning("Slack interaction: the reply was not delivered: %s", exc)
    return HttpResponse(status=200)


# --- The firm's Slack settings (owners only) ---------------------------------------------------


def _settings_page(request: FirmRequest, form: SlackSettingsForm, status: int = 200):
    firm = request.firm
    current = slack_services.slack_settings_get(firm=firm)
    links = {
        link.user_id: link for link in SlackMember.objects.for_firm(firm).select_related("user")
    }
    members = [
        (m, links.get(m.user_id))
        for m in Membership.objects.for_firm(firm).select_related("user").order_by("user__email")
    ]
    context = {
        "form": form,
        "current": current,
        "members": members,
        "messages_sent": slack_messages_recent(firm=firm),
        "versions": SlackSettings.history.filter(firm_id=firm.pk)
        .select_related("history_user")
        .order_by("-history_date")[:20],
        "member_versions": SlackMember.history.filter(firm_id=firm.pk)
        .select_related("history_user", "user")
        .order_by("-history_date")[:20],
        "interactions_url": settings.SITE_URL + reverse("slack_interactions"),
    }
    return render(request, "integrations/slack/settings.html", context, status=status)


@firm_view(Action.MANAGE_FIRM)
@require_http_methods(["GET", "POST"])
def slack_settings(request: FirmRequest) -> HttpResponse:
    current = slack_services.slack_settings_get(firm=request.firm)
    initial = {
        "method": current.method,
        "default_channel": current.default_channel,
        "approvals_to_slack": current.approvals_to_slack,
    }
    form = SlackSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                slack_services.slack_settings_update(
                    firm=request.firm,
                    user=request.user,
                    method=data["method"],
                    webhook_url=data["webhook_url"] or None,
                    bot_token=data["bot_token"] or None,
                    default_channel=data["default_channel"],
                    approvals_to_slack=data["approvals_to_slack"],
                    reason=data["reason"].strip() or "Slack settings changed",
                )
            except slack_services.SlackSettingsError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Slack settings saved. Send a test message to check.")
                return redirect("slack_settings", firm_slug=request.firm.slug)
        return _settings_page(request, form, status=400)
    return _settings_page(request, form)


@firm_view(Action.MANAGE_FIRM)
@require_POST
def slack_test(request: FirmRequest) -> HttpResponse:
    try:
        current = slack_services.slack_connection_test(firm=request.firm, user=request.user)
    except slack_services.SlackSettingsError as exc:
        messages.error(request, str(exc))
    else:
        if current.test_ok:
            messages.success(request, "Test message sent: look for it in Slack.")
        else:
            messages.error(request, f"The test message failed. {current.test_detail}")
    return redirect("slack_settings", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_FIRM)
@require_POST
def slack_members_lookup(request: FirmRequest) -> HttpResponse:
    try:
        result = slack_services.slack_members_lookup(firm=request.firm, by=request.user)
    except slack_services.SlackSettingsError as exc:
        messages.error(request, str(exc))
    else:
        text = f"{result.found} member{'s' if result.found != 1 else ''} found in Slack."
        if result.not_found:
            text += " Not in the workspace by email: " + ", ".join(result.not_found) + "."
        messages.success(request, text)
    return redirect("slack_settings", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_FIRM)
@require_POST
def slack_member_set(request: FirmRequest) -> HttpResponse:
    form = SlackMemberForm(request.POST)
    if form.is_valid():
        membership = (
            Membership.objects.for_firm(request.firm)
            .select_related("user")
            .filter(user_id=form.cleaned_data["member"])
            .first()
        )
        if membership is None:
            raise Http404
        try:
            slack_services.slack_member_set(
                firm=request.firm,
                member=membership.user,
                slack_user_id=form.cleaned_data["slack_user_id"],
                by=request.user,
            )
        except slack_services.SlackSettingsError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Slack user of {membership.user.email} saved.")
    else:
        messages.error(request, "Give a Slack member ID, or leave it empty to unlink.")
    return redirect("slack_settings", firm_slug=request.firm.slug)


@firm_view(Action.MANAGE_FIRM)
@require_POST
def slack_message_resend(request: FirmRequest, message_id: int) -> HttpResponse:
    message = get_firm_object_or_404(SlackMessage, firm=request.firm, pk=message_id)
    if slack_services.slack_message_resend(firm=request.firm, message_id=message.pk):
        messages.success(request, "The message is queued to be sent again.")
    else:
        messages.error(request, "Only a failed message can be sent again.")
    return redirect("slack_settings", firm_slug=request.firm.slug)
