"""Month close: Xero has no webhook for it, so poll Organisation.PeriodLockDate.

When the lock date moves forward, a month has been closed and the post-close pipeline runs for
that organisation.
"""

import logging

from budgeting.ledger.models import SyncRun, XeroOrganisation
from budgeting.ledger.sync import organisation_sync_start
from core.tasks import enqueue
from integrations.models import XeroTenant
from integrations.xero.client import XeroClient
from integrations.xero.errors import XeroError
from tenants.models import ClientOrganisation, Firm

logger = logging.getLogger(__name__)


def period_lock_checks_enqueue() -> int:
    """Queue one check per connected organisation of every firm (each task is firm-scoped)."""
    queued = 0
    for firm in Firm.objects.all():
        tenants = XeroTenant.objects.for_firm(firm).filter(
            status=XeroTenant.Status.CONNECTED, client_organisation__isnull=False
        )
        for tenant in tenants:
            enqueue(
                "integrations.xero.tasks.xero_check_period_lock",
                firm.pk,
                tenant.client_organisation_id,
            )
            queued += 1
    return queued


def organisation_period_lock_check(*, firm: Firm, organisation_id: int) -> bool:
    """One call to Xero's Organisation; run the post-close pipeline if the lock date moved on."""
    organisation = ClientOrganisation.objects.for_firm(firm).get(pk=organisation_id)
    tenant = (
        XeroTenant.objects.for_firm(firm)
        .select_related("connection")
        .get(client_organisation=organisation)
    )
    profile = XeroOrganisation.objects.for_firm(firm).filter(organisation=organisation).first()
    try:
        with XeroClient(tenant=tenant) as client:
            lock = client.organisation().period_lock_date
    except XeroError as exc:
        logger.warning("Lock date check of %s failed: %s", organisation, exc)
        return False
    known = profile.period_lock_date if profile else None
    if lock is None or (known is not None and lock <= known):
        return False
    logger.info("%s closed up to %s (was %s)", organisation, lock, known)
    post_close_pipeline_start(firm=firm, organisation=organisation)
    return True


def post_close_pipeline_start(*, firm: Firm, organisation: ClientOrganisation) -> SyncRun:
    """The post-close pipeline: sync now; the analysis steps follow the sync when it succeeds."""
    return organisation_sync_start(
        firm=firm, organisation=organisation, trigger=SyncRun.Trigger.CLOSE
    )
