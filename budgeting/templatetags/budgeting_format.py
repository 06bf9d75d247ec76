"""Durations, keys and badges as the budgeting screens show them (amounts: variance_format)."""

from django import template
from django.utils.html import format_html

register = template.Library()


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


_XERO_BADGES = {"connected": ("good", "✓"), "needs_reauth": ("warn", "⚠"), "revoked": ("bad", "✕")}


@register.simple_tag
def xero_state_badge(state: str, label: str) -> str:
    """The Xero connection state: a word and a symbol, never colour alone."""
    tone, symbol = _XERO_BADGES.get(state, ("", "\u2013"))  # an en dash: not connected
    return format_html('<span class="badge {}">{} {}</span>', tone, symbol, label)


@register.simple_tag
def reconciliation_badge(state: str, label: str, history_url: str) -> str:
    if state == "reconciled":
        return format_html('<span class="badge good">✓ {}</span>', label)
    if state == "differences":
        return format_html(
            '<a class="badge bad" href="{}?tab=history">✕ {}'
            '<span class="visually-hidden"> (see the sync history)</span></a>',
            history_url,
            label,
        )
    return format_html('<span class="badge">? {}</span>', label)
