"""What a draft tells the jobs above it, without importing them.

drafts/ sits below approvals/: a change to a submitted draft is announced here, and approvals
connects the restart of its approval (budgeting/approvals/receivers.py).
"""

from django.dispatch import Signal

# A submitted draft's figures changed (its revision moved). Arguments: firm, draft. Sent
# inside the change's transaction: receivers act in it, so the change and its consequences
# commit or roll back together.
submitted_draft_revised = Signal()

# The months of a draft line that a package above marks on the line's chart (the annual
# draft's flagged months). Arguments: firm, line. Each receiver returns {month: why}.
draft_line_marks_wanted = Signal()
