"""What the Xero integration tells the rest of the product, without importing it.

integrations/ sits below budgeting/: a finished sync announces itself here, and budgeting's app
config connects its post-sync pipeline (budgeting/pipeline.py) at start-up.
"""

from django.dispatch import Signal

# A sync succeeded and its data is committed. Arguments: firm_id, organisation_id, and closed
# (True when the organisation's PeriodLockDate moved forward in this sync: a month closed).
sync_succeeded = Signal()
