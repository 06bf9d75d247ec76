"""Money and percents as the variance screens, the CSV and the command write them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from budgeting.variance.maths import Comparison, money

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


def amount_in(value: Decimal | None, currency: str) -> str:
    """12345.6 in NZD -> "NZ$12,345.60"; negative with a true minus sign."""
    if value is None:
        return ""
    value = money(value)
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} " if currency else "")
    sign = MINUS if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


def signed_amount_in(value: Decimal | None, currency: str) -> str:
    """A variance with its sign: "+NZ$1,200.00", or a minus sign when under."""
    if value is None:
        return ""
    text = amount_in(value, currency)
    return f"+{text}" if value > 0 else text


def percent_text(comparison: Comparison) -> str:
    """ "+12.5%", or "no budget" where a percent of nothing would be infinite."""
    if comparison.percent is None:
        return "no budget"
    sign = "+" if comparison.percent > 0 else (MINUS if comparison.percent < 0 else "")
    return f"{sign}{abs(comparison.percent)}%"


def compact(value: Decimal) -> str:
    """An axis label: 12,345 -> "12k", 1,250,000 -> "1.3m"."""
    magnitude = abs(value)
    sign = MINUS if value < 0 else ""
    if magnitude >= 1_000_000:
        return f"{sign}{(magnitude / 1_000_000).quantize(Decimal('0.1'), ROUND_HALF_UP)}m"
    if magnitude >= 1_000:
        return f"{sign}{(magnitude / 1_000).quantize(Decimal(1), ROUND_HALF_UP)}k"
    return f"{sign}{magnitude.quantize(Decimal(1), ROUND_HALF_UP)}"


STATUS_LABELS = {
    "favourable": ("▲", "Favourable"),
    "unfavourable": ("▼", "Unfavourable"),
    "on budget": ("●", "On budget"),
    "no budget": ("○", "No budget"),
}
