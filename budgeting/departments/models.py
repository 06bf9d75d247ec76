"""Drafts by department: a draft's tracking option (a department) assigned to its manager, who
edits that option's lines from a signed link or in the app, and the reasons given for the gaps
between the departments and the draft's overall figures.

A manager is a firm member or someone outside the firm known by email (a client's department
head). One assignment per draft and option: reassigning changes the row, withdrawing ends it,
and its history keeps every earlier manager.
"""

from django.db import models
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from budgeting.drafts.models import Draft
from budgeting.ledger.models import Account, OrganisationOwned, TrackingOption


class DepartmentAssignment(OrganisationOwned):
    class Status(models.TextChoices):
        ASSIGNED = "assigned", "With its manager"
        DONE = "done", "Done"
        WITHDRAWN = "withdrawn", "Withdrawn"

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="+")
    tracking_option = models.ForeignKey(TrackingOption, on_delete=models.PROTECT, related_name="+")
    # A firm member, or nobody for an external manager; the email is always set (lower case):
    # the link goes to it, and segregation of duties compares people by it.
    manager_user = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    manager_email = models.EmailField()
    manager_name = models.CharField(max_length=150, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ASSIGNED)
    # Goes up on every reassignment and withdrawal: the links sent before stop working.
    link_version = models.PositiveIntegerField(default=1)
    link_sent_at = models.DateTimeField(null=True, blank=True)
    # Figures the manager changed (through drafts' line edit), and when they said they are done.
    edits = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(default=now)
    # When it was last given to its manager (assigned, reopened, link sent again): its link's
    # email is due while `link_sent_at` is older.
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords(excluded_fields=["link_sent_at"])

    class Meta:
        ordering = ["tracking_option__name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["draft", "tracking_option"], name="department_assignment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tracking_option.name}: {self.manager_label}"

    @property
    def manager_label(self) -> str:
        return (
            f"{self.manager_name} <{self.manager_email}>"
            if self.manager_name
            else (self.manager_email)
        )

    @property
    def is_external(self) -> bool:
        return self.manager_user_id is None

    @property
    def is_active(self) -> bool:
        return self.status != self.Status.WITHDRAWN


class DepartmentGapNote(OrganisationOwned):
    """Why an account's departments do not add up to the draft's overall figures, from a
    person; a gap with a note no longer holds up the draft's submission."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(
        "tenants.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["account__code", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "account"], name="department_gap_note_unique")
        ]

    def __str__(self) -> str:
        return f"Gap of {self.account} explained: {self.reason[:60]}"
