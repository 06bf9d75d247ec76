"""The variance maths: what a partner reading the report relies on."""

import datetime as dt
from decimal import Decimal

import pytest

from budgeting.variance.maths import (
    AccountBalances,
    MaterialityThreshold,
    MaterialityThresholds,
    Section,
    financial_year_start,
    variance_for_period,
    variance_series,
)
from core.money import money
from core.months import add_months

SEPTEMBER = dt.date(2025, 9, 1)
CLASS_BY_TYPE = {
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "DEPRECIATN": "EXPENSE",
}


def account(
    code: str,
    account_type: str,
    *,
    actuals: dict[dt.date, str] | None = None,
    budgets: dict[dt.date, str] | None = None,
    tracking_option_id: str | None = None,
) -> AccountBalances:
    return AccountBalances(
        account_id=f"acc-{code}",
        code=code,
        name=f"Account {code}",
        account_type=account_type,
        account_class=CLASS_BY_TYPE[account_type],
        actuals={p: Decimal(v) for p, v in (actuals or {}).items()},
        budgets={p: Decimal(v) for p, v in (budgets or {}).items()},
        tracking_option_id=tracking_option_id,
    )


def month_report(
    *accounts: AccountBalances, thresholds: MaterialityThresholds | None = None, **kwargs
):
    options = {"period": SEPTEMBER, "financial_year_end_month": 3, "financial_year_end_day": 31}
    options.update(kwargs)
    return variance_for_period(lines=list(accounts), thresholds=thresholds, **options)


def one_line(account_type: str, *, actual: str, budget: str, thresholds=None):
    acc = account("100", account_type, actuals={SEPTEMBER: actual}, budgets={SEPTEMBER: budget})
    return month_report(acc, thresholds=thresholds).lines[0].month


def test_money_is_quantised_to_cents_half_up():
    assert money("10.005") == Decimal("10.01")
    assert money(3) == Decimal("3.00")
    assert str(money("-2.675")) == "-2.68"


@pytest.mark.parametrize("account_type", ["REVENUE", "SALES", "OTHERINCOME"])
def test_revenue_above_budget_is_favourable(account_type):
    line = one_line(account_type, actual="12000", budget="10000")
    assert line.variance == Decimal("2000.00")
    assert line.percent == Decimal("20.0")
    assert line.favourable is True
    assert line.status == "favourable"


@pytest.mark.parametrize("account_type", ["REVENUE", "SALES", "OTHERINCOME"])
def test_revenue_below_budget_is_unfavourable(account_type):
    line = one_line(account_type, actual="8000", budget="10000")
    assert line.variance == Decimal("-2000.00")
    assert line.percent == Decimal("-20.0")
    assert line.favourable is False


@pytest.mark.parametrize("account_type", ["DIRECTCOSTS", "EXPENSE", "OVERHEADS", "DEPRECIATN"])
def test_expense_above_budget_is_unfavourable(account_type):
    line = one_line(account_type, actual="12000", budget="10000")
    assert line.variance == Decimal("2000.00")
    assert line.favourable is False
    assert line.status == "unfavourable"


@pytest.mark.parametrize("account_type", ["DIRECTCOSTS", "EXPENSE", "OVERHEADS", "DEPRECIATN"])
def test_expense_below_budget_is_favourable(account_type):
    line = one_line(account_type, actual="9000", budget="10000")
    assert line.variance == Decimal("-1000.00")
    assert line.favourable is True


@pytest.mark.parametrize("account_type", ["SALES", "EXPENSE"])
def test_zero_variance_is_neither_favourable_nor_unfavourable(account_type):
    line = one_line(account_type, actual="10000", budget="10000")
    assert line.favourable is None
    assert line.status == "on budget"
    assert line.percent == Decimal("0.0")
    assert not line.material


def test_percent_is_rounded_to_one_decimal_place():
    line = one_line("EXPENSE", actual="4000", budget="3000")
    assert line.percent == Decimal("33.3")


def test_percent_keeps_the_sign_of_the_variance_when_the_budget_is_negative():
    # A credit budgeted on an expense account (a rebate), and less of it received.
    line = one_line("EXPENSE", actual="-500", budget="-1000")
    assert line.variance == Decimal("500.00")
    assert line.percent == Decimal("50.0")
    assert line.favourable is False


def test_zero_budget_has_no_percent_and_says_no_budget():
    line = one_line("EXPENSE", actual="750", budget="0")
    assert line.percent is None
    assert line.status == "no budget"
    assert line.variance == Decimal("750.00")
    assert line.favourable is False
    assert line.material


def test_zero_budget_below_the_floor_is_not_material():
    assert not one_line("EXPENSE", actual="499.99", budget="0").material
    assert one_line("SALES", actual="500", budget="0").material


def test_zero_budget_and_zero_actual_is_quiet():
    line = one_line("SALES", actual="0", budget="0")
    assert (line.percent, line.status, line.material, line.favourable) == (
        None,
        "no budget",
        False,
        None,
    )


def test_month_without_balances_counts_as_zero():
    acc = account("200", "EXPENSE", actuals={add_months(SEPTEMBER, -1): "100"})
    line = month_report(acc).lines[0].month
    assert (line.actual, line.budget, line.status) == (
        Decimal("0.00"),
        Decimal("0.00"),
        "no budget",
    )


@pytest.mark.parametrize(
    ("actual", "budget", "material"),
    [
        ("5500", "5000", True),  # exactly 10% and exactly 500
        ("4500", "5000", True),  # the same, under budget
        ("5499.99", "5000", False),  # 10% not reached, floor not reached
        ("10999.99", "10000", False),  # over the floor, 9.99999% is under 10%
        ("10999.50", "10000", False),  # shows as 10.0% but is 9.995%: still not material
        ("11000", "10000", True),  # exactly 10%, well over the floor
        ("2499.99", "2000", False),  # 25% but under the floor
        ("2500", "2000", True),  # 25% and exactly the floor
    ],
)
def test_materiality_needs_both_the_percent_and_the_floor(actual, budget, material):
    assert one_line("EXPENSE", actual=actual, budget=budget).material is material


def test_materiality_thresholds_can_be_set_per_class_and_per_type():
    thresholds = MaterialityThresholds(
        default=MaterialityThreshold(percent=Decimal("10"), floor=Decimal("500")),
        by_class={"REVENUE": MaterialityThreshold(percent=Decimal("5"), floor=Decimal("2000"))},
        by_type={"DEPRECIATN": MaterialityThreshold(percent=Decimal("50"), floor=Decimal("0"))},
    )
    # Revenue: 6% and 3,000 passes 5% / 2,000; 1,500 does not pass the class floor.
    assert one_line("SALES", actual="53000", budget="50000", thresholds=thresholds).material
    assert not one_line("SALES", actual="11500", budget="10000", thresholds=thresholds).material
    # Expenses keep the organisation's default.
    assert one_line("EXPENSE", actual="11000", budget="10000", thresholds=thresholds).material
    # The type override wins over the class: depreciation moves are expected to be lumpy.
    assert not one_line(
        "DEPRECIATN", actual="14000", budget="10000", thresholds=thresholds
    ).material
    assert one_line("DEPRECIATN", actual="15000", budget="10000", thresholds=thresholds).material


def test_threshold_lookup_prefers_type_then_class_then_default():
    by_type = MaterialityThreshold(percent=Decimal("1"), floor=Decimal("1"))
    by_class = MaterialityThreshold(percent=Decimal("2"), floor=Decimal("2"))
    thresholds = MaterialityThresholds(
        by_class={"EXPENSE": by_class}, by_type={"OVERHEADS": by_type}
    )
    assert thresholds.threshold_for(account_class="EXPENSE", account_type="OVERHEADS") is by_type
    assert thresholds.threshold_for(account_class="EXPENSE", account_type="EXPENSE") is by_class
    assert thresholds.threshold_for(account_class="REVENUE") == MaterialityThreshold()


@pytest.mark.parametrize(
    ("period", "year_end_month", "year_end_day", "start"),
    [
        (dt.date(2025, 8, 1), 3, 31, dt.date(2025, 4, 1)),
        (dt.date(2025, 4, 1), 3, 31, dt.date(2025, 4, 1)),
        (dt.date(2026, 3, 1), 3, 31, dt.date(2025, 4, 1)),
        (dt.date(2026, 1, 1), 3, 31, dt.date(2025, 4, 1)),
        (dt.date(2025, 8, 1), 6, 30, dt.date(2025, 7, 1)),
        (dt.date(2025, 6, 1), 6, 30, dt.date(2024, 7, 1)),
        (dt.date(2025, 7, 1), 6, 30, dt.date(2025, 7, 1)),
        (dt.date(2025, 8, 1), 12, 31, dt.date(2025, 1, 1)),
        (dt.date(2025, 12, 1), 12, 31, dt.date(2025, 1, 1)),
        # A year ending mid-month ends with that month: monthly figures cannot be split.
        (dt.date(2025, 3, 1), 3, 15, dt.date(2024, 4, 1)),
        (dt.date(2025, 4, 1), 3, 15, dt.date(2025, 4, 1)),
        # Xero's February year ends are the 28th or 29th.
        (dt.date(2025, 3, 1), 2, 28, dt.date(2025, 3, 1)),
    ],
)
def test_financial_year_start(period, year_end_month, year_end_day, start):
    assert (
        financial_year_start(
            period=period,
            financial_year_end_month=year_end_month,
            financial_year_end_day=year_end_day,
        )
        == start
    )


def test_year_to_date_runs_from_april_when_the_year_ends_in_march():
    amounts = {dt.date(2025, m, 1): "1000" for m in range(1, 13)}  # January..December 2025
    sales = account("200", "SALES", actuals=amounts, budgets=dict.fromkeys(amounts, "900"))
    report = month_report(sales, period=dt.date(2025, 8, 1))
    ytd = report.lines[0].year_to_date
    assert report.financial_year_start == dt.date(2025, 4, 1)
    # April..August: five months, and nothing from January..March of the previous year.
    assert (ytd.actual, ytd.budget, ytd.variance) == (
        Decimal("5000.00"),
        Decimal("4500.00"),
        Decimal("500.00"),
    )
    assert ytd.percent == Decimal("11.1")
    assert ytd.favourable is True
    assert report.lines[0].month.actual == Decimal("1000.00")


def test_year_to_date_crosses_the_calendar_year():
    amounts = {add_months(dt.date(2025, 1, 1), i): "100" for i in range(-12, 12)}
    rent = account("400", "OVERHEADS", actuals=amounts, budgets=dict.fromkeys(amounts, "100"))
    report = month_report(rent, period=dt.date(2025, 2, 1))
    # April 2024..February 2025: eleven months.
    assert report.lines[0].year_to_date.actual == Decimal("1100.00")


def test_year_to_date_when_the_year_ends_in_june():
    amounts = {add_months(dt.date(2025, 1, 1), i): "250.50" for i in range(-12, 12)}
    wages = account("477", "EXPENSE", actuals=amounts, budgets=dict.fromkeys(amounts, "200"))
    july = month_report(wages, period=dt.date(2025, 7, 1), financial_year_end_month=6)
    june = month_report(wages, period=dt.date(2025, 6, 1), financial_year_end_month=6)
    assert july.lines[0].year_to_date.actual == Decimal("250.50")
    assert june.financial_year_start == dt.date(2024, 7, 1)
    assert june.lines[0].year_to_date.actual == Decimal("3006.00")
    assert june.lines[0].year_to_date.budget == Decimal("2400.00")


def test_a_period_is_the_first_of_a_month():
    with pytest.raises(ValueError, match="first day"):
        month_report(period=dt.date(2025, 9, 30))


def test_financial_year_end_month_is_checked():
    with pytest.raises(ValueError, match="month"):
        month_report(financial_year_end_month=13)


def _report_fixture_accounts() -> list[AccountBalances]:
    months = [add_months(SEPTEMBER, -i) for i in range(6)]

    def amounts(base: str, step: str) -> dict[dt.date, str]:
        return {m: str(Decimal(base) + Decimal(step) * i) for i, m in enumerate(months)}

    return [
        account(
            "200", "SALES", actuals=amounts("40123.45", "17.01"), budgets=amounts("42000", "0")
        ),
        account("210", "REVENUE", actuals=amounts("5000.10", "3.33"), budgets=amounts("4000", "1")),
        account(
            "310", "DIRECTCOSTS", actuals=amounts("15000.07", "1.11"), budgets=amounts("16000", "0")
        ),
        account("270", "OTHERINCOME", actuals=amounts("333.33", "0.01"), budgets=amounts("0", "0")),
        account("400", "EXPENSE", actuals=amounts("9999.99", "2.22"), budgets=amounts("9000", "5")),
        account(
            "420", "OVERHEADS", actuals=amounts("3000.01", "0.10"), budgets=amounts("3000", "0")
        ),
        account("710", "DEPRECIATN", actuals=amounts("812.50", "0"), budgets=amounts("800", "0")),
    ]


@pytest.mark.parametrize("span", ["month", "year_to_date"])
def test_totals_equal_the_sum_of_lines_exactly(span):
    report = month_report(*_report_fixture_accounts())

    def total_of(section: Section, field: str) -> Decimal:
        return getattr(getattr(report.total(section), span), field)

    def lines_sum(section: Section, field: str) -> Decimal:
        return sum(
            (getattr(getattr(line, span), field) for line in report.lines_in(section)), Decimal(0)
        )

    for field in ("actual", "budget", "variance"):
        for section in (
            Section.INCOME,
            Section.COST_OF_SALES,
            Section.OTHER_INCOME,
            Section.OPERATING_EXPENSES,
        ):
            assert total_of(section, field) == lines_sum(section, field)
        assert total_of(Section.GROSS_PROFIT, field) == (
            total_of(Section.INCOME, field) - total_of(Section.COST_OF_SALES, field)
        )
        assert total_of(Section.NET_PROFIT, field) == (
            total_of(Section.GROSS_PROFIT, field)
            + total_of(Section.OTHER_INCOME, field)
            - total_of(Section.OPERATING_EXPENSES, field)
        )


def test_report_follows_xero_layout_order():
    report = month_report(*reversed(_report_fixture_accounts()))
    assert [t.section for t in report.totals] == list(Section)
    assert [t.label for t in report.totals] == [
        "Income",
        "Cost of Sales",
        "Gross Profit",
        "Other Income",
        "Operating Expenses",
        "Net Profit",
    ]
    assert [line.code for line in report.lines] == ["200", "210", "310", "270", "400", "420", "710"]
    assert [line.code for line in report.lines_in(Section.OPERATING_EXPENSES)] == [
        "400",
        "420",
        "710",
    ]


def test_profit_above_budget_is_favourable_even_when_income_is_under():
    sales = account("200", "SALES", actuals={SEPTEMBER: "90000"}, budgets={SEPTEMBER: "100000"})
    costs = account(
        "310", "DIRECTCOSTS", actuals={SEPTEMBER: "40000"}, budgets={SEPTEMBER: "55000"}
    )
    rent = account("420", "OVERHEADS", actuals={SEPTEMBER: "21000"}, budgets={SEPTEMBER: "20000"})
    report = month_report(sales, costs, rent)
    assert report.total(Section.INCOME).month.favourable is False
    assert report.total(Section.COST_OF_SALES).month.favourable is True
    assert report.total(Section.OPERATING_EXPENSES).month.favourable is False
    gross = report.gross_profit.month
    assert (gross.actual, gross.budget, gross.variance) == (
        Decimal("50000.00"),
        Decimal("45000.00"),
        Decimal("5000.00"),
    )
    assert gross.favourable is True
    net = report.net_profit.month
    assert (net.actual, net.budget, net.variance, net.favourable) == (
        Decimal("29000.00"),
        Decimal("25000.00"),
        Decimal("4000.00"),
        True,
    )
    assert net.percent == Decimal("16.0")


def test_a_bigger_loss_than_budgeted_is_unfavourable():
    sales = account("200", "SALES", actuals={SEPTEMBER: "10000"}, budgets={SEPTEMBER: "10000"})
    wages = account("477", "EXPENSE", actuals={SEPTEMBER: "13000"}, budgets={SEPTEMBER: "12000"})
    net = month_report(sales, wages).net_profit.month
    assert (net.actual, net.budget, net.variance) == (
        Decimal("-3000.00"),
        Decimal("-2000.00"),
        Decimal("-1000.00"),
    )
    assert net.percent == Decimal("-50.0")
    assert net.favourable is False
    assert net.material


def test_material_lines_are_listed():
    # 210 and 400 pass both thresholds; 200 (-4.5%) and 310 (-6.2%) are over the floor only,
    # 270 has no budget and is under the floor.
    report = month_report(*_report_fixture_accounts())
    assert [line.code for line in report.material_lines] == ["210", "400"]


def test_lines_for_different_tracking_options_are_refused():
    north = account("200", "SALES", tracking_option_id="north")
    south = account("210", "SALES", tracking_option_id="south")
    with pytest.raises(ValueError, match="tracking"):
        month_report(north, south)


def test_report_records_its_tracking_option():
    north = account("200", "SALES", tracking_option_id="north")
    assert month_report(north).tracking_option_id == "north"
    assert month_report().tracking_option_id is None


def test_the_same_account_twice_is_refused():
    with pytest.raises(ValueError, match="more than once"):
        month_report(account("200", "SALES"), account("200", "SALES"))


def test_account_type_must_match_its_class_and_be_on_the_profit_and_loss():
    with pytest.raises(ValueError, match="class"):
        AccountBalances(
            account_id="x", code="1", name="x", account_type="SALES",
            account_class="EXPENSE", actuals={}, budgets={},
        )  # fmt: skip
    with pytest.raises(ValueError, match="Profit and Loss"):
        AccountBalances(
            account_id="x", code="1", name="x", account_type="BANK",
            account_class="ASSET", actuals={}, budgets={},
        )  # fmt: skip


def test_series_for_net_profit_runs_oldest_first_over_24_months():
    months = [add_months(SEPTEMBER, -i) for i in range(30)]
    sales = account(
        "200", "SALES", actuals=dict.fromkeys(months, "1000"), budgets=dict.fromkeys(months, "900")
    )
    rent = account(
        "420", "OVERHEADS", actuals=dict.fromkeys(months, "300"), budgets={SEPTEMBER: "400"}
    )
    series = variance_series(lines=[sales, rent], end_period=SEPTEMBER)
    assert len(series) == 24
    assert series[0].period == dt.date(2023, 10, 1)
    assert series[-1].period == SEPTEMBER
    assert (series[-1].actual, series[-1].budget, series[-1].variance) == (
        Decimal("700.00"),
        Decimal("500.00"),
        Decimal("200.00"),
    )
    assert (series[0].actual, series[0].budget) == (Decimal("700.00"), Decimal("900.00"))


def test_series_for_one_account():
    months = [add_months(SEPTEMBER, -i) for i in range(3)]
    sales = account("200", "SALES", actuals=dict.fromkeys(months, "1000"))
    rent = account("420", "OVERHEADS", actuals=dict.fromkeys(months, "300"))
    series = variance_series(
        lines=[sales, rent], end_period=SEPTEMBER, months=3, account_id="acc-420"
    )
    assert [p.actual for p in series] == [Decimal("300.00")] * 3
    assert [p.budget for p in series] == [Decimal("0.00")] * 3
    with pytest.raises(ValueError, match="no account"):
        variance_series(lines=[sales], end_period=SEPTEMBER, account_id="acc-999")
