"""The optional chat-model reading of a sentence the parser could not read.

Off unless the firm turned on its narrative provider (NarrativeProviderSettings: the same
OpenAI-compatible endpoint, model and key, the same outbound guard). Then, when the parser left
part of a sentence unread, the model is sent the sentence with every person's and contact's name
and every email address masked as the narratives mask them, the parts left unread, what the
parser did read, the scenario's months and the chart of accounts (codes, names, Xero class and
type: no figures). Its answer must be JSON in `manage.py scenario_parse`'s schema and is checked
as a typed adjustment is (sentences.adjustments_from_json); what passes is shown marked as read
by the model for the user to confirm, what fails is ignored with the reason. A timeout or an
error leaves the parser's reading, with a note saying so. Nothing is applied without the user's
confirmation, and confirming sends nothing: the reading shown is posted back and checked again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings as django_settings

from budgeting.scenarios.maths import ChartAccount
from budgeting.scenarios.sentences import ParseResult, Period, adjustments_from_json
from budgeting.variance.models import NarrativeProviderSettings
from budgeting.variance.narratives.provider import NameMasking, ProviderError, chat_complete
from budgeting.variance.selectors import narrative_identities
from tenants.models import ClientOrganisation, Firm

logger = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You turn part of a sentence about a small business's budget scenario into structured "
    "adjustments. You are given the sentence, the parts of it a parser could not read, what "
    "the parser did read, the scenario's first and last month, and the chart of accounts "
    "(code, name, class, type). Answer with JSON only, no prose: "
    '{"adjustments": [{"accounts": ["<code>", ...], "percent": "15" or null, '
    '"amount": "2000.00" or null, "per": "month" or "total" or null, "set_to": null, '
    '"from": "YYYY-MM", "to": "YYYY-MM"}]}. Give exactly one of percent, amount and set_to; '
    "a decrease is negative. Use only account codes from the chart (the name where an account "
    "has no code). Read only the parts not read; do not repeat what the parser read. If a part "
    'says nothing you can read with confidence, leave it out: {"adjustments": []}.'
)


@dataclass(frozen=True)
class SentenceProvider:
    base_url: str
    api_key: str
    model: str


def sentence_provider_for_firm(*, firm: Firm) -> SentenceProvider | None:
    """The firm's chat model, when it turned its narrative provider on (and completed it)."""
    row = NarrativeProviderSettings.objects.for_firm(firm).first()
    if row and row.enabled and row.base_url and row.model:
        return SentenceProvider(base_url=row.base_url, api_key=row.api_key, model=row.model)
    return None


def provider_wanted(result: ParseResult) -> bool:
    """The parser left part of the sentence unread (not a sentence it read but cannot apply)."""
    return bool(result.not_understood or result.unread)


def provider_reading_add(
    result: ParseResult,
    *,
    firm: Firm,
    organisation: ClientOrganisation,
    provider: SentenceProvider,
    sentence: str,
    chart: Sequence[ChartAccount],
    months: Sequence[Period],
    currency: str = "",
) -> ParseResult:
    """Ask the firm's model to read what the parser could not, and add what it read, checked."""
    if not provider_wanted(result):
        return result
    identities = narrative_identities(firm=firm, organisation=organisation)
    masking = NameMasking(
        contact_names=identities.contact_names,
        person_names=identities.person_names,
        emails=identities.emails,
        keep_words=[account.name for account in chart],
    )
    payload = {
        "sentence": masking.mask(sentence),
        "not_read": masking.mask(result.not_understood or [sentence]),
        "read": [adjustment.as_json() for adjustment in result.adjustments],
        "first_month": f"{months[0]:%Y-%m}",
        "last_month": f"{months[-1]:%Y-%m}",
        "accounts": [
            {
                "code": account.code,
                "name": account.name,
                "class": account.account_class,
                "type": account.account_type,
            }
            for account in chart
            if account.section is not None
        ],
    }
    try:
        answer = chat_complete(
            base_url=provider.base_url,
            api_key=provider.api_key,
            model=provider.model,
            system=SYSTEM_PROMPT,
            content=json.dumps(payload, sort_keys=True),
            timeout=float(getattr(django_settings, "SCENARIO_SENTENCE_PROVIDER_TIMEOUT", 10.0)),
        )
    except ProviderError as error:
        # The reason names no one and holds no key.
        logger.warning("Sentence provider %s not used: %s", provider.model, error)
        result.notes.append(
            f"{provider.model} could not be asked ({error}): this is the parser's reading alone."
        )
        return result
    return provider_reading_merge(
        result, answer=answer, model=provider.model, chart=chart, months=months, currency=currency
    )


def provider_reading_merge(
    result: ParseResult,
    *,
    answer: str,
    model: str,
    chart: Sequence[ChartAccount],
    months: Sequence[Period],
    currency: str = "",
) -> ParseResult:
    """Add the model's answer, checked, to the parser's reading: the adjustments that can apply
    (then the parser's "could not read" problems give way to them, as notes) and a note for each
    one ignored."""
    read, reasons = adjustments_from_json(
        answer, chart=chart, months=months, read_by=model, currency=currency
    )
    result.notes.extend(reasons)
    if not read:
        if not reasons:
            result.notes.append(f"{model} read nothing more in the sentence.")
        return result
    result.adjustments.extend(read)
    for problem in result.unread:
        if problem in result.problems:
            result.problems.remove(problem)
            result.notes.append(f"The parser could not read this, {model} did: {problem}")
    result.unread = []
    return result


def provider_reading_json(result: ParseResult) -> str:
    """What the model read, as the confirmation posts it back (checked again on confirm)."""
    read = [a.as_json() for a in result.adjustments if a.read_by]
    for item in read:
        item.pop("read_by", None)
    return json.dumps({"adjustments": read}) if read else ""
