"""Actual against budget over time as server-side SVG: no JavaScript, no CDN, readable by a
screen reader through the chart's <title> and <desc>, with the figures in a table beside it."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from budgeting.variance.maths import Period, SeriesPoint
from core.money import amount_in, compact, signed_amount_in

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28
LABEL_GAP = 14  # px between two axis labels: 11px text and a little air


def _y(value: Decimal, low: Decimal, high: Decimal) -> float:
    span = high - low or Decimal(1)
    return TOP + float((high - value) / span) * (HEIGHT - TOP - BOTTOM)


def _x(index: int, count: int) -> float:
    step = (WIDTH - LEFT - RIGHT) / max(count - 1, 1)
    return LEFT + index * step


def _path(values: Sequence[Decimal | None], low: Decimal, high: Decimal) -> str:
    """A line through the values, broken where a value is None (a month with no figure)."""
    moves, previous = [], None
    for i, value in enumerate(values):
        if value is not None:
            command = "L" if previous is not None else "M"
            moves.append(f"{command}{_x(i, len(values)):.1f},{_y(value, low, high):.1f}")
        previous = value
    return " ".join(moves)


def actual_vs_budget_svg(
    *,
    points: Sequence[SeriesPoint],
    title: str,
    chart_id: str,
    currency: str,
    open_month: Period | None = None,
) -> SafeString:
    """A line chart of the points' actual (solid), original budget (dashed) and, once the
    organisation has one, forecast budget (dotted), oldest month first."""
    if not points:
        return format_html('<p class="muted">No figures to chart for {}.</p>', title)
    actuals = [p.actual for p in points]
    # The budget from the month it exists, the forecast budget where it has figures.
    budgets = [p.budget if p.budgeted else None for p in points]
    forecasts = [p.forecast for p in points]
    drawn = [v for v in (*budgets, *forecasts) if v is not None]
    low = min(min(actuals), *drawn, Decimal(0))
    high = max(max(actuals), *drawn, Decimal(0))
    if low == high:
        high = low + 1
    first, last = points[0].period, points[-1].period
    latest = points[-1]
    budgeted = [p for p in points if p.budgeted]
    against = (
        f"against a budget of {amount_in(latest.budget, currency)}"
        if latest.budgeted
        else "with no budget for the month"
    )
    desc = (
        f"Actual and budget each month from {first:%B %Y} to {last:%B %Y}. In {last:%B %Y} "
        f"the actual was {amount_in(latest.actual, currency)} {against}. Over the "
        f"{len(points)} months the actual totalled "
        f"{amount_in(sum(actuals, Decimal(0)), currency)}"
    )
    if budgeted:
        desc += (
            f"; the budget, from {budgeted[0].period:%B %Y}, totalled "
            f"{amount_in(sum((p.budget for p in budgeted), Decimal(0)), currency)}."
        )
    else:
        desc += "; there is no budget for these months."
    partial = [p for p in points if open_month is not None and p.period >= open_month]
    if partial:
        desc += (
            f" {partial[0].period:%B %Y} is still open in Xero: its actual is partial "
            "(marked with an open circle)."
        )
    if latest.forecast is not None:
        desc += (
            f" The forecast budget was {amount_in(latest.forecast, currency)} in {last:%B %Y} "
            f"and {amount_in(sum((f for f in forecasts if f is not None), Decimal(0)), currency)}"
            " over the months it covers."
        )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    # Gridlines at the top, zero and bottom, labelled in compact currency units; a label that
    # would overlap the one above it (zero close to the bottom or top) is left out, not its line.
    labelled_at: list[float] = []
    for value in sorted({low, Decimal(0), high}, key=lambda v: (v != 0, v)):
        y = _y(value, low, high)
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        if all(abs(y - other) >= LABEL_GAP for other in labelled_at):
            labelled_at.append(y)
            parts.append(
                f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(compact(value))}</text>"
            )
    for i, point in enumerate(points):
        if point.period.month in (1, 4, 7, 10) or i == len(points) - 1:
            parts.append(
                f'<text class="axis" x="{_x(i, len(points)):.1f}" y="{HEIGHT - 8}" '
                f'text-anchor="middle">{point.period:%b %y}</text>'
            )
    if budgeted:
        parts.append(f'<path class="budget" d="{_path(budgets, low, high)}"/>')
    if any(f is not None for f in forecasts):
        parts.append(f'<path class="forecast" d="{_path(forecasts, low, high)}"/>')
    parts.append(f'<path class="actual" d="{_path(actuals, low, high)}"/>')
    for i, point in enumerate(points):
        if point in partial:
            # The open month: an open circle and its label, so it is not read as a fall.
            x, y = _x(i, len(points)), _y(point.actual, low, high)
            parts.append(
                f'<circle class="partial" cx="{x:.1f}" cy="{y:.1f}" r="4"/>'
                f'<text class="axis" x="{x:.1f}" y="{max(y - 8, TOP + 8):.1f}" '
                'text-anchor="end">partial</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def actual_vs_budget_table(*, points: Sequence[SeriesPoint], caption: str, currency: str):
    """The chart's figures as a table inside <details>: for keyboard and screen reader users,
    and for anyone who wants the numbers behind a line."""
    if not points:
        return ""
    forecast = any(p.forecast is not None for p in points)
    cells = '<td class="num">{}</td>' * (5 if forecast else 3)
    rows = format_html_join(
        "",
        '<tr><th scope="row">{}</th>' + cells + "</tr>",
        (
            (
                f"{p.period:%b %Y}",
                amount_in(p.actual, currency),
                amount_in(p.budget, currency) if p.budgeted else "no budget",
                signed_amount_in(p.variance, currency) if p.budgeted else "",
                *(
                    (
                        amount_in(p.forecast, currency),
                        signed_amount_in(p.actual - p.forecast, currency),
                    )
                    if p.forecast is not None
                    else ("no figure", "")
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
