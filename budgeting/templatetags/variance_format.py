"""Variance figures in templates: `{% load variance_format %}`."""

from django import template

from budgeting import variance_format

register = template.Library()


@register.filter
def amount_in(value, currency: str) -> str:
    return variance_format.amount_in(value, currency)


@register.filter
def signed_amount_in(value, currency: str) -> str:
    return variance_format.signed_amount_in(value, currency)


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
