"""What the ledger tells the jobs above it, without importing them.

A finished sync announces itself here, and budgeting's app config connects the post-sync
pipeline (budgeting/pipeline.py) at start-up.
"""

from django.dispatch import Signal

# A sync succeeded and its data is committed. Arguments: firm_id, organisation_id, and closed
# (True when the organisation's PeriodLockDate moved forward in this sync: a month closed).
sync_succeeded = Signal()
