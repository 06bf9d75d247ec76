"""Money: the one money type (a Decimal quantised to cents) and the ways an amount is written.

Pure Python, no Django: the maths, the template tags, the charts, the narratives and the emails
all call these, so a figure reads the same wherever it appears.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# The symbol a reader of each currency expects; a code where a symbol would be ambiguous.
CURRENCY_SYMBOLS = {
    "NZD": "NZ$",
    "AUD": "A$",
    "USD": "US$",
    "CAD": "CA$",
    "GBP": "£",
    "EUR": "€",
    "JPY": "¥",
}
MINUS = "\u2212"


def money(value: Decimal | int | str) -> Decimal:
    """The app's one money type: a Decimal quantised to cents, half up as Xero rounds."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def amount_in(value: Decimal | int | str | None, currency: str = "") -> str:
    """12345.6 in NZD -> "NZ$12,345.60"; negative with a true minus sign; "" for None.

    With no currency the bare figure, "12,345.60". Text that is not a number is returned as it
    is, so a template never fails on a blank cell.
    """
    if value is None or value == "":
        return ""
    try:
        value = money(value)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} " if currency else "")
    sign = MINUS if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def signed_amount_in(value: Decimal | None, currency: str = "") -> str:
    """A change with its sign: "+NZ$1,200.00", or a minus sign when under."""
    if value is None:
        return ""
    text = amount_in(value, currency)
    return f"+{text}" if value > 0 else text


def amount_in_prose(value: Decimal) -> str:
    """An amount in a sentence: 4200 -> "4,200"; 4213.5 -> "4,213.50"; no currency.

    The narratives write figures this way (and ask a language model to), so every number in
    the text can be checked against the facts.
    """
    value = money(value)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def compact(value: Decimal) -> str:
    """A chart's axis label: 12,345 -> "12k", 1,250,000 -> "1.3m"."""
    magnitude = abs(value)
    sign = MINUS if value < 0 else ""
    if magnitude >= 1_000_000:
        return f"{sign}{(magnitude / 1_000_000).quantize(Decimal('0.1'), ROUND_HALF_UP)}m"
    if magnitude >= 1_000:
        return f"{sign}{(magnitude / 1_000).quantize(Decimal(1), ROUND_HALF_UP)}k"
    return f"{sign}{magnitude.quantize(Decimal(1), ROUND_HALF_UP)}"
