"""Reads for the budgeting screens. Each takes the firm explicitly."""

from django.db.models import QuerySet

from integrations.models import XeroConnection
from tenants.models import ClientOrganisation, Firm


def client_organisation_dashboard_list(*, firm: Firm) -> QuerySet[ClientOrganisation]:
    """The firm dashboard's rows, in a constant number of queries whatever the firm's size."""
    return (
        ClientOrganisation.objects.for_firm(firm)
        .filter(archived_at__isnull=True)
        .select_related("xero_tenant", "xero_tenant__connection")
    )


def xero_connection_list(*, firm: Firm) -> QuerySet[XeroConnection]:
    return XeroConnection.objects.for_firm(firm).select_related("connected_by")
