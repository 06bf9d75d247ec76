"""The currency split of a variance: the parts add up to the variance to the cent, whichever way
the currencies moved, on sales and on purchases."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budgeting.currency.maths import (
    CurrencyMonth,
    at_rate,
    average_rate,
    budget_rate_for,
    currency_split,
    rate_check,
)
from budgeting.currency.sentences import base_direction, currency_sentences
from core.money import money

JUNE, JULY = dt.date(2026, 6, 1), dt.date(2026, 7, 1)
D = Decimal


def month(currency: str, period: dt.date, foreign: str, rate: str) -> CurrencyMonth:
    """Lines in `currency` converted as Xero converts them at `rate` (foreign per base)."""
    return CurrencyMonth(
        currency=currency, period=period, foreign=D(foreign), base=at_rate(D(foreign), D(rate))
    )


def test_a_weaker_pound_makes_dollar_purchases_dearer_and_says_how_much():
    # Budgeted 1.30 dollars a pound; paid at 1.20: each dollar cost more pounds.
    purchases = month("USD", JUNE, "26000.00", "1.20")  # £21,666.67
    split = currency_split(
        actual=D("21666.67"),
        budget=D("20000.00"),
        months=[purchases],
        base_lines=D("0"),
        budget_rates={("USD", None): D("1.30")},
    )
    assert purchases.base == D("21666.67")
    assert split.variance == D("1666.67")
    # 26,000 / 1.30 = 20,000.00 at the budget rate: the whole variance is the rate.
    assert split.rate == D("1666.67")
    assert split.volume == D("0.00")
    assert split.gains_losses == D("0.00")
    assert split.remainder == D("0.00")
    effect = split.by_currency[0]
    assert (effect.actual_rate, effect.budget_rate) == (D("1.200000"), D("1.300000"))
    assert base_direction(effect) == "weaker"
    assert currency_sentences(
        split=split, account_name="Cost of Goods Sold", account_class="EXPENSE", base_currency="GBP"
    ) == [
        "£1,666.67 of the 1,666.67 overspend on Cost of Goods Sold is the weaker pound against "
        "the US dollar.",
        "At budget rates Cost of Goods Sold would be on budget.",
    ]


def test_a_stronger_base_lowers_foreign_sales_and_volume_takes_the_rest():
    # A New Zealand exporter selling in euros: budget 0.55 euro per dollar, actual 0.60.
    sales = month("EUR", JUNE, "33000.00", "0.60")  # NZ$55,000.00
    split = currency_split(
        actual=D("62000.00"),  # with NZ$7,000 of domestic sales
        budget=D("58000.00"),
        months=[sales],
        base_lines=D("7000.00"),
        budget_rates={("EUR", None): D("0.55")},
    )
    assert split.variance == D("4000.00")
    # At 0.55 the euros would have been NZ$60,000.00: the stronger dollar cost NZ$5,000.
    assert split.rate == D("-5000.00")
    assert split.volume == D("9000.00")
    assert split.volume + split.rate + split.gains_losses == split.variance
    assert base_direction(split.by_currency[0]) == "stronger"
    text = " ".join(
        currency_sentences(
            split=split, account_name="Sales", account_class="REVENUE", base_currency="NZD"
        )
    )
    assert (
        "The stronger New Zealand dollar against the euro worked the other way, by NZ$5,000."
        in (text)
    )
    assert "At budget rates Sales would be NZ$9,000 over budget." in text


def test_monthly_budget_rates_come_before_the_rate_for_every_month():
    rates = {("USD", None): D("1.25"), ("USD", JULY): D("1.10")}
    assert budget_rate_for(rates, currency="USD", period=JUNE) == D("1.25")
    assert budget_rate_for(rates, currency="USD", period=JULY) == D("1.10")
    assert budget_rate_for(rates, currency="EUR", period=JULY) is None
    split = currency_split(
        actual=D("2000.00"),
        budget=D("2000.00"),
        months=[month("USD", JUNE, "1250.00", "1.25"), month("USD", JULY, "1100.00", "1.00")],
        base_lines=D("0"),
        budget_rates=rates,
    )
    # June at its budget rate (no effect); July 1,100 / 1.10 = 1,000 budgeted, 1,100 actual.
    assert split.rate == D("100.00")
    assert split.volume == D("-100.00")


def test_a_currency_without_a_budget_rate_claims_no_rate_effect_and_says_so():
    split = currency_split(
        actual=D("500.00"),
        budget=D("400.00"),
        months=[month("JPY", JUNE, "90000", "180")],
        base_lines=D("0"),
        budget_rates={},
    )
    assert split.rate == D("0.00")
    assert split.volume == D("100.00")
    assert split.missing_rates == ("JPY",)
    assert split.by_currency[0].budget_rate is None
    assert currency_sentences(
        split=split, account_name="Stock", account_class="EXPENSE", base_currency="GBP"
    )[0] == (
        "There is no budget rate for JPY for June 2026, so its rate effect there is not measured."
    )


def test_currency_gains_and_losses_are_their_own_effect():
    split = currency_split(
        actual=D("812.40"),
        budget=D("0"),
        months=[],
        base_lines=D("812.40"),
        budget_rates={},
        fx_account=True,
    )
    assert (split.volume, split.rate, split.gains_losses) == (D("0.00"), D("0.00"), D("812.40"))
    assert currency_sentences(
        split=split,
        account_name="Realised Currency Gains",
        account_class="EXPENSE",
        base_currency="GBP",
    ) == [
        "Realised Currency Gains holds currency gains and losses: the whole £812.40 difference "
        "from budget is a currency effect, not trading."
    ]


def test_what_the_lines_do_not_explain_is_shown_not_hidden():
    split = currency_split(
        actual=D("1000.00"),
        budget=D("900.00"),
        months=[month("USD", JUNE, "600.00", "1.20")],  # £500.00
        base_lines=D("300.00"),
        budget_rates={("USD", None): D("1.20")},
    )
    assert split.remainder == D("200.00")
    assert split.foreign_lines == D("500.00")
    assert split.volume + split.rate == split.variance


def test_the_average_rate_weighs_by_value_and_rates_must_be_positive():
    assert average_rate([(D("1300"), D("1000")), (D("-120"), D("-100"))]) == D("1.290909")
    assert average_rate([]) is None
    assert rate_check(D("1.2345678")) == D("1.234568")
    for bad in (D("0"), D("-1.2"), D("NaN"), D("0.0000001")):
        with pytest.raises(ValueError):
            rate_check(bad)


rates = st.decimals(min_value=D("0.05"), max_value=D("250"), places=6)
amounts = st.decimals(min_value=D("-500000"), max_value=D("500000"), places=2)


@settings(max_examples=300, deadline=None)
@given(
    budget_rate=rates,
    actual_rates=st.lists(rates, min_size=1, max_size=4),
    foreign=st.lists(amounts, min_size=1, max_size=4),
    domestic=amounts,
    remainder=amounts,
    budget=amounts,
    currency=st.sampled_from(["USD", "EUR"]),
)
def test_the_parts_add_up_to_the_variance_to_the_cent_whichever_way(
    budget_rate, actual_rates, foreign, domestic, remainder, budget, currency
):
    # Positive foreign amounts are purchases on an expense account or sales on a revenue one;
    # negative ones are credit notes; rates above and below the budget's are both drawn.
    months = [
        CurrencyMonth(
            currency=currency,
            period=dt.date(2026, 1 + i, 1),
            foreign=f,
            base=at_rate(f, actual_rates[i % len(actual_rates)]),
        )
        for i, f in enumerate(foreign)
    ]
    lines = domestic + sum(m.base for m in months)
    actual = lines + remainder
    split = currency_split(
        actual=actual,
        budget=budget,
        months=months,
        base_lines=domestic,
        budget_rates={(currency, None): budget_rate},
    )
    assert split.variance == money(actual - budget)
    assert split.volume + split.rate + split.gains_losses == split.variance
    assert split.remainder == remainder
    assert split.rate == sum(m.base for m in months) - sum(
        at_rate(m.foreign, budget_rate) for m in months
    )


@settings(max_examples=300, deadline=None)
@given(
    budget_rate=rates,
    actual_rate=rates,
    foreign=st.decimals(min_value=D("1000"), max_value=D("500000"), places=2),
    sales=st.booleans(),
    credit=st.booleans(),
)
def test_the_rate_effect_follows_the_rates_for_sales_and_purchases(
    budget_rate, actual_rate, foreign, sales, credit
):
    # A base weaker than budgeted (fewer foreign units per unit of base) makes foreign
    # purchases dearer and foreign sales worth more, both a positive figure in the P&L's
    # natural sign; a credit note turns it round. Sales and purchases split the same way.
    amount = -foreign if credit else foreign
    line = CurrencyMonth(
        currency="EUR", period=JUNE, foreign=amount, base=at_rate(amount, actual_rate)
    )
    split = currency_split(
        actual=line.base,
        budget=D("1000.00") if sales else D("0"),
        months=[line],
        base_lines=D("0"),
        budget_rates={("EUR", None): budget_rate},
    )
    exact = amount / actual_rate - amount / budget_rate
    assert abs(split.rate - exact) <= D("0.01")
    weaker = actual_rate < budget_rate
    expected_sign = 0 if actual_rate == budget_rate else (1 if weaker != credit else -1)
    assert (split.rate > 0) - (split.rate < 0) in (
        {expected_sign} if abs(exact) >= D("0.01") else {-1, 0, 1}
    )
    assert split.volume + split.rate == split.variance
