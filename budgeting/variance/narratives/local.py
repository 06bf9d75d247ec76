"""The default narrative generator: deterministic, local, and never guessing a cause.

Driver analysis compares this month's transaction lines, contact by contact, with each contact's
typical month in the synced months before. A variance is explained only when the drivers found
that way account for most of it; otherwise the narrative says the data does not explain it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from budgeting.variance.maths import Period, variance_is_material
from budgeting.variance.narratives.facts import Narrative, TransactionLine, VarianceFacts
from core.money import amount_in_prose, money

GENERATOR = "local"

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

# Recurring and one-off can only be told apart with a few months to compare against.
MIN_PRIOR_MONTHS = 3
# A contact in each of the last three months is recurring; absent from all before, a one-off.
RECURRING_MONTHS = 3
# A contact first seen in one of the last two months and in every month since is new.
NEW_CONTACT_MONTHS = 2
# Within 5% of its typical month, a recurring contact is steady rather than a price change.
STEADY_TOLERANCE = Decimal("0.05")
# Drivers must explain at least half of the variance ("most of it") to be reported as the cause.
EXPLAINED_SHARE = Decimal("0.5")
ALMOST_ALL_SHARE = Decimal("0.9")
# Past this, the drivers more than explain the variance and something else pulls the other way.
OVERSHOOT_SHARE = Decimal("1.1")
# A driver below a tenth of the variance is noise in a sentence meant for a partner.
MIN_DRIVER_SHARE = Decimal("0.1")
MAX_DRIVERS = 3

# Why a variance was left unexplained; stored on the residual driver.
TOO_FEW_MONTHS = "too few earlier months synced"
NOT_RECONCILED = "transactions do not account for the actual"
NO_MAIN_DRIVER = "no contact accounts for most of the difference"

DOCUMENT_NOUNS = {
    "ACCREC": ("invoice", "invoices", "to"),
    "ACCPAY": ("bill", "bills", "from"),
    "ACCRECCREDIT": ("credit note", "credit notes", "to"),
    "ACCPAYCREDIT": ("credit note", "credit notes", "from"),
    "SPEND": ("payment", "payments", "to"),
    "RECEIVE": ("receipt", "receipts", "from"),
    "MANJOURNAL": ("manual journal", "manual journals", "for"),
}


def format_percent(value: Decimal) -> str:
    """38.2 -> "38%": a whole percent reads better, and the precise figure is in the facts."""
    whole = value.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if whole == 0 and value != 0:
        return f"{value}%"
    return f"{whole}%"


def format_month(period: Period) -> str:
    return f"{MONTH_NAMES[period.month - 1]} {period.year}"


@dataclass(frozen=True)
class Driver:
    """A contact's part in the variance, or the residual nobody in the data accounts for."""

    # one_off | new_contact | lost_contact | price_rise | price_fall | recurring | irregular
    # | residual
    kind: str
    contact_name: str
    description: str  # of the contact's largest line this month (or last month seen, if lost)
    amount: Decimal  # the contact's total this month
    typical: Decimal  # its typical month before
    impact: Decimal  # the part of the variance it accounts for
    document_type: str = ""
    document_count: int = 0
    first_seen: Period | None = None
    last_seen: Period | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "contact_name": self.contact_name,
            "description": self.description,
            "amount": str(self.amount),
            "typical": str(self.typical),
            "impact": str(self.impact),
            "document_type": self.document_type,
            "document_count": str(self.document_count),
            "first_seen": self.first_seen.isoformat() if self.first_seen else None,
            "last_seen": self.last_seen.isoformat() if self.last_seen else None,
        }


@dataclass(frozen=True)
class DriverAnalysis:
    drivers: tuple[Driver, ...]  # the ones that explain the variance, largest first
    residual: Decimal  # variance - sum of the drivers' impacts
    explained: bool
    reason: str  # why not, when not explained: one of the reasons above

    def to_list(self) -> list[dict[str, Any]]:
        residual = Driver(
            kind="residual",
            contact_name="",
            description=self.reason,
            amount=Decimal("0.00"),
            typical=Decimal("0.00"),
            impact=self.residual,
        )
        return [driver.to_dict() for driver in (*self.drivers, residual)]


def drivers_analyse(facts: VarianceFacts) -> DriverAnalysis:
    if len(facts.prior_months) < MIN_PRIOR_MONTHS:
        return _unexplained(facts, reason=TOO_FEW_MONTHS)
    # When the synced lines do not add up to the actual, most of the money sits in something
    # not synced (a manual journal, say), and the lines cannot speak for it.
    if abs(facts.actual - facts.transactions_total) * 2 > abs(facts.variance):
        return _unexplained(facts, reason=NOT_RECONCILED)
    candidates = sorted(
        (
            driver
            for driver in _contact_drivers(facts)
            if driver.impact * facts.variance > 0
            and abs(driver.impact) >= MIN_DRIVER_SHARE * abs(facts.variance)
        ),
        key=lambda d: (-abs(d.impact), d.contact_name, d.description),
    )
    chosen: list[Driver] = []
    for driver in candidates[:MAX_DRIVERS]:
        chosen.append(driver)
        if _share(chosen, facts) >= ALMOST_ALL_SHARE:
            break
    if not chosen or _share(chosen, facts) < EXPLAINED_SHARE:
        return _unexplained(facts, reason=NO_MAIN_DRIVER)
    return DriverAnalysis(
        drivers=tuple(chosen),
        residual=facts.variance - sum((d.impact for d in chosen), Decimal(0)),
        explained=True,
        reason="",
    )


def _unexplained(facts: VarianceFacts, *, reason: str) -> DriverAnalysis:
    return DriverAnalysis(drivers=(), residual=facts.variance, explained=False, reason=reason)


def _share(drivers: Sequence[Driver], facts: VarianceFacts) -> Decimal:
    return sum((d.impact for d in drivers), Decimal(0)) / facts.variance


def _contact_key(line: TransactionLine) -> tuple[str, str]:
    # Lines with no contact (bank fees, card spend) are told apart by what they are for.
    return (line.contact_name, "") if line.contact_name else ("", line.description)


def _contact_drivers(facts: VarianceFacts) -> list[Driver]:
    keys = {_contact_key(line) for line in facts.lines}
    for month in facts.prior_months:
        keys.update(_contact_key(line) for line in month.lines)
    return [_classify(facts, key) for key in sorted(keys)]


def _classify(facts: VarianceFacts, key: tuple[str, str]) -> Driver:
    current = [line for line in facts.lines if _contact_key(line) == key]
    amount = money(sum((line.amount for line in current), Decimal(0)))
    monthly = [
        money(sum((line.amount for line in m.lines if _contact_key(line) == key), Decimal(0)))
        for m in facts.prior_months
    ]
    seen = [m.period for m, total in zip(facts.prior_months, monthly, strict=True) if total != 0]
    present = [total != 0 for total in monthly]
    kind, typical = _kind(amount=amount, monthly=monthly, present=present)
    largest = max(current, key=lambda line: (abs(line.amount), line.date), default=None)
    described = largest or _last_line(facts, key)
    return Driver(
        kind=kind,
        contact_name=key[0],
        description=described.description if described else key[1],
        amount=amount,
        typical=typical,
        impact=amount - typical,
        document_type=described.document_type if described else "",
        document_count=len({line.document_number for line in current}),
        first_seen=seen[0] if seen else None,
        last_seen=seen[-1] if seen else None,
    )


def _kind(*, amount: Decimal, monthly: list[Decimal], present: list[bool]) -> tuple[str, Decimal]:
    """The contact's pattern, and the typical month this one is measured against."""
    if all(present[-RECURRING_MONTHS:]):
        typical = _mean([total for total in monthly if total != 0])
        if amount == 0:
            return "lost_contact", typical
        if abs(amount - typical) <= STEADY_TOLERANCE * abs(typical):
            return "recurring", typical
        return ("price_rise" if amount > typical else "price_fall"), typical
    if amount != 0 and not any(present):
        return "one_off", Decimal("0.00")
    first = present.index(True) if any(present) else len(present)
    if amount != 0 and first >= len(present) - NEW_CONTACT_MONTHS and all(present[first:]):
        return "new_contact", Decimal("0.00")
    return "irregular", _mean(monthly)


def _mean(values: list[Decimal]) -> Decimal:
    return money(sum(values, Decimal(0)) / len(values)) if values else Decimal("0.00")


def _last_line(facts: VarianceFacts, key: tuple[str, str]) -> TransactionLine | None:
    for month in reversed(facts.prior_months):
        lines = [line for line in month.lines if _contact_key(line) == key]
        if lines:
            return lines[-1]
    return None


class LocalNarrativeGenerator:
    """Builds the narrative from the facts alone; the same facts always give the same text."""

    name = GENERATOR

    def explain(self, facts: VarianceFacts) -> Narrative:
        analysis = drivers_analyse(facts)
        return Narrative(
            text=narrative_text(facts, analysis),
            facts=facts.to_dict(),
            generator=self.name,
            drivers=analysis.to_list(),
        )


def narrative_text(facts: VarianceFacts, analysis: DriverAnalysis) -> str:
    # What exchange rates did comes straight after the headline (budgeting.currency).
    sentences = [_headline(facts, analysis), *facts.currency_sentences]
    if analysis.explained:
        sentences.append(_residual_sentence(facts, analysis))
        sentences.append(_unexplained_amount_sentence(facts))
    else:
        sentences.append(_unexplained_sentence(facts, analysis))
    sentences.append(_trend_sentence(facts))
    if analysis.explained:
        sentences.append(_outlook_sentence(facts, analysis.drivers[0]))
    return " ".join(s for s in sentences if s)


def _headline(facts: VarianceFacts, analysis: DriverAnalysis) -> str:
    name, verb = facts.account_name, _verb(facts.account_name)
    month = format_month(facts.period)
    if facts.variance == 0:
        return f"{name} {verb} on budget in {month}."
    if facts.percent is None:
        opening = f"{name} {verb} {amount_in_prose(facts.actual)} in {month} with no budget"
    else:
        direction = "over" if facts.variance > 0 else "under"
        opening = (
            f"{name} {verb} {amount_in_prose(abs(facts.variance))} "
            f"({format_percent(abs(facts.percent))}) {direction} budget in {month}"
        )
    if not analysis.explained:
        return f"{opening}."
    share = _share(analysis.drivers, facts)
    if share > OVERSHOOT_SHARE:
        lead = "more than all"
    elif share >= ALMOST_ALL_SHARE:
        lead = "almost all"
    else:
        lead = "mostly"
    phrases = [_driver_phrase(facts, driver) for driver in analysis.drivers]
    return f"{opening}, {lead} {_join(phrases)}."


def _verb(account_name: str) -> str:
    # "Wages are", "Marketing is": Xero account names are mostly plural nouns or mass nouns.
    last = account_name.split()[-1].lower() if account_name.split() else ""
    plural = last.endswith("s") and not last.endswith(("ss", "us", "is"))
    return "are" if plural else "is"


def _join(phrases: list[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _counterparty(facts: VarianceFacts) -> str:
    return "customer" if facts.account_class == "REVENUE" else "supplier"


def _label(driver: Driver) -> str:
    return driver.contact_name or f'"{driver.description}"'


def _driver_phrase(facts: VarianceFacts, driver: Driver) -> str:
    label, amount = _label(driver), amount_in_prose(abs(driver.amount))
    if driver.kind == "one_off":
        return f'{_documents(driver)} for "{driver.description}" ({amount})'
    if driver.kind == "new_contact":
        since = format_month(driver.first_seen) if driver.first_seen else ""
        return f"from a new {_counterparty(facts)}, {label}, since {since} ({amount} this month)"
    if driver.kind == "lost_contact":
        return f"because {label} had no transactions this month, against {_typical(driver)}"
    if driver.kind in ("price_rise", "price_fall"):
        more = "higher" if driver.kind == "price_rise" else "lower"
        return f"from {more} amounts with {label} ({amount} this month against {_typical(driver)})"
    return f"from {label} ({amount} this month against {_typical(driver)})"


def _documents(driver: Driver) -> str:
    singular, plural, preposition = DOCUMENT_NOUNS.get(
        driver.document_type, ("transaction", "transactions", "with")
    )
    count = driver.document_count
    noun = f"one {singular}" if count == 1 else f"{count} {plural}"
    if not driver.contact_name:
        return f"from {noun}"
    return f"from {noun} {preposition} {driver.contact_name}"


def _typical(driver: Driver) -> str:
    typical = amount_in_prose(abs(driver.typical))
    if driver.kind == "irregular":
        return f"an average of {typical} a month"
    span = _span(driver.first_seen, driver.last_seen)
    return f"an average of {typical} a month {span}".rstrip()


def _span(first: Period | None, last: Period | None) -> str:
    if first is None or last is None:
        return ""
    if first == last:
        return f"in {format_month(first)}"
    if first.year == last.year:
        return f"from {MONTH_NAMES[first.month - 1]} to {format_month(last)}"
    return f"from {format_month(first)} to {format_month(last)}"


def _spend(facts: VarianceFacts) -> str:
    return "income" if facts.account_class == "REVENUE" else "spend"


def _residual_sentence(facts: VarianceFacts, analysis: DriverAnalysis) -> str:
    residual = analysis.residual
    if analysis.drivers[0].kind == "lost_contact":
        # "Without" a missing customer reads as nonsense; the sentence is about everyone else.
        apart = "Apart from that"
    else:
        apart = "Without it" if len(analysis.drivers) == 1 else "Without them"
    if not variance_is_material(variance=residual, budget=facts.budget, threshold=facts.threshold):
        if facts.budget == 0:
            return f"{apart}, there was little other {_spend(facts)}."
        return f"{apart}, {_spend(facts)} was on budget."
    if residual * facts.variance < 0:
        direction = "over" if residual > 0 else "under"
        return f"{apart}, {_spend(facts)} was {amount_in_prose(abs(residual))} {direction} budget."
    return (
        f"The other {amount_in_prose(abs(residual))} has no single clear driver "
        "in the synced transactions."
    )


def _unexplained_amount_sentence(facts: VarianceFacts) -> str:
    """The part of the actual the synced lines do not account for, said rather than dropped."""
    unexplained, month = facts.unexplained, format_month(facts.period)
    if unexplained > 0:
        return f"{amount_in_prose(unexplained)} of the actual is not in the synced transactions."
    if unexplained < 0:
        return (
            f"The synced transactions for {month} come to {amount_in_prose(-unexplained)} "
            "more than the actual."
        )
    return ""


def _unexplained_sentence(facts: VarianceFacts, analysis: DriverAnalysis) -> str:
    month = format_month(facts.period)
    if not facts.lines:
        return (
            f"No transactions were synced for {month}, so the data does not explain the difference."
        )
    if analysis.reason == TOO_FEW_MONTHS:
        return (
            f"Too few months before {month} are synced to tell what is unusual, "
            "so the data does not explain the difference."
        )
    return f"The transactions synced for {month} do not explain the difference."


def _trend_sentence(facts: VarianceFacts) -> str:
    parts = []
    recent = facts.trend.recent
    if recent:
        amounts = _join([amount_in_prose(point.actual) for point in recent])
        parts.append(f"{amounts} {_span(recent[0].period, recent[-1].period)}")
    last_year = facts.trend.same_month_last_year
    if last_year:
        parts.append(f"{amount_in_prose(last_year.actual)} in {format_month(last_year.period)}")
    if not parts:
        return ""
    was = "were" if _verb(facts.account_name) == "are" else "was"
    return f"{facts.account_name} {was} " + ", and ".join(parts) + "."


def _outlook_sentence(facts: VarianceFacts, driver: Driver) -> str:
    label = _label(driver)
    if driver.kind == "one_off":
        return (
            f"Nothing from {label} appears in the synced months before, "
            "so this looks like a one-off and is unlikely to recur."
        )
    if driver.kind == "lost_contact":
        return f"Unless {label} returns, this is likely to continue."
    if driver.kind in ("price_rise", "price_fall"):
        more = "higher" if driver.kind == "price_rise" else "lower"
        return f"The {more} amounts with {label} are likely to continue."
    if driver.kind == "new_contact":
        return f"This is likely to continue while {label} stays a {_counterparty(facts)}."
    return ""
