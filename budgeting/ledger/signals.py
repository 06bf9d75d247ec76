"""What the ledger tells the jobs above it, without importing them.

A finished sync announces itself here, and budgeting's app config connects the post-sync
pipeline (budgeting/pipeline.py) at start-up.
"""

from django.dispatch import Signal

# A sync succeeded and its data is committed. Arguments: firm_id, organisation_id, and closed
# (True when the organisation's PeriodLockDate moved forward in this sync: a month closed).
sync_succeeded = Signal()

# Xero said documents of an organisation changed (a webhook delivery's INVOICE and CREDITNOTE
# events). Arguments: firm_id, organisation_id, received_at, and changes: [(endpoint,
# document id)]. Alerts connects to it: it fetches the documents in batches.
documents_changed = Signal()
