"""A firm cast ready for the partner API: one sandbox organisation synced, read and write keys."""

from budgeting.models import SyncRun, XeroOrganisation
from tenants.roles import Role
from tests.factories import api_key_create
from tests.sandbox import sync


def api_cast(cast, name: str):
    run = sync(cast, name)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    cast.org = cast.linked[name]
    cast.profile = XeroOrganisation.objects.for_firm(cast.firm).get(organisation=cast.org)
    cast.key = api_key_create(firm=cast.firm)[1]
    # A write key acting for a preparer: edits are recorded as theirs.
    cast.preparer = cast.member(Role.PREPARER)
    cast.write_key = api_key_create(
        firm=cast.firm, scopes=["read", "write"], member=cast.preparer, name="Drafts bot"
    )[1]
    cast.base = f"/api/v1/organisations/{cast.org.public_id}"
    return cast
