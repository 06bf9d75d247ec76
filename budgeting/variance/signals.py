"""What variance asks of the jobs above it, without importing them.

variance/ sits below approvals/: the people a narrative must mask include the client's external
approvers (budget owners known by name and email), which approvals keeps. It answers this
signal (budgeting/approvals/receivers.py).
"""

from django.dispatch import Signal

# Who else may be named in an organisation's transactions, for masking before a narrative's
# facts leave the app. Arguments: firm, organisation. Each receiver returns a list of
# (name, email) pairs; either may be "".
narrative_people_wanted = Signal()
