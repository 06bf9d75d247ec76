"""The one way to send an email: from a template, as plain text with an HTML alternative.

`emails/<template>.txt` is the body and `emails/<template>.html` its HTML alternative, both
rendered with the same context. Sending raises when the mail server refuses, so the Celery task
that sent it retries.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

# An attachment as Django takes it: file name, content, MIME type.
Attachment = tuple[str, str | bytes, str]


def email_message(
    *,
    template: str,
    to: list[str],
    subject: str,
    context: dict,
    headers: dict[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMultiAlternatives:
    """The email of a template, not sent: to send several over one connection
    (`get_connection().send_messages(messages)`)."""
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{template}.txt", context),
        to=to,
        headers=headers,
    )
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    for name, content, mimetype in attachments:
        message.attach(name, content, mimetype)
    return message


def email_send(
    *,
    template: str,
    to: list[str],
    subject: str,
    context: dict,
    headers: dict[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> None:
    """Send the email of a template; raises when the mail server refuses it."""
    email_message(
        template=template,
        to=to,
        subject=subject,
        context=context,
        headers=headers,
        attachments=attachments,
    ).send()
