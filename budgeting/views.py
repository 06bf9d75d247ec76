from django.http import HttpResponse
from django.shortcuts import render

from budgeting import selectors
from tenants.roles import Action
from tenants.scoping import FirmRequest, firm_view


@firm_view(Action.VIEW)
def firm_dashboard(request: FirmRequest) -> HttpResponse:
    context = {
        "organisations": selectors.client_organisation_dashboard_list(firm=request.firm),
        "connections": selectors.xero_connection_list(firm=request.firm),
    }
    return render(request, "budgeting/dashboard.html", context)
