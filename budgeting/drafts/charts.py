"""A line's forecast as server-side SVG: history, budget, the forecast and its 80% and 95%
intervals. No JavaScript, no CDN; readable by a screen reader through <title>, <desc> and the
table of figures the page shows beside it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from core.money import amount_in, compact

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


@dataclass(frozen=True)
class ForecastPoint:
    period: dt.date
    point: Decimal
    lo_80: Decimal
    hi_80: Decimal
    lo_95: Decimal
    hi_95: Decimal


def forecast_svg(
    *,
    actuals: Sequence[tuple[dt.date, Decimal]],
    budgets: Mapping[dt.date, Decimal],
    forecast: Sequence[ForecastPoint],
    title: str,
    chart_id: str,
    currency: str,
    backtest_note: str = "",
    marked: Mapping[dt.date, str] | None = None,
) -> SafeString:
    """Actuals (solid), the budget (dashed) over history and horizon, the forecast (dotted) with
    its 95% band (light) and 80% band (darker); `marked` months ({month: why}) get a ring on
    the line, with why as its tooltip and in the description."""
    marked = dict(marked or {})
    if not actuals and not forecast:
        return format_html('<p class="muted">No figures to chart for {}.</p>', title)
    periods = [p for p, _ in actuals] + [f.period for f in forecast]
    index = {p: i for i, p in enumerate(periods)}
    values = [v for _, v in actuals] + [budgets[p] for p in periods if p in budgets]
    values += [f.lo_95 for f in forecast] + [f.hi_95 for f in forecast]
    low, high = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    if low == high:
        high = low + 1
    count = len(periods)

    def x(period: dt.date) -> float:
        return LEFT + index[period] * (WIDTH - LEFT - RIGHT) / max(count - 1, 1)

    def y(value: Decimal) -> float:
        return TOP + float((high - value) / (high - low)) * (HEIGHT - TOP - BOTTOM)

    def path(points: Sequence[tuple[dt.date, Decimal]]) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{x(p):.1f},{y(v):.1f}" for i, (p, v) in enumerate(points)
        )

    def band(lower: Sequence[Decimal], upper: Sequence[Decimal]) -> str:
        top = [f"{x(f.period):.1f},{y(v):.1f}" for f, v in zip(forecast, upper, strict=True)]
        bottom = [f"{x(f.period):.1f},{y(v):.1f}" for f, v in zip(forecast, lower, strict=True)]
        return " ".join(top + bottom[::-1])

    desc = _description(actuals, budgets, forecast, currency, backtest_note)
    shown = dict(actuals) | {f.period: f.point for f in forecast}
    marks = sorted(p for p in marked if p in shown)
    if marks:
        desc += " Flagged months: " + "; ".join(f"{p:%B %Y}: {marked[p]}" for p in marks) + "."
    parts = [
        f'<svg class="chart forecast" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for value in sorted({low, Decimal(0), high}):
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{escape(compact(value))}</text>"
        )
    for i, period in enumerate(periods):
        if period.month in (1, 4, 7, 10) or i == count - 1:
            anchor = "end" if i == count - 1 else "middle"
            parts.append(
                f'<text class="axis" x="{x(period):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="{anchor}">{period:%b %y}</text>'
            )
    if forecast:
        parts.append(
            f'<polygon class="band-95" points="{band([f.lo_95 for f in forecast], [f.hi_95 for f in forecast])}"/>'
        )
        parts.append(
            f'<polygon class="band-80" points="{band([f.lo_80 for f in forecast], [f.hi_80 for f in forecast])}"/>'
        )
        start = x(forecast[0].period)
        parts.append(
            f'<line class="now" x1="{start:.1f}" x2="{start:.1f}" y1="{TOP}" '
            f'y2="{HEIGHT - BOTTOM}"/>'
        )
    budget_points = [(p, budgets[p]) for p in periods if p in budgets]
    if budget_points:
        parts.append(f'<path class="budget" d="{path(budget_points)}"/>')
    if actuals:
        parts.append(f'<path class="actual" d="{path(actuals)}"/>')
    if forecast:
        joined = ([actuals[-1]] if actuals else []) + [(f.period, f.point) for f in forecast]
        parts.append(f'<path class="forecast" d="{path(joined)}"/>')
    for period in marks:
        parts.append(
            f'<circle class="flagged" cx="{x(period):.1f}" cy="{y(shown[period]):.1f}" r="6">'
            f"<title>{period:%B %Y}: {escape(marked[period])}</title></circle>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def _description(actuals, budgets, forecast, currency: str, backtest_note: str) -> str:
    parts = []
    if actuals:
        first, last = actuals[0][0], actuals[-1][0]
        parts.append(
            f"Actuals each month from {first:%B %Y} to {last:%B %Y}; in {last:%B %Y} "
            f"{amount_in(actuals[-1][1], currency)}."
        )
    if forecast:
        total = sum((f.point for f in forecast), Decimal(0))
        budget = sum((budgets.get(f.period, Decimal(0)) for f in forecast), Decimal(0))
        parts.append(
            f"Forecast from {forecast[0].period:%B %Y} to {forecast[-1].period:%B %Y}: "
            f"{amount_in(total, currency)} in total against a budget of "
            f"{amount_in(budget, currency)}; in {forecast[0].period:%B %Y} between "
            f"{amount_in(forecast[0].lo_80, currency)} and {amount_in(forecast[0].hi_80, currency)}"
            " (80% interval)."
        )
    if backtest_note:
        parts.append(backtest_note)
    return " ".join(parts)
