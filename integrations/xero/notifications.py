"""Emails to a firm about its Xero connections."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from integrations.models import XeroConnection
from tenants.models import Firm, Membership
from tenants.roles import Action, role_allows


def xero_connection_notify_reauth(*, firm_id: int, connection_id: int) -> None:
    firm = Firm.objects.get(pk=firm_id)
    connection = XeroConnection.objects.for_firm(firm).get(pk=connection_id)
    recipients = [
        m.user.email
        for m in Membership.objects.for_firm(firm).select_related("user")
        if role_allows(m.role, Action.CONNECT_XERO)
    ]
    if not recipients:
        return
    dashboard = settings.SITE_URL + reverse("firm_dashboard", args=[firm.slug])
    send_mail(
        subject=f"Xero needs you to sign in again for {firm.name}",
        message=(
            f"Xero stopped accepting the saved connection for {firm.name} "
            f"({connection.status_detail}).\n\nSyncs of the organisations on this connection are "
            f"paused; nothing has been lost. Open {dashboard} and use Connect Xero to sign in "
            "again."
        ),
        from_email=None,
        recipient_list=recipients,
    )
