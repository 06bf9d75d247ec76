"""Forecasts in plain words, the technical name in a tooltip: `{% load forecast_words %}`.

Firm staff read "the same month last year" and "typical error 8%"; the method's code name and
the measure's name (sMAPE, MASE) stay one hover away, for whoever checks the maths."""

from decimal import Decimal

from django import template
from django.utils.html import format_html

from budgeting.drafts.services import method_label

register = template.Library()

CONFIDENCE_HELP = (
    "Confidence {score} out of 100: how closely the method forecast this line's own past "
    "months when tried on them (backtest)"
)


@register.filter
def method_words(method: str) -> str:
    """`{{ line.method|method_words }}`: "the same month last year", its code in the title."""
    if not method:
        return ""
    label = method_label(method)
    return format_html('<abbr title="Method: {}">{}</abbr>', method, label[:1].upper() + label[1:])


@register.filter
def confidence_words(line) -> str:
    """`{{ line|confidence_words }}`: "Low confidence", the score and what it means in the
    title, never a bare "Low (0/100)"."""
    label = (getattr(line, "confidence_label", "") or "unknown").capitalize()
    score = getattr(line, "confidence", None)
    return format_html(
        '<abbr title="{}">{} confidence</abbr>', CONFIDENCE_HELP.format(score=score), label
    )


@register.filter
def typical_error(percent, measure: str = "") -> str:
    """`{{ a.error_percent|typical_error:"weighted absolute percentage error" }}`: "typical
    error 8%", the measure's name in the title; "not measured yet" when there is none."""
    if percent is None or percent == "":
        return "not measured yet"
    value = Decimal(str(percent)).quantize(Decimal("1"))
    if measure:
        return format_html('<abbr title="{}">typical error {}%</abbr>', measure, value)
    return f"typical error {value}%"


@register.filter
def history_words(months) -> str:
    """`{{ line.history_months|history_words }}`: "based on 3 years of history"."""
    if not months:
        return "no history yet"
    months = int(months)
    if months >= 12 and months % 12 == 0:
        years = months // 12
        return f"based on {years} year{'s' if years != 1 else ''} of history"
    return f"based on {months} month{'s' if months != 1 else ''} of history"
