"""Money: one type (cents, rounded half up as Xero rounds) and one way to write each kind of
figure, whichever screen, chart, narrative or email shows it."""

from decimal import Decimal

from core.money import amount_in, amount_in_prose, compact, money, signed_amount_in


def test_money_is_a_decimal_in_cents_rounded_half_up():
    assert money("10.005") == Decimal("10.01")
    assert money(-2) == Decimal("-2.00")
    assert money(Decimal("0.004")) == Decimal("0.00")


def test_an_amount_is_written_in_its_currency():
    assert amount_in(Decimal("12345.6"), "NZD") == "NZ$12,345.60"
    assert amount_in(Decimal("-5"), "GBP") == "\u2212£5.00"
    assert amount_in(Decimal("1"), "SEK") == "SEK 1.00"
    assert amount_in(Decimal("-1234.5")) == "\u22121,234.50"  # no currency: the bare figure


def test_a_blank_stays_blank_and_text_stays_text():
    assert amount_in(None, "NZD") == "" and amount_in("", "NZD") == ""
    assert amount_in("n/a", "NZD") == "n/a"


def test_a_change_is_written_with_its_sign():
    assert signed_amount_in(Decimal("4100"), "AUD") == "+A$4,100.00"
    assert signed_amount_in(Decimal("-4100"), "AUD") == "\u2212A$4,100.00"
    assert signed_amount_in(Decimal("0"), "AUD") == "A$0.00"
    assert signed_amount_in(None, "AUD") == ""


def test_an_amount_in_a_sentence_drops_cents_only_when_there_are_none():
    assert amount_in_prose(Decimal("4200")) == "4,200"
    assert amount_in_prose(Decimal("4213.5")) == "4,213.50"


def test_a_chart_axis_label_is_compact():
    assert compact(Decimal("1250000")) == "1.3m"
    assert compact(Decimal("-12345")) == "\u221212k"
    assert compact(Decimal("950")) == "950"
