"""Percents and statuses as the variance screens write them (amounts: core.money)."""

from __future__ import annotations

from budgeting.variance.maths import Comparison
from core.money import MINUS


def percent_text(comparison: Comparison) -> str:
    """ "+12.5%", or "no budget" where a percent of nothing would be infinite."""
    if comparison.percent is None:
        return "no budget"
    sign = "+" if comparison.percent > 0 else (MINUS if comparison.percent < 0 else "")
    return f"{sign}{abs(comparison.percent)}%"


STATUS_LABELS = {
    "favourable": ("▲", "Favourable"),
    "unfavourable": ("▼", "Unfavourable"),
    "on budget": ("●", "On budget"),
    "no budget": ("○", "No budget"),
}
