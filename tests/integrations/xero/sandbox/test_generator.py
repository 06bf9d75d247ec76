"""The generated organisations look like real clients and their planted drivers are real.

The product explains the last closed month against the budget, so every promise here is about
what a firm would see: history, budgets that diverge where something happened, and transactions
that add up to the figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from core.months import add_months, month_key
from integrations.xero.sandbox.generator import (
    generate_organisations,
    generate_small_organisations,
)
from integrations.xero.sandbox.model import PROFIT_AND_LOSS_TYPES, SandboxOrganisation
from integrations.xero.sandbox.orgs.ledger import profit_and_loss_by_month

TODAY = dt.date(2026, 11, 21)
LAST_CLOSED = "2026-10"
# Anchors that move the last closed month around the financial years (a year end, a first of
# the month, a leap February) to catch off-by-one-month mistakes.
OTHER_TODAYS = (dt.date(2027, 4, 1), dt.date(2027, 7, 15), dt.date(2028, 3, 1))
DOCUMENT_TYPES = {"ACCREC", "ACCPAY", "ACCRECCREDIT", "ACCPAYCREDIT", "SPEND", "RECEIVE"}
DRIVER_KINDS = {"one_off", "lost_customer", "price_rise", "new_customer", "seasonal", "capex"}
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def orgs() -> dict[str, SandboxOrganisation]:
    return {org.key: org for org in generate_organisations(seed=7, today=TODAY)}


@pytest.fixture(scope="module", params=OTHER_TODAYS, ids=str)
def orgs_elsewhere(request) -> tuple[dt.date, list[SandboxOrganisation]]:
    return request.param, generate_organisations(seed=11, today=request.param)


def actuals(org: SandboxOrganisation, code: str) -> dict[str, Decimal]:
    account = next(a for a in org.accounts if a.code == code)
    return profit_and_loss_by_month(org.accounts, org.documents).get(account.account_id, {})


def months_back(count: int, *, last: str = LAST_CLOSED) -> list[str]:
    end = dt.date(int(last[:4]), int(last[5:]), 1)
    return [month_key(add_months(end, -n)) for n in range(count)]


def overall(org: SandboxOrganisation):
    return next(b for b in org.budgets if b.type == "OVERALL")


# Determinism --------------------------------------------------------------------------------


def test_the_same_seed_builds_the_same_organisations(orgs):
    again = {org.key: org for org in generate_organisations(seed=7, today=TODAY)}
    assert again == orgs


def test_a_different_seed_builds_different_organisations(orgs):
    other = {org.key: org for org in generate_organisations(seed=8, today=TODAY)}
    for key, org in orgs.items():
        assert other[key].organisation_id != org.organisation_id
        assert other[key].documents != org.documents


def test_small_organisations_are_deterministic_and_distinct():
    first = generate_small_organisations(count=12, seed=3, today=TODAY)
    assert first == generate_small_organisations(count=12, seed=3, today=TODAY)
    assert first != generate_small_organisations(count=12, seed=4, today=TODAY)
    assert len({org.name for org in first}) == 12
    assert len({org.organisation_id for org in first}) == 12
    assert [org.key for org in first[:2]] == ["small-001", "small-002"]


# The organisations --------------------------------------------------------------------------


def test_five_named_organisations_from_three_countries(orgs):
    assert list(orgs) == ["cafe", "saas", "construction", "importer", "group"]
    assert orgs["cafe"].name == "Harbour Lane Café"
    assert {org.country_code for org in orgs.values()} == {"NZ", "AU", "GB"}
    assert {org.base_currency for org in orgs.values()} == {"NZD", "AUD", "GBP"}
    year_ends = {
        key: (org.financial_year_end_month, org.financial_year_end_day) for key, org in orgs.items()
    }
    assert year_ends == {
        "cafe": (3, 31),
        "saas": (6, 30),
        "construction": (3, 31),
        "importer": (12, 31),
        "group": (6, 30),
    }
    for org in orgs.values():
        assert org.currencies[0][0] == org.base_currency


def test_the_previous_month_is_locked_and_the_current_one_open(orgs):
    for org in orgs.values():
        assert org.period_lock_date == dt.date(2026, 10, 31)
    on_the_first = generate_small_organisations(count=1, seed=1, today=dt.date(2027, 1, 1))[0]
    assert on_the_first.period_lock_date == dt.date(2026, 12, 31)


def test_history_covers_38_closed_months_and_the_open_month_up_to_today(orgs):
    for org in orgs.values():
        months = {month_key(d.date) for d in org.documents}
        assert set(months_back(38)) <= months, org.key
        assert "2026-11" in months, org.key
        assert max(d.date for d in org.documents) <= TODAY


def test_documents_are_well_formed(orgs):
    for org in orgs.values():
        accounts = {a.account_id: a for a in org.accounts}
        contacts = {c.contact_id for c in org.contacts}
        ids = [d.document_id for d in org.documents] + [
            line.line_id for d in org.documents for line in d.lines
        ]
        assert len(ids) == len(set(ids)), org.key
        for document in org.documents:
            assert document.type in DOCUMENT_TYPES
            assert document.contact_id in contacts
            assert document.status in ("AUTHORISED", "PAID")
            # Entered on or after the document date, and never after today.
            assert document.date <= document.updated_utc.date() <= TODAY
            if document.endpoint == "BankTransactions":
                assert accounts[document.bank_account_id].type == "BANK"
            else:
                assert document.bank_account_id is None and document.due_date >= document.date
            for line in document.lines:
                assert line.description
                assert line.line_amount == line.line_amount.quantize(CENT)
                assert line.base_amount == line.base_amount.quantize(CENT)
                assert line.tax_amount == line.tax_amount.quantize(CENT)
                assert len(line.tracking) <= 2


def test_lines_hit_profit_and_loss_accounts_except_fixed_assets(orgs):
    for org in orgs.values():
        accounts = {a.account_id: a for a in org.accounts}
        for document in org.documents:
            for line in document.lines:
                account = accounts[line.account_id]
                assert account.on_profit_and_loss or account.type == "FIXED", (
                    org.key,
                    account.name,
                )


def test_charts_use_xero_types_and_classes(orgs):
    classes = {
        "BANK": "ASSET",
        "CURRENT": "ASSET",
        "FIXED": "ASSET",
        "CURRLIAB": "LIABILITY",
        "EQUITY": "EQUITY",
    }
    for org in orgs.values():
        codes = [a.code for a in org.accounts]
        assert len(codes) == len(set(codes)), org.key
        for account in org.accounts:
            expected = PROFIT_AND_LOSS_TYPES.get(account.type) or classes.get(account.type)
            assert expected in (None, account.account_class), account
        assert any(a.type == "BANK" for a in org.accounts)
        assert any(a.system_account == "RETAINEDEARNINGS" for a in org.accounts)
    cafe_codes = {a.code: a.name for a in orgs["cafe"].accounts}
    assert cafe_codes["200"] == "Sales" and cafe_codes["469"] == "Rent"
    assert cafe_codes["477"] == "Wages and Salaries" and cafe_codes["310"] == "Cost of Goods Sold"


# What happened in each business --------------------------------------------------------------


def test_cafe_takings_peak_in_summer(orgs):
    sales = actuals(orgs["cafe"], "200")
    summer = sum(sales[m] for m in ("2025-12", "2026-01", "2026-02"))
    winter = sum(sales[m] for m in ("2026-06", "2026-07", "2026-08"))
    assert summer > winter * Decimal("1.3")


def test_cafe_takes_cards_and_invoices_catering(orgs):
    org = orgs["cafe"]
    types = {d.type for d in org.documents}
    assert {"RECEIVE", "ACCREC", "ACCPAY", "SPEND"} <= types
    assert "ACCRECCREDIT" in types


def test_saas_subscription_revenue_grows(orgs):
    revenue = actuals(orgs["saas"], "200")
    last_year = sum(revenue[m] for m in months_back(12))
    year_before = sum(revenue[m] for m in months_back(12, last="2025-10"))
    assert last_year > year_before * Decimal("1.15")
    hosting = actuals(orgs["saas"], "310")
    assert sum(hosting[m] for m in months_back(12)) > sum(
        hosting[m] for m in months_back(12, last="2025-10")
    )


def test_construction_revenue_is_lumpy_and_capex_is_on_the_balance_sheet(orgs):
    org = orgs["construction"]
    revenue = [actuals(org, "200").get(m, Decimal(0)) for m in months_back(24)]
    assert max(revenue) > 2 * min(revenue)
    capex = [d for d in org.planted_drivers if d.kind == "capex"]
    assert capex
    accounts = {a.account_id: a for a in org.accounts}
    assert all(accounts[d.account_id].type == "FIXED" for d in capex)
    assert sum(actuals(org, "416").values()) > 0
    projects = next(c for c in org.tracking_categories if c.name == "Project")
    assert len(projects.options) >= 5


def test_importer_buys_in_foreign_currency_with_exact_base_amounts(orgs):
    org = orgs["importer"]
    foreign = [d for d in org.documents if d.currency_code != org.base_currency]
    assert {d.currency_code for d in foreign} == {"USD", "EUR"}
    assert {"USD", "EUR"} <= {code for code, _ in org.currencies}
    for document in foreign:
        assert document.currency_rate != 1
        for line in document.lines:
            assert abs(line.base_amount - line.line_amount / document.currency_rate) <= Decimal(
                "0.005"
            )
    assert actuals(org, "499"), "currency gains and losses are realised"


def test_group_has_about_300_accounts_and_two_tracking_categories(orgs):
    org = orgs["group"]
    assert 280 <= len(org.accounts) <= 320
    assert sum(a.on_profit_and_loss for a in org.accounts) > 120
    region, division = org.tracking_categories
    assert 4 <= len(region.options) <= 6 and 3 <= len(division.options) <= 5
    lines = [line for d in org.documents for line in d.lines]
    tagged = [line for line in lines if len(line.tracking) == 2]
    assert len(tagged) > 0.9 * len(lines)
    options = {o.option_id: c.category_id for c in org.tracking_categories for o in c.options}
    assert all(options[option] == category for line in tagged for category, option in line.tracking)


# Generation speed is a benchmark concern (bench/), not a timed test.


def test_200_small_organisations_are_distinct_and_complete():
    small = generate_small_organisations(count=200, seed=1, today=TODAY)
    assert len(small) == 200 and len({org.name for org in small}) == 200
    assert all(org.planted_drivers and org.budgets for org in small)


# Budgets ------------------------------------------------------------------------------------


def test_overall_budget_covers_this_year_and_next_in_whole_units(orgs):
    for org in orgs.values():
        budget = overall(org)
        assert budget.description == "Overall Budget"
        accounts = {a.account_id: a for a in org.accounts}
        for account_id, months in budget.lines.items():
            assert accounts[account_id].on_profit_and_loss
            assert len(months) >= 24
            assert LAST_CLOSED in months and "2027-11" in months
            assert all(amount == amount.quantize(Decimal(1)) for amount in months.values())
        assert budget.notes


def test_budget_is_close_to_actuals_where_nothing_was_planted(orgs):
    """Outside the planted drivers the plan is within tolerance of what happened."""
    for key in ("cafe", "importer"):
        org = orgs[key]
        budget = overall(org).lines
        planted = {d.account_id for d in org.planted_drivers}
        pl = profit_and_loss_by_month(org.accounts, org.documents)
        planned = sum(budget[a][LAST_CLOSED] for a in budget if a not in planted)
        actual = sum(pl[a].get(LAST_CLOSED, Decimal(0)) for a in budget if a not in planted)
        assert abs(actual - planned) < planned * Decimal("0.08"), key


def test_budget_diverges_where_drivers_were_planted(orgs):
    org = orgs["saas"]
    campaign = next(d for d in org.planted_drivers if d.kind == "one_off")
    assert campaign.contact_name == "Brightwave Media" and campaign.period == LAST_CLOSED
    planned = overall(org).lines[campaign.account_id][LAST_CLOSED]
    actual = actuals(org, "400")[LAST_CLOSED]
    assert actual - planned > campaign.amount * Decimal("0.8")

    builder = orgs["construction"]
    final_account = next(d for d in builder.planted_drivers if d.kind == "one_off")
    revenue_budget = overall(builder).lines[final_account.account_id]
    # A budget spread evenly cannot see a final account coming.
    assert (
        actuals(builder, "200")[LAST_CLOSED] - revenue_budget[LAST_CLOSED]
        > final_account.amount / 2
    )
    assert len(set(revenue_budget.values())) == 2  # one flat figure a year, two years


def test_tracking_budgets_are_for_one_option_each(orgs):
    org = orgs["group"]
    tracking = [b for b in org.budgets if b.type == "TRACKING"]
    assert len(tracking) >= 3
    options = {o.option_id: c.category_id for c in org.tracking_categories for o in c.options}
    for budget in tracking:
        [(category_id, option_id)] = budget.tracking
        assert options[option_id] == category_id
        assert budget.lines


# Planted drivers ----------------------------------------------------------------------------


def assert_drivers_match_documents(org: SandboxOrganisation) -> None:
    contacts = {c.contact_id: c.name for c in org.contacts}
    accounts = {a.account_id for a in org.accounts}
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for document in org.documents:
        for line in document.lines:
            key = (contacts[document.contact_id], line.account_id, month_key(document.date))
            totals[key] += line.base_amount
    for driver in org.planted_drivers:
        assert driver.kind in DRIVER_KINDS and driver.account_id in accounts
        assert driver.amount == driver.amount.quantize(CENT) and driver.amount != 0
        shown = totals[(driver.contact_name, driver.account_id, driver.period)]
        assert shown == driver.baseline + driver.amount, (org.key, driver)


def test_planted_drivers_are_in_the_transactions(orgs):
    for org in orgs.values():
        assert_drivers_match_documents(org)


def test_the_last_closed_month_has_a_planted_driver(orgs):
    for key in ("cafe", "saas", "construction", "importer"):
        kinds = {d.kind for d in orgs[key].planted_drivers if d.period == LAST_CLOSED}
        assert kinds, key
    assert {"price_rise"} <= {
        d.kind for d in orgs["cafe"].planted_drivers if d.period == LAST_CLOSED
    }
    assert {"one_off", "lost_customer"} <= {
        d.kind for d in orgs["saas"].planted_drivers if d.period == LAST_CLOSED
    }
    assert {"one_off", "capex"} <= {
        d.kind for d in orgs["construction"].planted_drivers if d.period == LAST_CLOSED
    }
    assert {"one_off", "price_rise"} <= {
        d.kind for d in orgs["importer"].planted_drivers if d.period == LAST_CLOSED
    }


def test_lost_customer_stops_buying(orgs):
    org = orgs["saas"]
    lost = next(d for d in org.planted_drivers if d.kind == "lost_customer")
    customer = next(c.contact_id for c in org.contacts if c.name == lost.contact_name)
    invoiced = {month_key(d.date) for d in org.documents if d.contact_id == customer}
    assert lost.period not in invoiced and LAST_CLOSED not in invoiced
    assert (
        month_key(add_months(dt.date(int(lost.period[:4]), int(lost.period[5:]), 1), -1))
        in invoiced
    )


def test_drivers_hold_for_any_today(orgs_elsewhere):
    today, organisations = orgs_elsewhere
    last_closed = month_key(add_months(today.replace(day=1), -1))
    for org in organisations:
        assert org.period_lock_date == today.replace(day=1) - dt.timedelta(days=1)
        assert_drivers_match_documents(org)
        budget = overall(org)
        assert all(last_closed in months for months in budget.lines.values()), org.key
        if org.key != "group":
            assert any(d.period == last_closed for d in org.planted_drivers), org.key


def test_more_small_organisations_than_place_and_trade_pairs_keep_distinct_names():
    """A firm of 1,000 clients (bench/load.py) outgrows the 240 place-and-trade pairs: the
    next names add a district, and the first organisations of a seed keep the names they had."""
    few = generate_small_organisations(count=5, seed=3, today=TODAY)
    many = generate_small_organisations(count=245, seed=3, today=TODAY)
    names = [o.name for o in many]
    assert len(set(names)) == 245
    assert names[:5] == [o.name for o in few]
    districts = {"Central", "North", "South", "East", "West"}
    assert all(districts & set(name.split()) for name in names[240:])
