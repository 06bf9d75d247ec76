"""Numbers and durations as the budgeting screens show them."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value, currency: str = "") -> str:
    """`{{ amount|money }}` -> "12,345.60"; `{{ amount|money:"NZD" }}` -> "NZD 12,345.60".

    Empty for None, so a month with no figure stays blank rather than reading as zero.
    """
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    text = f"{abs(amount):,.2f}"
    if amount < 0:
        text = "\u2212" + text
    return f"{currency} {text}" if currency else text


@register.filter
def duration(value) -> str:
    """A timedelta as "2 min 05 s" (or "48 s"); empty when unknown."""
    if value is None:
        return ""
    seconds = max(0, round(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def words(value: str) -> str:
    """A key such as "budget_balances" as "budget balances"."""
    return str(value).replace("_", " ")
