"""Rollback: restore a forecast draft, an approval chain or a budget policy to an earlier revision.

A restore is itself a new audited change: the draft's revision (or the chain's version) goes up,
with a change reason naming what was restored. Restoring a draft that waits for approval sends
approval back to the first step (the draft changed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from budgeting.approvals import services as approvals
from budgeting.approvals.models import ApprovalChain
from budgeting.drafts.models import BudgetPolicy, Draft, DraftBalance, DraftLine
from core.history import history_note
from tenants.models import ClientOrganisation, Firm, User

RESTORABLE = (Draft.Status.DRAFT, Draft.Status.SUBMITTED)
LINE_FIELDS = ("accepted", "edited", "reason")
BALANCE_FIELDS = ("edited_amount", "edited_by_id", "edited_by_email", "edited_at", "edit_reason")


class RollbackError(Exception):
    """A restore that cannot be done; the message says why and what to do."""


def _as_of(history, moment) -> dict[int, object]:
    """Each row's last historical record at `moment`, by row id; rows deleted by then are left
    out. The first record per id in this order is the latest (no DISTINCT ON: the demo runs on
    SQLite); a draft's history is hundreds of rows, not millions."""
    latest: dict[int, object] = {}
    records = history.filter(history_date__lte=moment).order_by(
        "id", "-history_date", "-history_id"
    )
    for record in records.iterator(chunk_size=2000):
        latest.setdefault(record.id, record)
    return {pk: record for pk, record in latest.items() if record.history_type != "-"}


def draft_restore(
    *, firm: Firm, draft: Draft, revision: int, user: User, reason: str = ""
) -> Draft:
    """Put every line and month of the draft back as they were at `revision`: the people's
    edits, acceptances and reasons (the suggestions themselves never change)."""
    from budgeting.drafts.services import _policy_recheck

    note = f"Restored revision {revision}" + (f": {reason.strip()}" if reason.strip() else "")
    with transaction.atomic():
        draft = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
        if draft.status not in RESTORABLE:
            raise RollbackError(
                f"This draft is {draft.get_status_display().lower()}: only a draft or a "
                "draft waiting for approval can be restored. Create a new draft instead."
            )
        if not 1 <= revision < draft.revision:
            raise RollbackError(f"Choose an earlier revision, from 1 to {draft.revision - 1}.")
        point = (
            Draft.history.filter(id=draft.pk, revision=revision)
            .order_by("-history_date", "-history_id")
            .first()
        )
        if point is None:
            raise RollbackError(f"The history has no revision {revision} of this draft.")
        lines = list(DraftLine.objects.for_firm(firm).filter(draft=draft))
        line_history = DraftLine.history.filter(draft_id=draft.pk)
        balance_history = DraftBalance.history.filter(line_id__in=[line.pk for line in lines])
        # A draft's lines and months are created after the draft itself, and edits never
        # create any: the state at a revision is as of its last record, or of the last
        # creation when that came later (revision 1).
        created = [
            h.filter(history_type="+").aggregate(last=Max("history_date"))["last"]
            for h in (line_history, balance_history)
        ]
        moment = max([point.history_date, *(c for c in created if c is not None)])
        then_lines = _as_of(line_history, moment)
        then_balances = _as_of(balance_history, moment)
        watched = (*LINE_FIELDS, "policy_ok", "policy_violations", "needs_extra_approval")
        for line in lines:
            months_changed = False
            for balance in DraftBalance.objects.for_firm(firm).filter(line=line):
                then = then_balances.get(balance.pk)
                if then is None:
                    continue
                if any(getattr(balance, f) != getattr(then, f) for f in BALANCE_FIELDS):
                    for f in BALANCE_FIELDS:
                        setattr(balance, f, getattr(then, f))
                    history_note(balance, reason=note, user=user)
                    balance.save()
                    months_changed = True
            then = then_lines.get(line.pk)
            before = tuple(getattr(line, f) for f in watched)
            if then is not None:
                for f in LINE_FIELDS:
                    setattr(line, f, getattr(then, f))
            _policy_recheck(firm, draft, line)
            if months_changed or before != tuple(getattr(line, f) for f in watched):
                history_note(line, reason=note, user=user)
                line.save()
        draft.revision += 1
        draft.updated_at = timezone.now()
        history_note(draft, reason=note, user=user)
        draft.save()
        # In the same transaction: a restored draft is never left with a stale approval round.
        approvals.approval_request_restart_if_changed(firm=firm, draft=draft)
    return draft


def approval_chain_restore(
    *, firm: Firm, organisation: ClientOrganisation, version: int, user: User | None
) -> ApprovalChain:
    """Save the steps of an earlier version of the chain as a new version. They are checked
    again: someone named then may no longer be allowed to approve."""
    old = (
        ApprovalChain.history.filter(
            firm_id=firm.pk, organisation_id=organisation.pk, version=version
        )
        .order_by("-history_date")
        .first()
    )
    if old is None:
        raise RollbackError(f"The approval chain has no version {version}.")
    try:
        return approvals.approval_chain_update(
            firm=firm,
            organisation=organisation,
            user=user,
            steps=old.steps,
            reason=f"Restored version {version}",
        )
    except approvals.ApprovalError as exc:
        raise RollbackError(f"Version {version} cannot be restored as it was: {exc}") from exc


def budget_policy_restore(
    *, firm: Firm, organisation: ClientOrganisation, version: int, user: User | None
) -> BudgetPolicy:
    """Save the rules of an earlier version of the budget policy as a new version, then check
    the open drafts against them (as saving the policy does)."""
    from budgeting.drafts.services import budget_policy_update, drafts_recheck

    old = (
        BudgetPolicy.history.filter(
            firm_id=firm.pk, organisation_id=organisation.pk, version=version
        )
        .order_by("-history_date", "-history_id")
        .first()
    )
    if old is None:
        raise RollbackError(f"The budget policy has no version {version}.")
    with transaction.atomic():
        policy = budget_policy_update(
            firm=firm,
            organisation=organisation,
            user=user,
            scope=old.scope,
            account_ids=old.account_ids,
            tracking_option_ids=old.tracking_option_ids,
            account_caps={k: Decimal(v) for k, v in old.account_caps.items()},
            class_caps={k: Decimal(v) for k, v in old.class_caps.items()},
            max_change_percent=old.max_change_percent,
            max_change_amount=old.max_change_amount,
            capex_account_ids=old.capex_account_ids,
            extra_approval_above=old.extra_approval_above,
            horizon=old.horizon,
            max_actual_multiple=old.max_actual_multiple,
            sign_check=old.sign_check,
            reason=f"Restored version {version}",
        )
        drafts_recheck(firm=firm, organisation=organisation)
    return policy


@dataclass(frozen=True)
class Revision:
    number: int
    at: dt.datetime
    by: User | None
    reason: str


def draft_revisions(*, firm: Firm, draft: Draft, limit: int = 30) -> list[Revision]:
    """The draft's revisions, newest first, each with when, who and why it was made (its last
    history record), for the restore buttons."""
    records = (
        Draft.history.filter(id=draft.pk, firm_id=firm.pk)
        .select_related("history_user")
        .order_by("-revision", "-history_date", "-history_id")
    )
    revisions: dict[int, Revision] = {}
    for record in records[: limit * 4]:
        if record.revision not in revisions:
            revisions[record.revision] = Revision(
                number=record.revision,
                at=record.history_date,
                by=record.history_user,
                reason=record.history_change_reason or "",
            )
        if len(revisions) >= limit:
            break
    return list(revisions.values())
