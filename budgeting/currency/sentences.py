"""The currency effects of a variance in plain words: pure, no Django.

"£4,210 of the 6,000 overspend on Cost of Goods Sold is the weaker pound against the US dollar."
Figures are written as the narratives write them (core.money.amount_in_prose), so every number
can be checked against the facts.
"""

from __future__ import annotations

from decimal import Decimal

from budgeting.currency.maths import CurrencySplit, RateEffect
from core.money import CURRENCY_SYMBOLS, amount_in_prose

# What a reader calls each currency; its code otherwise.
CURRENCY_NAMES = {
    "GBP": "pound",
    "USD": "US dollar",
    "EUR": "euro",
    "NZD": "New Zealand dollar",
    "AUD": "Australian dollar",
    "CAD": "Canadian dollar",
    "JPY": "yen",
    "CNY": "yuan",
    "CHF": "Swiss franc",
    "SGD": "Singapore dollar",
    "HKD": "Hong Kong dollar",
    "ZAR": "rand",
}
# Below this share of the variance a currency is not worth a sentence of its own.
MENTION_SHARE = Decimal("0.1")


def currency_name(code: str) -> str:
    return CURRENCY_NAMES.get(code, code)


def _amount(value: Decimal, base_currency: str) -> str:
    return f"{CURRENCY_SYMBOLS.get(base_currency, '')}{amount_in_prose(abs(value))}"


def variance_noun(*, variance: Decimal, account_class: str) -> str:
    if account_class == "REVENUE":
        return "shortfall in" if variance < 0 else "more in"
    return "underspend on" if variance < 0 else "overspend on"


def base_direction(effect: RateEffect) -> str | None:
    """'weaker' when the base currency bought fewer units than budgeted, 'stronger' when more."""
    actual, budget = effect.actual_rate, effect.budget_rate
    if actual is None or budget is None or actual == budget:
        return None
    return "weaker" if actual < budget else "stronger"


def currency_sentences(
    *, split: CurrencySplit, account_name: str, account_class: str, base_currency: str
) -> list[str]:
    """What rates did to the variance, one sentence per currency that matters, then what is
    left; nothing when the account had no foreign activity."""
    if split.fx_account:
        if not split.variance:
            return []
        return [
            f"{account_name} holds currency gains and losses: the whole "
            f"{_amount(split.variance, base_currency)} difference from budget is a currency "
            "effect, not trading."
        ]
    if not split.by_currency or not split.variance:
        return []
    noun = variance_noun(variance=split.variance, account_class=account_class)
    whole = amount_in_prose(abs(split.variance))
    base_name = currency_name(base_currency)
    sentences = []
    for effect in split.by_currency:
        if effect.missing_months:
            months = ", ".join(f"{m:%B %Y}" for m in effect.missing_months)
            sentences.append(
                f"There is no budget rate for {effect.currency} for {months}, so its rate "
                "effect there is not measured."
            )
        direction = base_direction(effect)
        if direction is None or not effect.effect:
            continue
        if abs(effect.effect) < MENTION_SHARE * abs(split.variance):
            continue
        reason = f"the {direction} {base_name} against the {currency_name(effect.currency)}"
        if (effect.effect > 0) == (split.variance > 0):
            sentences.append(
                f"{_amount(effect.effect, base_currency)} of the {whole} {noun} "
                f"{account_name} is {reason}."
            )
        else:
            sentences.append(
                f"{reason[0].upper()}{reason[1:]} worked the other way, by "
                f"{_amount(effect.effect, base_currency)}."
            )
    if sentences:
        if split.volume:
            where = "over" if split.volume > 0 else "under"
            left = f"{_amount(split.volume, base_currency)} {where} budget"
        else:
            left = "on budget"
        sentences.append(f"At budget rates {account_name} would be {left}.")
    return sentences
