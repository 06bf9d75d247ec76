"""What annual drafts answer when a lower package asks (connected on import, at start-up)."""

from django.dispatch import receiver

from budgeting.annual.selectors import annual_line_marks
from budgeting.drafts.signals import draft_line_marks_wanted


@receiver(draft_line_marks_wanted, dispatch_uid="annual_line_marks")
def annual_line_marks_receiver(sender, *, firm, line, **kwargs) -> dict:
    """A draft line's chart marks the months its annual flags are about."""
    return annual_line_marks(firm=firm, line=line)
