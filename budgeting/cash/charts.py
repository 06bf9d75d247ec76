"""Closing cash per month as server-side SVG: the actual months solid, the projected ones
dashed, the threshold as a line and the low point marked, readable by a screen reader through
<title> and <desc>; the figures are in the table beside it."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from budgeting.cash.selectors import CashView
from core.money import amount_in, compact

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 16, 28


def _y(value: Decimal, low: Decimal, high: Decimal) -> float:
    span = high - low or Decimal(1)
    return TOP + float((high - value) / span) * (HEIGHT - TOP - BOTTOM)


def _x(index: int, count: int) -> float:
    return LEFT + index * (WIDTH - LEFT - RIGHT) / max(count - 1, 1)


def cash_svg(*, view: CashView, chart_id: str = "cash") -> SafeString:
    months = view.months
    if not months:
        return format_html('<p class="muted">{}</p>', "No balance sheet synced yet to chart.")
    currency = view.currency
    projection = view.projection
    values = [m.cash for m in months]
    edges = [*values, Decimal(0)]
    if projection.threshold is not None:
        edges.append(projection.threshold)
    low, high = min(edges), max(edges)
    if low == high:
        high = low + 1
    desc = [
        f"Closing cash from {months[0].period:%B %Y} to {months[-1].period:%B %Y}; "
        f"actual to {max((m.period for m in months if m.actual), default=months[0].period):%B %Y}"
    ]
    if projection.low is not None:
        desc.append(
            f"projected low {amount_in(projection.low.cash, currency)} in "
            f"{projection.low.period:%B %Y}"
        )
    if projection.below is not None:
        desc.append(
            f"below the threshold of {amount_in(projection.threshold, currency)} from "
            f"{projection.below.period:%B %Y}"
        )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">Closing cash per month, actual and projected</title>',
        f'<desc id="{chart_id}-desc">{escape("; ".join(desc))}.</desc>',
    ]
    for value in sorted({low, Decimal(0), high}):
        y = _y(value, low, high)
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(compact(value))}</text>'
        )
    count = len(months)
    for i, month in enumerate(months):
        if i % 3 == 0 or i == count - 1:
            parts.append(
                f'<text class="axis" x="{_x(i, count):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{month.period:%b %y}</text>'
            )
    if projection.threshold is not None:
        y = _y(projection.threshold, low, high)
        parts.append(
            f'<line class="budget" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke-dasharray="2 3"><title>Threshold '
            f"{escape(amount_in(projection.threshold, currency))}</title></line>"
        )
    points = [(f"{_x(i, count):.1f}", f"{_y(m.cash, low, high):.1f}") for i, m in enumerate(months)]
    last_actual = max((i for i, m in enumerate(months) if m.actual), default=0)
    actual = " ".join(
        f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points[: last_actual + 1])
    )
    parts.append(
        f'<path class="series series-1" fill="none" d="{actual}"><title>Actual</title></path>'
    )
    if last_actual < count - 1:
        ahead = " ".join(
            f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(points[last_actual:])
        )
        parts.append(
            f'<path class="series series-2" fill="none" stroke-dasharray="6 3" d="{ahead}">'
            "<title>Projected</title></path>"
        )
    if projection.low is not None:
        index = next(i for i, m in enumerate(months) if m.period == projection.low.period)
        x, y = points[index]
        label = f"Low {compact(projection.low.cash)}, {projection.low.period:%b %y}"
        parts.append(
            f'<circle class="marker" cx="{x}" cy="{y}" r="5"><title>{escape(label)}</title></circle>'
            f'<text class="axis" x="{x}" y="{float(y) - 9:.1f}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
