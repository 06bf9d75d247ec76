"""Actual against budget over time as server-side SVG: no JavaScript, no CDN, readable by a
screen reader through the chart's <title> and <desc>, with the figures in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from budgeting.variance.maths import SeriesPoint
from core.money import amount_in, compact, signed_amount_in

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


def _y(value: Decimal, low: Decimal, high: Decimal) -> float:
    span = high - low or Decimal(1)
    return TOP + float((high - value) / span) * (HEIGHT - TOP - BOTTOM)


def _x(index: int, count: int) -> float:
    step = (WIDTH - LEFT - RIGHT) / max(count - 1, 1)
    return LEFT + index * step


def _path(values: Sequence[Decimal], low: Decimal, high: Decimal) -> str:
    return " ".join(
        f"{'M' if i == 0 else 'L'}{_x(i, len(values)):.1f},{_y(v, low, high):.1f}"
        for i, v in enumerate(values)
    )


def actual_vs_budget_svg(
    *, points: Sequence[SeriesPoint], title: str, chart_id: str, currency: str
) -> SafeString:
    """A line chart of the points' actual (solid), original budget (dashed) and, once the
    organisation has one, forecast budget (dotted), oldest month first."""
    if not points:
        return format_html('<p class="muted">No figures to chart for {}.</p>', title)
    actuals = [p.actual for p in points]
    budgets = [p.budget for p in points]
    forecasts = _forecasts(points)
    low = min(min(actuals), min(budgets), *forecasts, Decimal(0))
    high = max(max(actuals), max(budgets), *forecasts, Decimal(0))
    if low == high:
        high = low + 1
    first, last = points[0].period, points[-1].period
    latest = points[-1]
    desc = (
        f"Actual and budget each month from {first:%B %Y} to {last:%B %Y}. In {last:%B %Y} "
        f"the actual was {amount_in(latest.actual, currency)} against a budget of "
        f"{amount_in(latest.budget, currency)}. Over the {len(points)} months the actual "
        f"totalled {amount_in(sum(actuals, Decimal(0)), currency)} and the budget "
        f"{amount_in(sum(budgets, Decimal(0)), currency)}."
    )
    if forecasts:
        desc += (
            f" The forecast budget was {amount_in(latest.forecast, currency)} in {last:%B %Y} "
            f"and {amount_in(sum(forecasts, Decimal(0)), currency)} over the months."
        )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    # Gridlines at the top, zero and bottom, labelled in compact currency units.
    for value in sorted({low, Decimal(0), high}):
        y = _y(value, low, high)
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(compact(value))}</text>"
        )
    for i, point in enumerate(points):
        if point.period.month in (1, 4, 7, 10) or i == len(points) - 1:
            parts.append(
                f'<text class="axis" x="{_x(i, len(points)):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{point.period:%b %y}</text>'
            )
    parts.append(f'<path class="budget" d="{_path(budgets, low, high)}"/>')
    if forecasts:
        parts.append(f'<path class="forecast" d="{_path(forecasts, low, high)}"/>')
    parts.append(f'<path class="actual" d="{_path(actuals, low, high)}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def _forecasts(points: Sequence[SeriesPoint]) -> list[Decimal]:
    """The forecast budget's line, all or nothing: a chart never draws half a line."""
    if any(p.forecast is None for p in points):
        return []
    return [p.forecast for p in points]


def actual_vs_budget_table(*, points: Sequence[SeriesPoint], caption: str, currency: str):
    """The chart's figures as a table inside <details>: for keyboard and screen reader users,
    and for anyone who wants the numbers behind a line."""
    if not points:
        return ""
    forecast = bool(_forecasts(points))
    cells = '<td class="num">{}</td>' * (5 if forecast else 3)
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th>' + cells + "</tr>",
        (
            (
                f"{p.period:%b %Y}",
                amount_in(p.actual, currency),
                amount_in(p.budget, currency),
                signed_amount_in(p.variance, currency),
                *(
                    (
                        amount_in(p.forecast, currency),
                        signed_amount_in(p.actual - p.forecast, currency),
                    )
                    if forecast
                    else ()
                ),
            )
            for p in points
        ),
    )
    headings = ["Actual", "Budget", "Variance"]
    if forecast:
        headings = ["Actual", "Original budget", "Variance", "Forecast budget", "Variance"]
    return format_html(
        '<details class="chart-figures"><summary>The figures behind the chart</summary>'
        '<table class="data"><caption>{}</caption><thead><tr><th scope="col">Month</th>'
        "{}</tr></thead><tbody>{}</tbody></table></details>",
        caption,
        format_html_join(
            "", '<th scope="col" class="num">{}</th>', ((heading,) for heading in headings)
        ),
        rows,
    )
