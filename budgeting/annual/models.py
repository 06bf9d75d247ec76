"""Annual drafts: next financial year's budget drafted from the history, and the flags on its
lines. The draft itself is a drafts.Draft (source "annual"), so it has the drafts' review,
guardrails, approval chain and publishing path; these rows add what only an annual draft has."""

import datetime as dt

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.annual import maths
from budgeting.drafts.models import Draft, DraftLine
from budgeting.ledger.models import OrganisationOwned


class AnnualDraft(OrganisationOwned):
    """One organisation's draft of one financial year. Only one is current per year: drafting
    the year again (a person asks) supersedes it, and the earlier draft, if still open, is
    rejected with the reason in its history."""

    draft = models.OneToOneField(Draft, on_delete=models.CASCADE, related_name="annual")
    financial_year = models.PositiveSmallIntegerField()  # by the calendar year it ends in
    first_period = models.DateField()  # the year's first month
    history_first = models.DateField()  # the months of actuals it was drafted from
    history_last = models.DateField()
    departure_percent = models.DecimalField(max_digits=6, decimal_places=1)
    lines_skipped = models.PositiveIntegerField(default=0)  # outside the policy's scope
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Nothing is drafted twice for the same year unless a person asks: the current draft
            # of a year is the one not superseded, and there is one.
            models.UniqueConstraint(
                fields=["organisation", "financial_year"],
                condition=models.Q(superseded_at__isnull=True),
                name="annual_draft_current_unique",
            )
        ]

    def __str__(self) -> str:
        return f"FY{self.financial_year} draft of {self.organisation}"

    @property
    def label(self) -> str:
        return f"FY{self.financial_year}"


class AnnualLineFlag(OrganisationOwned):
    """Why a line of an annual draft needs a second look, and the months it is about (ISO
    dates, marked on the line's chart). A tendency flag carries the firm's median change and
    can be applied once, by a person."""

    class Kind(models.TextChoices):
        ONE_OFF = maths.ONE_OFF, "One-off months"
        LEVEL_SHIFT = maths.LEVEL_SHIFT, "Level shift"
        STOPPED = maths.STOPPED, "Stopped"
        STARTED = maths.STARTED, "Started"
        SHORT_HISTORY = maths.SHORT_HISTORY, "History shorter than a year"
        DEPARTS = maths.DEPARTS, "Departs from last year"
        TENDENCY = maths.TENDENCY, "The firm's tendency"

    annual = models.ForeignKey(AnnualDraft, on_delete=models.CASCADE, related_name="flags")
    line = models.ForeignKey(DraftLine, on_delete=models.CASCADE, related_name="annual_flags")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    months = models.JSONField(default=list, blank=True)
    percent = models.DecimalField(max_digits=9, decimal_places=1, null=True, blank=True)
    applied_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["line_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["line", "kind"], name="annual_line_flag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.line}"

    @property
    def month_dates(self) -> list[dt.date]:
        """The flagged months as dates, for the screens to name them ("Apr 2027")."""
        return [dt.date.fromisoformat(month) for month in self.months]
