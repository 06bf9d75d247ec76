"""A revenue account's sales pipeline beside its statistical forecast, as server-side SVG: the
statistical forecast (dashed), the weighted pipeline (bars, in the months it has deals) and the
blend (solid). Readable by a screen reader through <title> and <desc>; the figures are in the
table beside it."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from budgeting.deals.selectors import LinePipeline
from core.money import amount_in, compact

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


def _y(value: Decimal, high: Decimal) -> float:
    return TOP + float((high - value) / (high or Decimal(1))) * (HEIGHT - TOP - BOTTOM)


def _x(index: int, count: int) -> float:
    # Each month the middle of its slot, so a bar and a point of one month line up.
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return LEFT + slot * (index + 0.5)


def pipeline_svg(*, line: LinePipeline, currency: str, chart_id: str) -> SafeString:
    months = line.months
    if not months:
        return format_html('<p class="muted">{}</p>', "No month to chart.")
    values = [v for m in months for v in (m.statistical, m.pipeline or 0, m.blended)]
    high = max([*values, Decimal(1)])
    count = len(months)
    slot = (WIDTH - LEFT - RIGHT) / count
    title = f"{line.account}: sales pipeline and statistical forecast per month"
    desc = (
        f"Over {count} months from {months[0].month:%b %Y}: statistical "
        f"{amount_in(line.statistical_total, currency)}, weighted pipeline "
        f"{amount_in(line.pipeline_total, currency)}, blended at weight {line.weight.weight} "
        f"{amount_in(line.blended_total, currency)}"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}.</desc>',
    ]
    for value in (Decimal(0), high):
        y = _y(value, high)
        parts.append(
            f'<line class="grid{" zero" if value == 0 else ""}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/><text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(compact(value))}</text>'
        )
    for i, month in enumerate(months):
        x = _x(i, count)
        if month.pipeline is not None:
            top = _y(month.pipeline, high)
            parts.append(
                f'<rect class="pipeline" x="{x - slot * 0.3:.1f}" y="{top:.1f}" '
                f'width="{slot * 0.6:.1f}" height="{_y(Decimal(0), high) - top:.1f}">'
                f"<title>{month.month:%b %Y}: pipeline "
                f"{escape(amount_in(month.pipeline, currency))}</title></rect>"
            )
        if count <= 12 or i % 3 == 0:
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{month.month:%b %y}</text>"
            )

    def path(attribute: str) -> str:
        return " ".join(
            f"{'M' if i == 0 else 'L'}{_x(i, count):.1f},{_y(getattr(m, attribute), high):.1f}"
            for i, m in enumerate(months)
        )

    parts.append(
        f'<path class="statistical" '
        f'd="{path("statistical")}"><title>Statistical forecast</title></path>'
    )
    parts.append(
        f'<path class="blended" d="{path("blended")}">'
        f"<title>Blended at weight {line.weight.weight}</title></path>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above
