"""Template filters of the scenario screens: a P&L line's figure by name."""

from django import template

register = template.Library()


@register.filter
def figure(pnl, name: str):
    """{{ month.scenario|figure:"net_profit" }}; blank for a month with no figures (no actual)."""
    return None if pnl is None else pnl.figure(name)
