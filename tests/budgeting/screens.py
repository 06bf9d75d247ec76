"""Helpers of the screen tests of the ledger and the dashboard: sign in, URLs, responses, and
Xero links, sync runs and profiles made directly for tests that never call Xero."""

import csv
import datetime as dt
import io

from django.urls import reverse
from django_scopes import scopes_disabled

from budgeting.models import SyncRun, XeroOrganisation
from integrations.models import XeroConnection, XeroTenant
from tenants.roles import Role

HTMX = {"HX-Request": "true"}


def login(client, cast, role=Role.PREPARER):
    client.force_login(cast.member(role).user)


def screen_url(name, cast, organisation=None, **query):
    args = [cast.firm.slug] + ([organisation.pk] if organisation is not None else [])
    url = reverse(name, args=args)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


def connected(cast, organisation, status=XeroConnection.Status.CONNECTED, tenant_id=None):
    """A Xero link made directly, for tests that never call Xero."""
    with scopes_disabled():
        xero_connection = XeroConnection.objects.create(
            firm=cast.firm,
            access_token="a",
            refresh_token="r",
            access_token_expires_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            status=status,
        )
        return XeroTenant.objects.create(
            firm=cast.firm,
            connection=xero_connection,
            tenant_id=tenant_id or f"tenant-{organisation.pk}",
            tenant_name=organisation.name,
            client_organisation=organisation,
        )


def sync_run(cast, organisation, **fields):
    with scopes_disabled():
        return SyncRun.objects.create(
            firm=cast.firm, organisation=organisation, **{"kind": SyncRun.Kind.INITIAL, **fields}
        )


def synced_profile(cast, organisation, lock=dt.date(2026, 9, 30)):
    with scopes_disabled():
        return XeroOrganisation.objects.create(
            firm=cast.firm,
            organisation=organisation,
            xero_organisation_id=f"xero-{organisation.pk}",
            name=organisation.name,
            base_currency="AUD",
            financial_year_end_day=30,
            financial_year_end_month=6,
            period_lock_date=lock,
        )


# --- Firm dashboard ----------------------------------------------------------------------------
