"""Approval chains: the one place that decides who may approve a forecast draft, for the screens,
the API and email links alike.

Segregation of duties:
- the preparer, and anyone who edited the draft, cannot approve any step of it;
- one person approves at most one step of a round;
- steps are decided in order;
- a draft that changes after it was submitted (its revision moves) goes back to the first step.

People are compared by lowercased email, so a firm member and an external approver with the same
address are one person. Email links carry a signed token bound to the draft, its revision, the
step and the approver; only its SHA-256 is stored; it works once and expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from budgeting.approvals.models import (
    ApprovalChain,
    ApprovalDecision,
    ApprovalLink,
    ApprovalRequest,
    ApprovalStep,
    ExternalApprover,
)
from budgeting.approvals.selectors import draft_editors
from budgeting.approvals.signals import extra_approval_reasons
from budgeting.approvals.slack import approval_step_slack_post
from budgeting.departments.selectors import department_submission_problems
from budgeting.drafts.models import Draft, DraftBalance, DraftLine
from budgeting.drafts.services import draft_status_set
from core.email import email_message
from core.history import history_note
from core.money import amount_in
from core.tasks import enqueue
from tenants.models import ClientOrganisation, Firm, Membership, User
from tenants.roles import Action, Role, role_allows

logger = logging.getLogger(__name__)

LINK_SALT = "budgeting.approvals.link"
Condition = ApprovalChain.Condition
Decision = ApprovalDecision.Decision
Channel = ApprovalDecision.Channel


class ApprovalError(Exception):
    """A decision or a change the chain refuses; the message says why and what to do."""


def link_lifetime() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "APPROVAL_LINK_DAYS", 7))


# --- Who is deciding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Approver:
    """A person deciding: a firm member (with their role) or an external approver."""

    email: str
    user: User | None = None
    role: str | None = None
    external: ExternalApprover | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        return str(self.external) if self.external else self.email


def approver_for_member(*, firm: Firm, user: User) -> Approver:
    membership = Membership.objects.for_firm(firm).filter(user=user).first()
    return Approver(
        email=user.email.lower(), user=user, role=membership.role if membership else None
    )


def approver_for_external(*, external: ExternalApprover) -> Approver:
    return Approver(email=external.email.lower(), external=external)


# --- The policy --------------------------------------------------------------------------------


def _clean_step(firm: Firm, organisation: ClientOrganisation, number: int, raw: dict) -> dict:
    name = str(raw.get("name", "")).strip()
    if not name:
        raise ApprovalError(f"Step {number} needs a name.")
    roles = sorted({str(r) for r in raw.get("roles", [])})
    for role in roles:
        if role not in Role.values or not role_allows(role, Action.APPROVE):
            raise ApprovalError(f"Step {number}: the role {role!r} cannot approve.")
    member_ids = sorted({int(i) for i in raw.get("member_ids", [])})
    approving = {
        m.user_id
        for m in Membership.objects.for_firm(firm).filter(user_id__in=member_ids)
        if role_allows(m.role, Action.APPROVE)
    }
    if set(member_ids) - approving:
        raise ApprovalError(f"Step {number}: name only members of the firm whose role may approve.")
    external_ids = sorted({int(i) for i in raw.get("external_approver_ids", [])})
    known = set(
        ExternalApprover.objects.for_firm(firm)
        .filter(organisation=organisation, active=True, pk__in=external_ids)
        .values_list("pk", flat=True)
    )
    if set(external_ids) - known:
        raise ApprovalError(
            f"Step {number}: register external approvers for this organisation first."
        )
    if not (roles or member_ids or external_ids):
        raise ApprovalError(f"Step {number} ({name}) names nobody who can approve it.")
    condition = str(raw.get("condition", Condition.ALWAYS))
    if condition not in Condition.values:
        raise ApprovalError(f"Step {number}: unknown condition {condition!r}.")
    change_above = None
    if condition == Condition.CHANGE_ABOVE:
        try:
            change_above = Decimal(str(raw.get("change_above"))).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError) as exc:
            raise ApprovalError(f"Step {number}: give the size of change as an amount.") from exc
        if not change_above.is_finite() or change_above <= 0:
            raise ApprovalError(f"Step {number}: the size of change must be above zero.")
    return {
        "name": name,
        "roles": roles,
        "member_ids": member_ids,
        "external_approver_ids": external_ids,
        "condition": condition,
        "change_above": None if change_above is None else str(change_above),
    }


def approval_chain_update(
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    user: User | None,
    steps: list[dict],
    reason: str = "Approval chain changed",
) -> ApprovalChain:
    """Save the chain as a new version. Drafts already submitted keep the steps they got."""
    cleaned = [_clean_step(firm, organisation, n, raw) for n, raw in enumerate(steps, start=1)]
    if not cleaned:
        raise ApprovalError("An approval chain needs at least one step.")
    if not any(step["condition"] == Condition.ALWAYS for step in cleaned):
        raise ApprovalError("At least one step must always apply, so every draft is approved.")
    with transaction.atomic():
        policy = (
            ApprovalChain.objects.for_firm(firm)
            .select_for_update()
            .filter(organisation=organisation)
            .first()
        )
        if policy is None:
            policy = ApprovalChain(firm=firm, organisation=organisation, version=1)
        else:
            policy.version += 1
        policy.steps = cleaned
        policy.updated_by = user
        policy.updated_at = timezone.now()
        history_note(policy, reason=reason, user=user)
        policy.save()
    return policy


def external_approver_register(
    *, firm: Firm, organisation: ClientOrganisation, email: str, name: str = "", user: User | None
) -> ExternalApprover:
    email = email.strip().lower()
    external, _created = ExternalApprover.objects.for_firm(firm).get_or_create(
        firm=firm, organisation=organisation, email=email, defaults={"name": name.strip()}
    )
    if not external.active or (name and external.name != name.strip()):
        external.active = True
        external.name = name.strip() or external.name
        history_note(external, reason="Registered again", user=user)
        external.save()
    return external


# --- Conditions and the people of a draft ------------------------------------------------------


@dataclass(frozen=True)
class DraftConditions:
    """What the conditional steps of a chain look at in a draft."""

    capex_lines: tuple[str, ...]  # lines of the budget policy's capital-expenditure accounts
    largest_change: Decimal  # the largest change of a line over the horizon (absolute)
    # Each line the budget policy marked for the extra approval step, with why:
    # "400 Advertising: Capital expenditure account".
    extra_reasons: tuple[str, ...]
    # What the extra reasons are about ("capex", "change" above the policy's amount, "other":
    # a higher job's), and the policy's amount: a chain's own capex or change-above step that
    # applies covers the first two, so the firm's owners are not asked twice for one reason.
    extra_kinds: frozenset[str] = frozenset()
    extra_above: Decimal | None = None


def _conditions(firm: Firm, draft: Draft) -> DraftConditions:
    from budgeting.drafts.models import BudgetPolicy

    policy = BudgetPolicy.objects.for_firm(firm).filter(organisation=draft.organisation).first()
    capex_ids = set(policy.capex_account_ids) if policy else set()
    lines = list(
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
        .order_by("account__code", "account__name", "tracking_option__name", "pk")
    )
    totals: dict[int, Decimal] = {}
    for balance in DraftBalance.objects.for_firm(firm).filter(line__draft=draft):
        totals[balance.line_id] = totals.get(balance.line_id, Decimal(0)) + balance.change
    others = tuple(
        reason
        for _receiver, reasons in extra_approval_reasons.send(sender=Draft, firm=firm, draft=draft)
        for reason in reasons or ()
    )
    kinds = {"other"} if others else set()
    for line in lines:
        if line.needs_extra_approval:
            capex = line.account_id in capex_ids
            kinds |= {"capex"} if capex else set()
            # A capex line's other reasons, and any other line's, are its change.
            if len(line.extra_approval_reasons) > capex:
                kinds.add("change")
    return DraftConditions(
        capex_lines=tuple(str(line) for line in lines if line.account_id in capex_ids),
        largest_change=max((abs(v) for v in totals.values()), default=Decimal(0)),
        # The verdicts stored on the lines by the budget policy's last check (drafts.services):
        # the same ones the draft's screen and the API show.
        extra_reasons=tuple(
            f"{line}: {reason}"
            for line in lines
            if line.needs_extra_approval
            for reason in line.extra_approval_reasons
        )
        # The jobs above (publishing: "replace the original" is on) may ask for the step too.
        + others,
        extra_kinds=frozenset(kinds),
        extra_above=policy.extra_approval_above if policy else None,
    )


def _step_reasons(step: dict, conditions: DraftConditions) -> list[str]:
    """Why a conditional step applies to the draft; empty when it does not. An unconditional
    step has no reasons: it always applies."""
    if step["condition"] == Condition.CAPEX:
        return [f"{line}: Capital expenditure account" for line in conditions.capex_lines]
    if step["condition"] == Condition.CHANGE_ABOVE:
        above = Decimal(step["change_above"])
        if conditions.largest_change > above:
            return [
                f"A line changes by {amount_in(conditions.largest_change)} over the draft, "
                f"above {amount_in(above)}"
            ]
        return []
    if step["condition"] == Condition.EXTRA_APPROVAL:
        return list(conditions.extra_reasons)
    return []


def _step_applies(step: dict, conditions: DraftConditions) -> bool:
    return step["condition"] == Condition.ALWAYS or bool(_step_reasons(step, conditions))


# Who decides the budget policy's extra approval step until the firm chooses on the approval
# chain screen (a step whose condition is "extra_approval"): the firm's owners. Added last,
# and only to a draft that needs it, so no such draft reaches publishing without it.
DEFAULT_EXTRA_STEP = {
    "name": "Extra approval",
    "roles": [Role.OWNER.value],
    "member_ids": [],
    "external_approver_ids": [],
    "condition": Condition.EXTRA_APPROVAL.value,
    "change_above": None,
}


def _with_extra_step(steps: list[dict], conditions: DraftConditions) -> list[dict]:
    """The chain's steps, and the firm's owners' extra step when the policy asks for one the
    chain does not already give: a chain with its own extra approval step keeps it; a capex
    step that applies covers capital expenditure; a change-above step that applies at or below
    the policy's amount covers a large change."""
    if not conditions.extra_reasons:
        return steps
    if any(step["condition"] == Condition.EXTRA_APPROVAL for step in steps):
        return steps
    needed = set(conditions.extra_kinds)
    for step in steps:
        if not _step_applies(step, conditions):
            continue
        if step["condition"] == Condition.CAPEX:
            needed.discard("capex")
        elif (
            step["condition"] == Condition.CHANGE_ABOVE
            and conditions.extra_above is not None
            and Decimal(step["change_above"]) <= conditions.extra_above
        ):
            needed.discard("change")
    return [*steps, DEFAULT_EXTRA_STEP] if needed else steps


def draft_extra_approval_steps(*, firm: Firm, draft: Draft) -> list[str]:
    """The names of the steps that will decide the budget policy's extra approval of the draft
    once it is submitted: the chain's own extra step, or the chain's capex or change-above
    steps that cover it, and "the firm's owners" step when nothing in the chain does."""
    chain = ApprovalChain.objects.for_firm(firm).filter(organisation=draft.organisation).first()
    steps = chain.steps if chain else []
    conditions = _conditions(firm, draft)
    planned = _with_extra_step(steps, conditions)
    if any(step is DEFAULT_EXTRA_STEP for step in planned):
        return []
    covering = (Condition.EXTRA_APPROVAL, Condition.CAPEX, Condition.CHANGE_ABOVE)
    return [
        step["name"]
        for step in planned
        if step["condition"] in covering and _step_applies(step, conditions)
    ]


def chain_extra_step(chain: ApprovalChain | None) -> dict | None:
    """The chain's own extra approval step, None when the firm has not chosen who decides it."""
    steps = chain.steps if chain else []
    return next((s for s in steps if s["condition"] == Condition.EXTRA_APPROVAL), None)


def step_approvers(*, firm: Firm, step: ApprovalStep) -> list[Approver]:
    """Everyone the step names: members by role or by name (whose role may approve), and the
    organisation's external approvers it names."""
    memberships = (
        Membership.objects.for_firm(firm)
        .filter(Q(role__in=step.roles) | Q(user_id__in=step.member_ids))
        .select_related("user")
    )
    people = [
        Approver(email=m.user.email.lower(), user=m.user, role=m.role)
        for m in memberships
        if role_allows(m.role, Action.APPROVE)
    ]
    people += [
        approver_for_external(external=e)
        for e in ExternalApprover.objects.for_firm(firm).filter(
            organisation_id=step.organisation_id, active=True, pk__in=step.external_approver_ids
        )
    ]
    return people


def _named_by(step: ApprovalStep, approver: Approver) -> bool:
    if approver.external is not None:
        return approver.external.active and approver.external.pk in step.external_approver_ids
    if approver.user is None or approver.role is None:
        return False
    if not role_allows(approver.role, Action.APPROVE):
        return False
    return approver.role in step.roles or approver.user.pk in step.member_ids


# --- Submitting and restarting ----------------------------------------------------------------


def _steps_create(firm: Firm, request: ApprovalRequest, steps: list[dict]) -> ApprovalStep:
    """Make the request's steps; returns the one opened (the first that applies). A draft with
    lines the budget policy marked gets the extra approval step, the chain's own or the
    default one."""
    conditions = _conditions(firm, request.draft)
    opened = None
    now = timezone.now()
    for position, raw in enumerate(_with_extra_step(steps, conditions), start=1):
        applies = _step_applies(raw, conditions)
        status = ApprovalStep.Status.SKIPPED
        if applies:
            status = ApprovalStep.Status.WAITING if opened else ApprovalStep.Status.OPEN
        reasons = _step_reasons(raw, conditions)
        step = ApprovalStep(
            firm=firm,
            organisation=request.organisation,
            request=request,
            position=position,
            name=raw["name"],
            roles=raw["roles"],
            member_ids=raw["member_ids"],
            external_approver_ids=raw["external_approver_ids"],
            condition=raw["condition"],
            change_above=raw["change_above"],
            reasons=reasons,
            status=status,
            opened_at=now if status == ApprovalStep.Status.OPEN else None,
        )
        history_note(
            step,
            reason=(
                "Not needed for this draft"
                if status == ApprovalStep.Status.SKIPPED
                # The reasons are on the step itself (history's reason holds 100 characters).
                else "Step set up"
            ),
        )
        step.save()
        if applies and opened is None:
            opened = step
    return opened


def _notify_on_commit(firm: Firm, step_id: int) -> None:
    """Email the step's approvers from a worker once the step is committed: sending mail in the
    request would make the decision wait on the mail server, and a rollback would leave emails
    pointing at a step that never opened."""
    enqueue("budgeting.tasks.approval_step_notify_task", firm.pk, step_id)


def draft_submit(*, firm: Firm, draft: Draft, user: User) -> ApprovalRequest:
    """Send a draft for approval under the organisation's current chain."""
    from budgeting.drafts.services import draft_can_submit

    with transaction.atomic():
        draft = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
        reasons = draft_can_submit(firm=firm, draft=draft)
        # A draft prepared by department: every department done, every gap closed or explained.
        reasons += department_submission_problems(firm=firm, draft=draft)
        if reasons:
            raise ApprovalError(" ".join(reasons))
        policy = (
            ApprovalChain.objects.for_firm(firm).filter(organisation=draft.organisation).first()
        )
        if policy is None or not policy.steps:
            raise ApprovalError(
                "This organisation has no approval chain yet: ask an admin to set one up."
            )
        request = ApprovalRequest(
            firm=firm,
            organisation=draft.organisation,
            draft=draft,
            revision=draft.revision,
            chain_version=policy.version,
            submitted_by=user,
        )
        history_note(
            request, reason=f"Submitted under approval chain version {policy.version}", user=user
        )
        request.save()
        first = _steps_create(firm, request, policy.steps)
        draft_status_set(
            draft=draft, status=Draft.Status.SUBMITTED, reason="Submitted for approval", user=user
        )
        if first is not None:
            _notify_on_commit(firm, first.pk)
    return request


def _pending_request(firm: Firm, draft: Draft) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.for_firm(firm)
        .select_for_update()
        .filter(draft=draft, status=ApprovalRequest.Status.PENDING)
        .first()
    )


def _restart(firm: Firm, request: ApprovalRequest, draft: Draft, reason: str) -> None:
    """Back to the first step at the draft's current revision. The old round is closed with its
    decisions kept; a new round with the same steps starts, so earlier approvals no longer count."""
    steps = [
        {
            "name": s.name,
            "roles": s.roles,
            "member_ids": s.member_ids,
            "external_approver_ids": s.external_approver_ids,
            "condition": s.condition,
            "change_above": None if s.change_above is None else str(s.change_above),
        }
        for s in ApprovalStep.objects.for_firm(firm).filter(request=request).order_by("position")
    ]
    ApprovalLink.objects.for_firm(firm).filter(step__request=request, used_at__isnull=True).update(
        expires_at=timezone.now()
    )
    _close(request, ApprovalRequest.Status.WITHDRAWN, None, reason)
    again = ApprovalRequest(
        firm=firm,
        organisation=request.organisation,
        draft=draft,
        revision=draft.revision,
        chain_version=request.chain_version,
        submitted_by=request.submitted_by,
    )
    history_note(again, reason=reason, user=None)
    again.save()
    first = _steps_create(firm, again, steps)
    if first is not None:
        _notify_on_commit(firm, first.pk)


def approval_request_restart_if_changed(*, firm: Firm, draft: Draft) -> bool:
    """Call after any change to a submitted draft: when its revision moved, approval goes back
    to the first step. Returns whether it did."""
    with transaction.atomic():
        draft = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
        request = _pending_request(firm, draft)
        if request is None or request.revision == draft.revision:
            return False
        _restart(
            firm,
            request,
            draft,
            f"The draft changed (revision {request.revision} → {draft.revision}): "
            "approval starts again at the first step",
        )
    return True


def approval_requests_restart(*, firm: Firm, organisation: ClientOrganisation, reason: str) -> int:
    """Send every draft of the organisation waiting for approval back to the first step, with
    its steps set up again (a setting that adds a step changed). Returns how many."""
    restarted = 0
    with transaction.atomic():
        pending = (
            ApprovalRequest.objects.for_firm(firm)
            .select_for_update()
            .filter(organisation=organisation, status=ApprovalRequest.Status.PENDING)
            .select_related("draft")
        )
        for request in pending:
            _restart(firm, request, request.draft, reason)
            restarted += 1
    return restarted


# --- Deciding ----------------------------------------------------------------------------------


def _refuse_unless_allowed(
    firm: Firm, request: ApprovalRequest, step: ApprovalStep, approver: Approver
) -> None:
    if approver.email in draft_editors(firm=firm, draft=request.draft):
        raise ApprovalError(
            "You prepared or edited this draft, so you cannot approve it: segregation of duties "
            "needs someone else."
        )
    if not _named_by(step, approver):
        raise ApprovalError(
            f"You are not an approver of step {step.position} ({step.name}) of this draft."
        )
    others = ApprovalDecision.objects.for_firm(firm).filter(
        request=request,
        revision=request.revision,
        decision=Decision.APPROVE,
        email=approver.email,
    )
    if others.exclude(step=step).exists():
        raise ApprovalError(
            "You already approved another step of this draft; one person approves at most one "
            "step. Someone else must decide this one."
        )


def approval_decision_check(
    *, firm: Firm, step: ApprovalStep, approver: Approver, revision: int | None = None
) -> None:
    """Raise ApprovalError, saying why, unless `approver` could decide `step` now: the step is
    open, the draft is still at `revision`, and every segregation-of-duties rule of a decision
    allows it. Changes nothing (a click in Slack asks this before it hands out a link)."""
    request = step.request
    if request.status != ApprovalRequest.Status.PENDING or step.status != ApprovalStep.Status.OPEN:
        raise ApprovalError(
            f"Step {step.position} ({step.name}) is not open for a decision any more: it was "
            "decided, or the draft moved on."
        )
    if revision is not None and (
        revision != request.revision or request.draft.revision != request.revision
    ):
        raise ApprovalError(
            "The draft changed after this message was sent: approval starts again, and a new "
            "message comes when your step opens."
        )
    _refuse_unless_allowed(firm, request, step, approver)


def approval_decide(
    *,
    firm: Firm,
    draft: Draft,
    approver: Approver,
    decision: str,
    channel: str,
    comment: str = "",
    step_id: int | None = None,
    revision: int | None = None,
    line_ids: list[int] | tuple[int, ...] = (),
    link: ApprovalLink | None = None,
) -> ApprovalDecision:
    """Decide the open step of a draft. `step_id` and `revision`, when given (links, the API),
    must still be the open step and the draft's revision, or the decision is refused as stale.
    A `link` is spent in the same transaction as the decision, and only if it is recorded."""
    if decision not in Decision.values:
        raise ApprovalError(f"Unknown decision {decision!r}.")
    if channel not in Channel.values:
        raise ApprovalError(f"Unknown channel {channel!r}.")
    comment = (comment or "").strip()
    if decision != Decision.APPROVE and not comment:
        raise ApprovalError("Say why in a comment: the preparer needs to know what to change.")
    restarted = False
    with transaction.atomic():
        draft = Draft.objects.for_firm(firm).select_for_update().get(pk=draft.pk)
        request = _pending_request(firm, draft)
        if request is None:
            raise ApprovalError(
                f"This draft is not waiting for approval (it is "
                f"{draft.get_status_display().lower()})."
            )
        if request.revision != draft.revision:
            _restart(
                firm,
                request,
                draft,
                "The draft changed after it was submitted: approval starts again at the first step",
            )
            restarted = True
        else:
            result = _decide(
                firm=firm,
                request=request,
                draft=draft,
                approver=approver,
                decision=decision,
                channel=channel,
                comment=comment,
                step_id=step_id,
                revision=revision,
                line_ids=line_ids,
            )
            if link is not None:
                spent = (
                    ApprovalLink.objects.for_firm(firm)
                    .filter(pk=link.pk, used_at__isnull=True)
                    .update(used_at=timezone.now())
                )
                if not spent:
                    raise ApprovalError("This link has already been used: it works once.")
    if restarted:
        raise ApprovalError(
            "The draft changed since this step was opened, so approval went back to the first "
            "step. Review the current draft and decide again when your step opens."
        )
    return result


def _decide(
    *,
    firm: Firm,
    request: ApprovalRequest,
    draft: Draft,
    approver: Approver,
    decision: str,
    channel: str,
    comment: str,
    step_id: int | None,
    revision: int | None,
    line_ids: list[int] | tuple[int, ...],
) -> ApprovalDecision:
    if revision is not None and revision != draft.revision:
        raise ApprovalError(
            "The draft changed after this was sent to you: open the current draft and decide "
            "on it instead."
        )
    steps = list(ApprovalStep.objects.for_firm(firm).filter(request=request).order_by("position"))
    step = next((s for s in steps if s.status == ApprovalStep.Status.OPEN), None)
    if step is None:
        raise ApprovalError("No step of this draft is open for a decision.")
    if step_id is not None and step_id != step.pk:
        asked = next((s for s in steps if s.pk == step_id), None)
        if asked is not None and asked.position > step.position:
            raise ApprovalError(
                f"Steps are decided in order: step {step.position} ({step.name}) comes first."
            )
        raise ApprovalError("That step has already been decided.")
    _refuse_unless_allowed(firm, request, step, approver)
    now = timezone.now()
    lines = sorted(
        set(
            DraftLine.objects.for_firm(firm)
            .filter(draft=draft, pk__in=list(line_ids))
            .values_list("pk", flat=True)
        )
    )
    record = ApprovalDecision(
        firm=firm,
        organisation=request.organisation,
        step=step,
        request=request,
        revision=draft.revision,
        decision=decision,
        channel=channel,
        user=approver.user,
        external_approver=approver.external,
        email=approver.email,
        comment=comment,
        line_ids=lines,
    )
    reason = f"{Decision(decision).label} by {approver.email} ({channel})"
    history_note(record, reason=reason, user=approver.user)
    record.save()
    step.status = {
        Decision.APPROVE: ApprovalStep.Status.APPROVED,
        Decision.REJECT: ApprovalStep.Status.REJECTED,
        Decision.REQUEST_CHANGES: ApprovalStep.Status.CHANGES_REQUESTED,
    }[decision]
    step.decided_at = now
    history_note(step, reason=reason, user=approver.user)
    step.save()
    # Every link to this step is spent: the step is decided.
    ApprovalLink.objects.for_firm(firm).filter(step=step, used_at__isnull=True).update(
        expires_at=now
    )
    if decision == Decision.APPROVE:
        following = next((s for s in steps if s.status == ApprovalStep.Status.WAITING), None)
        if following is not None:
            following.status = ApprovalStep.Status.OPEN
            following.opened_at = now
            history_note(following, reason=f"Step {step.position} approved")
            following.save()
            _notify_on_commit(firm, following.pk)
        else:
            _close(request, ApprovalRequest.Status.APPROVED, approver.user)
            draft_status_set(
                draft=draft,
                status=Draft.Status.APPROVED,
                reason="Approved at every step",
                user=approver.user,
            )
    elif decision == Decision.REJECT:
        _close(request, ApprovalRequest.Status.REJECTED, approver.user)
        draft_status_set(
            draft=draft,
            status=Draft.Status.REJECTED,
            reason=f"Rejected: {comment}",
            user=approver.user,
        )
    else:
        _close(request, ApprovalRequest.Status.CHANGES_REQUESTED, approver.user)
        # Back to the preparer as an editable draft; submitting again starts a new round.
        draft_status_set(
            draft=draft,
            status=Draft.Status.DRAFT,
            reason=f"Changes requested: {comment}",
            user=approver.user,
        )
    return record


def _close(request: ApprovalRequest, status: str, user: User | None, reason: str = "") -> None:
    request.status = status
    request.closed_at = timezone.now()
    history_note(request, reason=reason or ApprovalRequest.Status(status).label, user=user)
    request.save()


# --- Email links -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def approval_link_create(
    *,
    firm: Firm,
    step: ApprovalStep,
    approver: Approver,
    channel: str = Channel.EMAIL,
    lifetime: dt.timedelta | None = None,
) -> tuple[ApprovalLink, str]:
    """A sign-off link for one approver of one step at the draft's current revision. Returns
    the link and its token (which only ever goes to that approver: their email, or a Slack
    message only they see). A decision through it is recorded with `channel`."""
    request = step.request
    link = ApprovalLink(
        firm=firm,
        organisation_id=step.organisation_id,
        step=step,
        draft_id=request.draft_id,
        revision=request.revision,
        user=approver.user,
        external_approver=approver.external,
        email=approver.email,
        channel=channel,
        expires_at=timezone.now() + (lifetime or link_lifetime()),
        token_hash="",
    )
    link.save()
    token = signing.dumps(
        {
            "l": link.pk,
            "p": request.draft_id,
            "r": request.revision,
            "s": step.pk,
            "e": approver.email,
            "n": secrets.token_urlsafe(16),
        },
        salt=LINK_SALT,
        compress=True,
    )
    link.token_hash = _token_hash(token)
    link.save(update_fields=["token_hash"])
    return link, token


class LinkProblem(Exception):
    """Why a link cannot be used, for the page that says so: `title`, and the message."""

    def __init__(self, title: str, message: str, status: int = 410):
        super().__init__(message)
        self.title = title
        self.status = status


@dataclass
class LinkContext:
    link: ApprovalLink
    firm: Firm
    draft: Draft
    step: ApprovalStep
    approver: Approver


def approval_link_check(*, token: str, signed_in: User | None = None) -> LinkContext:
    """The link of a token, if it can still decide; LinkProblem saying why not. Changes nothing."""
    try:
        payload = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature as exc:
        raise LinkProblem(
            "This link is not valid",
            "The link is incomplete or was changed. Open it again from the email, copying the "
            "whole address; if that fails, ask the preparer to send the draft again.",
            404,
        ) from exc
    # The token itself is the scope: it names one link of one firm.
    with scopes_disabled():
        link = (
            ApprovalLink.objects.select_related(
                "firm", "step", "step__request", "draft", "user", "external_approver"
            )
            .filter(token_hash=_token_hash(token))
            .first()
        )
    bound = link is not None and (
        payload.get("l"),
        payload.get("p"),
        payload.get("r"),
        payload.get("s"),
        payload.get("e"),
    ) == (link.pk, link.draft_id, link.revision, link.step_id, link.email)
    if not bound:
        raise LinkProblem(
            "This link is not valid",
            "We do not know this link. Use the newest email about this draft, or ask the "
            "preparer to send it again.",
            404,
        )
    if link.used_at is not None:
        raise LinkProblem(
            "This link has already been used",
            f"It was used on {timezone.localtime(link.used_at):%d %b %Y at %H:%M}. A sign-off "
            "link works once; if that was not you, tell the firm.",
        )
    step = link.step
    request = step.request
    draft = link.draft
    if (
        request.status != ApprovalRequest.Status.PENDING
        or step.status != ApprovalStep.Status.OPEN
        or draft.revision != link.revision
        or request.revision != link.revision
    ):
        raise LinkProblem(
            "This draft has moved on",
            "The draft changed or this step was already decided since the email was sent. "
            "If your decision is still needed you will get a new email with a fresh link.",
        )
    if link.expires_at <= timezone.now():
        raise LinkProblem(
            "This link has expired",
            f"Sign-off links work for {link_lifetime().days} days. Ask the preparer to send "
            "the draft again for a new link.",
        )
    if signed_in is not None and signed_in.email.lower() != link.email:
        raise LinkProblem(
            "This link is for someone else",
            f"It was sent to {link.email}, but you are signed in as {signed_in.email}. Sign "
            "out and open the link again; each approver gets their own link.",
            403,
        )
    firm = link.firm
    if link.external_approver is not None:
        approver = approver_for_external(external=link.external_approver)
    else:
        approver = approver_for_member(firm=firm, user=link.user)
    return LinkContext(link=link, firm=firm, draft=draft, step=step, approver=approver)


def approval_link_decide(
    *,
    token: str,
    decision: str,
    comment: str = "",
    line_ids: list[int] | tuple[int, ...] = (),
    signed_in: User | None = None,
) -> ApprovalDecision:
    """Decide through an email link (a POST): the same rules as every channel, once. A refused
    decision leaves the link unspent."""
    context = approval_link_check(token=token, signed_in=signed_in)
    try:
        return approval_decide(
            firm=context.firm,
            draft=context.draft,
            approver=context.approver,
            decision=decision,
            channel=context.link.channel,
            comment=comment,
            step_id=context.step.pk,
            revision=context.link.revision,
            line_ids=line_ids,
            link=context.link,
        )
    except ApprovalError as exc:
        raise LinkProblem("Your decision was not recorded", str(exc), 409) from exc


def draft_changes_requested(*, firm: Firm, draft: Draft) -> ApprovalDecision | None:
    """The request for changes the draft came back with, while it is back with the preparer
    (until it is submitted again)."""
    if draft.status != Draft.Status.DRAFT:
        return None
    latest = (
        ApprovalRequest.objects.for_firm(firm)
        .filter(draft=draft)
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if latest is None or latest.status != ApprovalRequest.Status.CHANGES_REQUESTED:
        return None
    return (
        ApprovalDecision.objects.for_firm(firm)
        .filter(request=latest, decision=Decision.REQUEST_CHANGES)
        .select_related("user")
        .order_by("-created_at")
        .first()
    )


def draft_rejection(*, firm: Firm, draft: Draft) -> ApprovalDecision | None:
    """The rejection that ended a rejected draft, with its comment (always given)."""
    if draft.status != Draft.Status.REJECTED:
        return None
    return (
        ApprovalDecision.objects.for_firm(firm)
        .filter(request__draft=draft, decision=Decision.REJECT)
        .select_related("user")
        .order_by("-created_at")
        .first()
    )


def draft_summary(*, firm: Firm, draft: Draft, largest: int = 5) -> dict:
    """What an approver sees first: the net profit impact and the largest changes."""
    lines = list(
        DraftLine.objects.for_firm(firm)
        .filter(draft=draft)
        .select_related("account", "tracking_option")
    )
    changes: dict[int, Decimal] = {}
    for balance in DraftBalance.objects.for_firm(firm).filter(line__draft=draft):
        changes[balance.line_id] = changes.get(balance.line_id, Decimal(0)) + balance.change
    income = {"income", "other_income"}
    net = sum(
        (
            changes.get(line.pk, Decimal(0)) * (1 if line.section in income else -1)
            for line in lines
        ),
        Decimal(0),
    )
    ranked = sorted(lines, key=lambda line: abs(changes.get(line.pk, Decimal(0))), reverse=True)
    return {
        "net_profit_impact": net,
        "largest": [(line, changes.get(line.pk, Decimal(0))) for line in ranked[:largest]],
        "failing_policy": sum(1 for line in lines if not line.policy_ok),
        "extra_approval": sum(1 for line in lines if line.needs_extra_approval),
        "line_count": len(lines),
    }


def approval_step_recipients(*, firm: Firm, step: ApprovalStep) -> list[Approver]:
    """The approvers a step's emails go to: everyone it names who could still decide it, so
    nobody gets a link they could not use (editors, whoever approved an earlier step)."""
    request = step.request
    excluded = draft_editors(firm=firm, draft=request.draft) | set(
        ApprovalDecision.objects.for_firm(firm)
        .filter(request=request, decision=Decision.APPROVE)
        .values_list("email", flat=True)
    )
    return [a for a in step_approvers(firm=firm, step=step) if a.email not in excluded]


def approval_step_notify(*, firm: Firm, step_id: int, reminder: bool = False) -> int:
    """Email every approver of a step who may decide it a fresh sign-off link, if the step is
    still open (it may have been decided, or the round restarted, before this ran). Returns the
    emails sent.

    The first emails go one to a transaction, each with its link: the link committed is the
    record that its approver was mailed, so a mail server lost part-way mails again only those
    it had not reached (the task's retry). The last transaction marks the step sent
    (`notified_at`) and posts it to Slack; a task delivered twice finds it marked and sends
    nothing. Reminders are claimed by approval_reminders_send and go in one transaction."""
    draft_id = (
        ApprovalStep.objects.for_firm(firm)
        .filter(pk=step_id)
        .values_list("request__draft_id", flat=True)
        .first()
    )
    if draft_id is None:
        return 0
    sent = 0
    while True:
        with transaction.atomic():
            # The draft is locked before its step, the order every decision and edit takes
            # them in: one landing mid-send waits for the send instead of deadlocking with it.
            Draft.objects.for_firm(firm).select_for_update().filter(pk=draft_id).first()
            step = (
                ApprovalStep.objects.for_firm(firm)
                .select_for_update(of=("self",))
                .select_related("request", "request__draft", "request__organisation")
                .filter(pk=step_id)
                .first()
            )
            if (
                step is None
                or step.status != ApprovalStep.Status.OPEN
                or step.request.status != ApprovalRequest.Status.PENDING
                or (not reminder and step.notified_at is not None)
            ):
                return sent
            summary = draft_summary(firm=firm, draft=step.request.draft)
            recipients = approval_step_recipients(firm=firm, step=step)
            waiting = recipients
            if not reminder:
                # Links emailed before the step is marked are this round's first emails.
                mailed = set(
                    ApprovalLink.objects.for_firm(firm)
                    .filter(step=step, channel=Channel.EMAIL)
                    .values_list("email", flat=True)
                )
                waiting = [a for a in recipients if a.email not in mailed][:1]
            if waiting:
                # A failure rolls this email's link back, so the retry mails it again.
                messages = _approval_step_messages(firm, step, reminder, summary, waiting)
                get_connection().send_messages(messages)
                sent += len(messages)
                if not reminder:
                    continue
            # Beside the emails, when the firm asked: written to the Slack outbox in this
            # transaction, so it goes out once, with the step marked notified.
            approval_step_slack_post(
                firm=firm, step=step, summary=summary, recipients=recipients, reminder=reminder
            )
            if not reminder:
                ApprovalStep.objects.for_firm(firm).filter(pk=step.pk).update(
                    notified_at=timezone.now()
                )
            return sent


def _approval_step_messages(
    firm: Firm, step: ApprovalStep, reminder: bool, summary: dict, recipients: list[Approver]
) -> list[EmailMultiAlternatives]:
    """The email of a step to each of its recipients, each with a new sign-off link."""
    request = step.request
    messages = []
    for approver in recipients:
        _link, token = approval_link_create(firm=firm, step=step, approver=approver)
        context = {
            "approver": approver,
            "request": request,
            "draft": request.draft,
            "organisation": request.organisation,
            "step": step,
            "summary": summary,
            "reminder": reminder,
            "link_url": settings.SITE_URL + reverse("approval_link", args=[token]),
            "expires_days": link_lifetime().days,
            "site_name": settings.SITE_NAME,
        }
        subject = f"Approve the forecast draft of {request.organisation.name} ({step.name})"
        messages.append(
            email_message(
                template="approval_step",
                to=[approver.email],
                subject=f"Reminder: {subject}" if reminder else subject,
                context=context,
            )
        )
    return messages
