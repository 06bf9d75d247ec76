"""Emails to a firm about its Xero connections."""

from django.conf import settings
from django.urls import reverse

from core.email import email_send
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
    email_send(
        template="xero_reauth",
        to=recipients,
        subject=f"Xero needs you to sign in again for {firm.name}",
        context={
            "firm": firm,
            "connection": connection,
            "dashboard_url": settings.SITE_URL + reverse("firm_dashboard", args=[firm.slug]),
            "site_name": settings.SITE_NAME,
        },
    )
