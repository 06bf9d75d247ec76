"""What approvals asks the jobs above it, without importing them.

approvals/ sits below publishing/: whether publishing a draft will replace the client's original
budget is publishing's to say, and it answers here (budgeting/publishing/receivers.py).
"""

from django.dispatch import Signal

# Asked when a draft's approval steps are set up. Arguments: firm, draft. Each receiver returns
# a list of reasons (sentences) the draft needs the extra approval step, empty when none.
extra_approval_reasons = Signal()
