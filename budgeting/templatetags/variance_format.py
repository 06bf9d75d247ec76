"""Amounts and variance figures in templates: `{% load variance_format %}`.

`{{ amount|amount_in:currency }}` ("NZ$12,345.60"), `{{ amount|amount_in }}` (the bare figure) and
`{{ change|signed_amount_in:currency }}`: core.money's formatters, the same the charts and emails use.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from budgeting.variance import formatting as variance_format
from core.money import amount_in, signed_amount_in

register = template.Library()


register.filter("amount_in", amount_in)
register.filter("signed_amount_in", signed_amount_in)


@register.filter
def percent_text(comparison) -> str:
    return variance_format.percent_text(comparison)


@register.filter
def status_icon(comparison) -> str:
    return variance_format.STATUS_LABELS[comparison.status][0]


@register.filter
def status_label(comparison) -> str:
    return variance_format.STATUS_LABELS[comparison.status][1]


@register.filter
def status_class(comparison) -> str:
    return {"favourable": "fav", "unfavourable": "unfav"}.get(comparison.status, "")


@register.simple_tag
def figures_cells(month, year_to_date, currency: str):
    """The nine figure cells of a report row, built in one call: a report of 300 accounts
    would spend most of its time in per-cell filters and includes otherwise."""
    cells = []
    for comparison, with_status in ((month, True), (year_to_date, False)):
        tone = status_class(comparison)
        cells.append(
            format_html(
                '<td class="num">{}</td><td class="num">{}</td>'
                '<td class="num {}">{}</td><td class="num">{}</td>',
                amount_in(comparison.actual, currency),
                amount_in(comparison.budget, currency),
                tone,
                signed_amount_in(comparison.variance, currency),
                variance_format.percent_text(comparison),
            )
        )
        if with_status:
            cells.append(
                format_html(
                    '<td class="{}"><span aria-hidden="true">{}</span> {}</td>',
                    tone,
                    status_icon(comparison),
                    status_label(comparison),
                )
            )
    return mark_safe("".join(cells))  # noqa: S308 - each part is built with format_html


@register.simple_tag(takes_context=True)
def variance_dashboard_cells(context, summary):
    """The dashboard's two variance cells of one client, built in Python: the dashboard of a
    200-client firm renders this 200 times, where an include with date filters cost ~10 ms."""
    if summary is None:
        return format_html(
            '<td class="num"><span class="muted">Not yet</span></td>'
            '<td class="num"><span class="muted">{}</span></td>',
            "\u2013",
        )
    # One reverse per page, not per row.
    cache = context.render_context.setdefault("variance_report_urls", {})
    slug = context["current_firm"].slug
    if slug not in cache:
        base = reverse("variance_report", args=[slug, 0])
        cache[slug] = base[: base.rindex("/0/") + 1]
    url = f"{cache[slug]}{summary.organisation_id}/variance/?period={summary.period:%Y-%m}"
    if summary.net_profit_budget == 0:
        icon, words, tone = "○", "no budget", ""
    elif summary.net_profit_favourable is None:
        icon, words, tone = "●", "on budget", ""
    else:
        favourable = summary.net_profit_favourable
        icon = "▲" if favourable else "▼"
        words = (
            f"{abs(summary.net_profit_percent)}% {'favourable' if favourable else 'unfavourable'}"
        )
        tone = "fav" if favourable else "unfav"
    return format_html(
        '<td class="num"><a href="{}" title="Variance report, {}">{}</a><br>'
        '<span class="{}"><span aria-hidden="true">{}</span> {}</span> '
        '<span class="muted">{}</span></td>'
        '<td class="num"><a href="{}&amp;material=1" aria-label="{} material variances in {}">'
        "{}</a></td>",
        url,
        f"{summary.period:%B %Y}",
        signed_amount_in(summary.net_profit_variance, summary.currency_code),
        tone,
        icon,
        words,
        f"{summary.period:%b %Y}",
        url,
        summary.material_count,
        f"{summary.period:%B %Y}",
        summary.material_count,
    )
