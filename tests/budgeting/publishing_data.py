"""Data of the publishing tests (tests/budgeting/publishing and tests/browser): the Xero
sandbox's café with its forecast budget added in Budget Manager, approved drafts to publish, and
Budget Manager's import of a file."""

import datetime as dt
from decimal import Decimal

from budgeting.models import Account, Budget, BudgetBalance
from budgeting.publishing.services import (
    budget_publication_create,
    forecast_budget_for,
    publishing_setting_update,
)
from tests.factories import ForecastDraftLineFactory
from tests.sandbox import SANDBOX_ADMIN, sandbox_http, sync

CAFE = "Harbour Lane Café"


def _overall(firm_cast) -> Budget:
    return Budget.objects.for_firm(firm_cast.firm).get(
        organisation=firm_cast.linked[CAFE], type="OVERALL"
    )


def _add_budget(xero_sandbox, name: str) -> str:
    """Budget Manager's "Add budget" in the sandbox's café, as a Xero user does it."""
    with sandbox_http(xero_sandbox) as http:
        answer = http.post(
            "/_sandbox/organisations/cafe/budgets", json={"name": name}, headers=SANDBOX_ADMIN
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["budgetId"]


def _forecast_budget(firm_cast, xero_sandbox) -> Budget:
    """The café's forecast budget: added in Xero, synced, and found by its name."""
    _add_budget(xero_sandbox, "Rolling Forecast")
    assert sync(firm_cast, CAFE).state == "succeeded"
    forecast = forecast_budget_for(
        firm=firm_cast.firm, organisation=firm_cast.linked[CAFE], original=_overall(firm_cast)
    )
    assert forecast.budget is not None
    return forecast.budget


def _future_months(firm_cast, budget: Budget) -> list[dt.date]:
    return sorted(
        set(
            BudgetBalance.objects.for_firm(firm_cast.firm)
            .filter(budget_line__budget=budget, period__gt=dt.date.today())
            .values_list("period", flat=True)
        )
    )[:3]


def _publish(firm_cast, target: Budget, changes: dict[str, Decimal], *, user=None):
    """Publish new figures into `target` for the three months after the open one of the café's
    overall budget: {account code: amount}."""
    firm = firm_cast.firm
    organisation = firm_cast.linked[CAFE]
    accounts = {a.code: a for a in Account.objects.for_firm(firm).filter(organisation=organisation)}
    months = _future_months(firm_cast, _overall(firm_cast))
    amounts = {
        (accounts[code], month): amount + index
        for code, amount in changes.items()
        for index, month in enumerate(months)
    }
    publication = budget_publication_create(
        firm=firm,
        organisation=organisation,
        budget=target,
        amounts=amounts,
        user=user or firm_cast.member("preparer").user,
    )
    return publication, amounts


def _import(xero_sandbox, budget_id: str, content: str):
    with sandbox_http(xero_sandbox) as http:
        answer = http.post(
            f"/_sandbox/organisations/cafe/budgets/{budget_id}/import",
            content=content.encode(),
            headers={**SANDBOX_ADMIN, "Content-Type": "text/csv"},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _two_codes(firm_cast) -> list[str]:
    organisation = firm_cast.linked[CAFE]
    lines = (
        BudgetBalance.objects.for_firm(firm_cast.firm)
        .filter(organisation=organisation, budget_line__budget__type="OVERALL")
        .exclude(budget_line__account__code="")
        .values_list("budget_line__account__code", flat=True)
        .distinct()
        .order_by("budget_line__account__code")
    )
    return list(lines)[:2]


def _sync_after_import(firm_cast):
    # The next ordinary sync, incremental: it reads every budget over the whole horizon, a
    # forecast budget that was empty when last read included.
    run = sync(firm_cast, CAFE)
    assert (run.kind, run.state) == ("incremental", "succeeded"), run.error


def _cells(firm_cast, budget_id: str) -> dict[tuple[int, dt.date], Decimal]:
    """Every cell of a budget as the last sync read it."""
    return {
        (b.budget_line.account_id, b.period): b.amount
        for b in BudgetBalance.objects.for_firm(firm_cast.firm)
        .filter(budget_line__budget__budget_id=budget_id)
        .select_related("budget_line")
    }


def _approved_draft(cast):
    """An approved draft of Rent (overall budget) whose November and December change, and
    whose January stays as budgeted; Sales for the North option, into its tracking budget."""
    from budgeting.models import (
        Draft,
        DraftBalance,
        TrackingCategory,
        TrackingOption,
    )

    firm, owned = cast.firm, {"firm": cast.firm, "organisation": cast.organisation}
    overall = Budget.objects.for_firm(firm).create(
        **owned, budget_id="bud-overall", type="OVERALL", description="Overall Budget"
    )
    category = TrackingCategory.objects.for_firm(firm).create(
        **owned, category_id="cat-1", name="Region"
    )
    north = TrackingOption.objects.for_firm(firm).create(
        **owned, category=category, option_id="opt-north", name="North"
    )
    north_budget = Budget.objects.for_firm(firm).create(
        **owned, budget_id="bud-north", type="TRACKING", description="North", tracking_option=north
    )
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=cast.member("preparer").user,
        status=Draft.Status.APPROVED,
        horizon=3,
        first_period=dt.date(2026, 11, 1),
        last_actual_period=dt.date(2026, 10, 1),
        original_budget=overall,
    )
    figures = {
        ("469", "Rent", None, overall): ["6000.00", "6000.40", "5000.00"],
        ("200", "Sales", north, north_budget): ["20000.50", "15000.00", "15000.00"],
    }
    for (code, name, option, budget), amounts in figures.items():
        account = Account.objects.for_firm(firm).create(
            **owned, account_id=f"acc-{code}", code=code, name=name, type="EXPENSE"
        )
        line = ForecastDraftLineFactory(
            **owned,
            draft=draft,
            account=account,
            tracking_option=option,
            original_budget=budget if option else None,
            confidence=60,
            accepted=True,
        )
        for index, amount in enumerate(amounts):
            period = dt.date(2026 + (10 + index) // 12, (10 + index) % 12 + 1, 1)
            original = Decimal("5000.00") if code == "469" else Decimal("15000.00")
            DraftBalance.objects.for_firm(firm).create(
                **owned,
                line=line,
                period=period,
                original_amount=original,
                suggested_amount=Decimal(amount),
                lo_80=0,
                hi_80=0,
                lo_95=0,
                hi_95=0,
            )
    return draft, overall, north_budget


def approve_through_the_chain(cast, draft) -> None:
    """Send `draft` (prepared by the preparer) through a one-step chain (the approver role) and
    every extra step it gets (the owners'), deciding each step as the service does."""
    from budgeting.approvals import services as approvals
    from budgeting.models import ApprovalChain, Draft

    if not ApprovalChain.objects.for_firm(cast.firm).filter(organisation=draft.organisation):
        approvals.approval_chain_update(
            firm=cast.firm,
            organisation=draft.organisation,
            user=cast.member("admin").user,
            steps=[{"name": "Manager", "roles": ["approver"]}],
        )
    Draft.objects.for_firm(cast.firm).filter(pk=draft.pk).update(status=Draft.Status.DRAFT)
    approvals.draft_submit(firm=cast.firm, draft=draft, user=draft.created_by)
    for role in ("approver", "owner"):
        draft.refresh_from_db()
        if draft.status != Draft.Status.SUBMITTED:
            break
        approvals.approval_decide(
            firm=cast.firm,
            draft=draft,
            approver=approvals.approver_for_member(firm=cast.firm, user=cast.member(role).user),
            decision="approve",
            channel="screen",
        )
    draft.refresh_from_db()
    assert draft.status == Draft.Status.APPROVED


def _replace_original(cast):
    publishing_setting_update(
        firm=cast.firm,
        organisation=cast.organisation,
        replace_original=True,
        reason="Re-based by the board",
        user=cast.member("admin").user,
    )


def _sandbox_draft(cast):
    """An approved draft of the café on its synced data: two accounts' next three months
    change, with cents that the file rounds away."""
    from budgeting.models import Draft, DraftBalance

    firm, organisation = cast.firm, cast.linked[CAFE]
    owned = {"firm": firm, "organisation": organisation}
    overall = _overall(cast)
    months = _future_months(cast, overall)
    original = _cells(cast, overall.budget_id)
    draft = Draft.objects.for_firm(firm).create(
        **owned,
        created_by=cast.member("preparer").user,
        status=Draft.Status.APPROVED,
        horizon=3,
        first_period=months[0],
        last_actual_period=dt.date(
            months[0].year - (months[0].month == 1), (months[0].month - 2) % 12 + 1, 1
        ),
        original_budget=overall,
    )
    approved = {}
    for index, code in enumerate(_two_codes(cast)):
        account = Account.objects.for_firm(firm).get(organisation=organisation, code=code)
        line = ForecastDraftLineFactory(
            **owned,
            draft=draft,
            account=account,
            trigger_period=draft.last_actual_period,
            confidence=60,
            accepted=True,
        )
        for month in months:
            before = original.get((account.pk, month), Decimal(0))
            amount = before + Decimal("250.50") * (index + 1)
            approved[(account.pk, month)] = amount
            DraftBalance.objects.for_firm(firm).create(
                **owned,
                line=line,
                period=month,
                original_amount=before,
                suggested_amount=amount,
                lo_80=0,
                hi_80=0,
                lo_95=0,
                hi_95=0,
            )
    return draft, overall, months, approved


def _after_sync(cast, *, full=False):
    from budgeting.pipeline import organisation_after_sync

    if full:
        _sync_after_import(cast)
    else:
        assert sync(cast, CAFE).state == "succeeded"
    organisation_after_sync(firm=cast.firm, organisation=cast.linked[CAFE], closed=False)
