"""The demo's Slack: the in-process imitation's channels as a page, and its buttons clickable as
any of its users, so `make demo` shows approving from Slack end to end with no Slack at all.
Only mounted when SLACK_TRANSPORT is "inprocess" (the demo); production never has these routes.

A click goes the way Slack's would: the imitation signs a block_actions request and posts it to
the app's own Request URL (through the app's WSGI handler, in this process)."""

from __future__ import annotations

import re

import httpx
from django.conf import settings
from django.contrib import messages
from django.core.handlers.wsgi import WSGIHandler
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from integrations.slack.http import slack_imitation_inprocess
from integrations.slack.imitation.interactions import interaction_send

MENTION = re.compile(r"<@([A-Z0-9]+)>")


def _plain(text: str, users: dict) -> str:
    text = MENTION.sub(lambda m: "@" + users.get(m[1], {}).get("name", m[1]), text or "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rendered(message, users: dict) -> list[dict]:
    """A message's blocks as the page shows them: text, fields, buttons."""
    parts = []
    for block in message.blocks or [{"type": "section", "text": {"text": message.text}}]:
        kind = block.get("type")
        if kind == "header":
            parts.append({"kind": "header", "text": block["text"]["text"]})
        elif kind == "section":
            if block.get("text"):
                parts.append({"kind": "text", "text": _plain(block["text"]["text"], users)})
            if block.get("fields"):
                fields = [_plain(f["text"], users) for f in block["fields"]]
                parts.append({"kind": "fields", "fields": fields})
        elif kind == "context":
            text = " ".join(_plain(e.get("text", ""), users) for e in block.get("elements", []))
            parts.append({"kind": "context", "text": text})
        elif kind == "actions":
            parts.append({"kind": "buttons", "buttons": block.get("elements", [])})
    return parts


@require_GET
def slack_imitation_page(request: HttpRequest) -> HttpResponse:
    imitation = slack_imitation_inprocess()
    with imitation.lock:
        recorded = list(imitation.messages)
        users = dict(imitation.users)
        channels = dict(imitation.channels)
    shown = [
        {
            "message": message,
            "channel": channels[message.channel].name if message.channel in channels else "",
            "only_for": users.get(message.user, {}).get("name") if message.user else "",
            "parts": _rendered(message, users),
        }
        for message in reversed(recorded)
    ]
    return render(
        request,
        "integrations/slack/imitation.html",
        {"shown": shown, "users": sorted(users.items(), key=lambda u: u[1]["email"])},
    )


@require_POST
def slack_imitation_click(request: HttpRequest) -> HttpResponse:
    """Click a button of a message as one of the imitation's users (the demo's own page posts
    this, with its CSRF token; Slack's request to the app is signed as usual)."""
    imitation = slack_imitation_inprocess()
    ts = request.POST.get("ts", "")
    message = next((m for m in imitation.messages if m.ts == ts), None)
    if message is None:
        raise Http404("No such message in the Slack imitation.")
    try:
        response = interaction_send(
            imitation,
            url=settings.SITE_URL + reverse("slack_interactions"),
            message=message,
            action_id=request.POST.get("action_id", ""),
            user_id=request.POST.get("user", ""),
            transport=httpx.WSGITransport(app=WSGIHandler()),
        )
    except LookupError as exc:
        messages.error(request, str(exc))
    else:
        if response.status_code == 200:
            messages.success(request, "Clicked: the app's answer, if any, is at the top.")
        else:
            messages.error(request, f"The app answered {response.status_code}.")
    return redirect("slack_imitation_page")
