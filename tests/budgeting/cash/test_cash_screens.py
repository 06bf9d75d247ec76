"""The cash page, its CSV and the API: closing cash per month, actual from the synced balance
sheet and projected from the forecast P&L, with its low point and the threshold the firm sets.
Every URL is refused to another firm."""

from decimal import Decimal

from django_scopes import scopes_disabled

from budgeting.cash.selectors import cash_view_load
from budgeting.models import CashSetting, SyncRun
from tenants.roles import Role
from tests.api import bearer
from tests.budgeting.screens import csv_rows, login, screen_url, text
from tests.factories import api_key_create
from tests.sandbox import sync

CAFE = "Harbour Lane Café"


def _synced(connected_firm):
    run = sync(connected_firm, CAFE)
    assert run.state == SyncRun.State.SUCCEEDED, run.error
    return connected_firm.linked[CAFE]


def test_the_cash_page_shows_actual_and_projected_cash_and_its_low_point(
    client, connected_firm, firm_b
):
    organisation = _synced(connected_firm)
    with scopes_disabled():
        view = cash_view_load(firm=connected_firm.firm, organisation=organisation)
    actual = [m for m in view.months if m.actual]
    projected = [m for m in view.months if not m.actual]
    assert len(actual) == 12 and projected, "a year of month ends and a projection from budget"
    # The synced balance sheet balances, and so does every projected month.
    assert all(m.assets == m.liabilities + m.equity for m in view.months)
    for before, month in zip(view.months, view.months[1:], strict=False):
        if not month.actual:
            assert month.cash - before.cash == month.net_cash_flow
            assert month.equity - before.equity == month.net_profit
    low = view.projection.low
    assert low.cash == min(m.cash for m in projected)
    assert view.sources and "budget" in view.sources[0][0]

    login(client, connected_firm, Role.OWNER)
    url = screen_url("cash_view", connected_firm, organisation)
    page = text(client.get(url))
    assert "Projected low point" in page and f"{low.period:%B %Y}" in page
    assert 'role="img"' in page and "Closing cash per month, actual and projected" in page
    table = page.split('id="cash-months"')[1].split("</table>")[0]
    assert table.count('<th scope="row">') == len(view.months)
    assert "(low point)" in page
    # The bank accounts at the last month end add up to its closing cash.
    assert view.banks and sum(amount for _name, amount in view.banks) == actual[-1].cash
    assert f"Bank accounts at the end of {actual[-1].period:%B %Y}" in page

    # A threshold above every projected month: the first projected month is below it.
    above = max(m.cash for m in projected) + Decimal("1000.00")
    response = client.post(
        screen_url("cash_threshold_edit", connected_firm, organisation), {"threshold": above}
    )
    assert response.status_code == 302
    with scopes_disabled():
        setting = CashSetting.objects.get(organisation=organisation)
        assert setting.threshold == above
        record = setting.history.latest()
        assert record.history_user == connected_firm.member(Role.OWNER).user
        assert record.history_change_reason.startswith("Cash threshold set to")
    page = text(client.get(url))
    assert f"From {projected[0].period:%B %Y}" in page

    rows = csv_rows(client.get(screen_url("cash_view_csv", connected_firm, organisation)))
    assert rows[0][:2] == ["Month", "Actual or projected"] and len(rows) == 1 + len(view.months)
    assert [r[10] for r in rows[1:]] == [f"{m.cash:.2f}" for m in view.months]
    assert {r[-1] for r in rows[1:] if r[1] == "projected"} == {"yes"}

    # Another firm's owner: nothing, on every URL.
    login(client, firm_b, Role.OWNER)
    assert client.get(url).status_code == 404
    assert client.get(screen_url("cash_view_csv", connected_firm, organisation)).status_code == 404
    refused = client.post(
        screen_url("cash_threshold_edit", connected_firm, organisation), {"threshold": "1"}
    )
    assert refused.status_code == 404
    with scopes_disabled():
        assert CashSetting.objects.get(organisation=organisation).threshold == above


def test_a_threshold_that_is_not_an_amount_is_refused_with_the_reason(client, firm_a, firm_b):
    organisation = firm_a.organisation
    login(client, firm_a, Role.OWNER)
    url = screen_url("cash_threshold_edit", firm_a, organisation)
    for bad in ("ten thousand", "1e400", "12.345", "1" * 20):
        response = client.post(url, {"threshold": bad})
        assert response.status_code == 400, bad
        assert 'class="errorlist' in response.content.decode()
    with scopes_disabled():
        assert not CashSetting.objects.filter(organisation=organisation).exists()
    # A viewer may look but not set it.
    login(client, firm_a, Role.VIEWER)
    page = text(client.get(screen_url("cash_view", firm_a, organisation)))
    assert "has no balance sheet synced yet" in page
    assert "Save the threshold" not in page
    assert client.post(url, {"threshold": "5"}).status_code == 403


def test_the_api_gives_the_same_months_to_its_own_firm_only(client, connected_firm, firm_b):
    organisation = _synced(connected_firm)
    _, key_a = api_key_create(firm=connected_firm.firm)
    _, key_b = api_key_create(firm=firm_b.firm)
    url = f"/api/v1/organisations/{organisation.public_id}/cash/"
    response = client.get(url, headers=bearer(key_a))
    assert response.status_code == 200, response.content
    body = response.json()
    with scopes_disabled():
        view = cash_view_load(firm=connected_firm.firm, organisation=organisation)
    assert [m["cash"] for m in body["months"]] == [f"{m.cash:.2f}" for m in view.months]
    assert body["low"]["period"] == view.projection.low.period.isoformat()
    assert body["threshold"] is None and body["below"] is None
    assert body["terms"]["debtor_days"] == f"{view.projection.terms.debtor_days}"
    assert [b["name"] for b in body["banks"]] == [name for name, _amount in view.banks]
    assert client.get(url, headers=bearer(key_b)).status_code == 404


def test_a_drafts_figure_replaces_the_budgets_for_its_account_and_month_only(connected_firm):
    from budgeting.cash.selectors import forecast_plan
    from budgeting.models import Account, BudgetBalance
    from tests.factories import DraftBalanceFactory, DraftFactory, DraftLineFactory

    organisation = _synced(connected_firm)
    firm = connected_firm.firm
    with scopes_disabled():
        view = cash_view_load(firm=firm, organisation=organisation)
        month = next(m for m in view.months if not m.actual)
        budgeted = BudgetBalance.objects.filter(
            organisation=organisation, period=month.period, budget_line__account__type="REVENUE"
        ).select_related("budget_line__account")
        line = max(budgeted, key=lambda b: b.amount)
        account = Account.objects.get(pk=line.budget_line.account_id)
        draft = DraftFactory(
            organisation=organisation, first_period=month.period, last_actual_period=month.period
        )
        draft_line = DraftLineFactory(organisation=organisation, draft=draft, account=account)
        DraftBalanceFactory(
            organisation=organisation,
            line=draft_line,
            period=month.period,
            suggested_amount=line.amount + Decimal("5000.00"),
            edited_amount=line.amount + Decimal("7000.00"),
        )
        plan, sources = forecast_plan(
            firm=firm, organisation=organisation, first=month.period, last=month.period
        )
    # The edited figure, over the budget's, for that account; the other accounts keep theirs.
    assert plan[0].revenue == month.revenue + Decimal("7000.00")
    assert plan[0].costs == month.costs
    assert sources[0][0].startswith("the draft")
    assert "budget" in sources[-1][0]
