"""Scenarios side by side as server-side SVG: each one's net profit per month as a line, the
base dashed, readable by a screen reader through <title> and <desc>; the figures are in the
comparison table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from budgeting.scenarios.selectors import ScenarioView
from core.money import amount_in, compact

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
# Told apart by dash as well as colour (the stylesheet's series-N), for colour-blind readers.
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")


def _y(value: Decimal, low: Decimal, high: Decimal) -> float:
    span = high - low or Decimal(1)
    return TOP + float((high - value) / span) * (HEIGHT - TOP - BOTTOM)


def _x(index: int, count: int) -> float:
    return LEFT + index * (WIDTH - LEFT - RIGHT) / max(count - 1, 1)


def _path(values: Sequence[Decimal], low: Decimal, high: Decimal) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{_x(i, len(values)):.1f},{_y(v, low, high):.1f}"
        for i, v in enumerate(values)
    )


def net_profit_svg(*, views: Sequence[ScenarioView], chart_id: str = "scenarios") -> SafeString:
    if not views or not views[0].result.months:
        return format_html('<p class="muted">{}</p>', "No scenario to chart.")
    currency = views[0].currency
    months = views[0].months
    series = [[m.scenario.net_profit for m in v.result.months] for v in views]
    base = [m.base.net_profit for m in views[0].result.months]
    values = [x for s in [*series, base] for x in s]
    low, high = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    if low == high:
        high = low + 1
    desc = "; ".join(
        f"{v.scenario.name}: net profit {amount_in(v.result.total.net_profit, currency)} over "
        f"{len(months)} months"
        for v in views
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">Net profit per month, scenario by scenario</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}.</desc>',
    ]
    for value in sorted({low, Decimal(0), high}):
        y = _y(value, low, high)
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(compact(value))}</text>'
        )
    for i, month in enumerate(months):
        if i % 3 == 0 or i == len(months) - 1:
            parts.append(
                f'<text class="axis" x="{_x(i, len(months)):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{month:%b %y}</text>'
            )
    parts.append(f'<path class="budget" d="{_path(base, low, high)}"><title>Base</title></path>')
    for n, (view, values_of) in enumerate(zip(views, series, strict=True)):
        dash = f' stroke-dasharray="{DASHES[n % len(DASHES)]}"' if DASHES[n % len(DASHES)] else ""
        parts.append(
            f'<path class="series series-{n + 1}" fill="none"{dash} '
            f'd="{_path(values_of, low, high)}"><title>{escape(view.scenario.name)}</title></path>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
