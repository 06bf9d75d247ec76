"""Narrative generators: the interface, the local default, and an optional chat-model provider.

The provider sees only the facts and the local driver analysis, with every contact's and
person's name and every email address replaced by a placeholder. Its answer is used only when
every number in it is one of the numbers it was given, with the same sign and magnitude;
anything else falls back to the local generator, saying why.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

import httpx

from budgeting.variance.narratives.facts import Narrative, VarianceFacts
from budgeting.variance.narratives.local import LocalNarrativeGenerator, drivers_analyse
from core.outbound import OutboundURLRefused, outbound_http_client, outbound_url_check

logger = logging.getLogger(__name__)

# A number as prose writes it: an optional sign (only where it cannot be a hyphen, so the
# "09" of "2025-09-01" is nine), an optional currency, the digits (whole numbers with thousands
# separators first, so "4,200" is one number and not "4" and "200"), and an optional scale
# ("4.2k", "1.5 million"), which changes the magnitude the digits alone would say.
NUMBER = re.compile(
    r"(?:(?<![\w.,])(?P<sign>[-\u2212\u2013+])\s?)?"
    r"(?:(?<![\d.,])(?:[A-Z]{1,3}\$|[$\u00a3\u20ac]))?"
    r"(?<![\d.,])(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(?P<scale>(?i:thousand|million|billion|bn|k|m))\b)?"
)
SCALES = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000}
SCALES |= {"bn": 1_000_000_000, "billion": 1_000_000_000}
NEGATIVE = "-\u2212\u2013"
# What follows a figure that says which side of the budget it is on: "4,200 (38%) over budget".
DIRECTION = re.compile(
    r"\s*%?\s*(?:\([^()]*\)\s*)?(?P<word>over|above|under|below)\s+(?:the\s+)?budget",
    re.IGNORECASE,
)
PLACEHOLDER = re.compile(r"\b(Contact|Person|Email) (\d+)\b")
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# A part of a person's name shorter than this ("Al", "Jo") is masked only as the full name.
NAME_PART_MIN = 3

SYSTEM_PROMPT = (
    "You explain one budget variance of a small business to its accountant, in two to four "
    "plain-English sentences. Use only the facts and drivers given in JSON. Every number you "
    "write must appear in them; write amounts with thousands separators and no currency "
    "symbol. Keep names such as 'Contact 1', 'Person 1' and 'Email 1' exactly as given. Say "
    "which contacts and descriptions make up most of the difference, the trend, and whether "
    "it is likely to continue. Each driver's impact is its part of the variance against its "
    "typical month; the residual is what no driver explains, so never give it a cause."
)


class NarrativeGenerator(Protocol):
    def explain(self, facts: VarianceFacts) -> Narrative: ...


def narrative_generator_default() -> NarrativeGenerator:
    return LocalNarrativeGenerator()


class NameMasking:
    """Contact and person names and email addresses swapped for "Contact 1", "Person 1",
    "Email 1"... and back.

    Full names match whatever their case. A person's first or last name alone ("invoice for
    Sam") is masked too, written as in the name, except a word the account's own name uses
    (a person called "Rent" would otherwise mask the Rent account); it gets a placeholder of
    its own, so the answer gets back the word it stood for ("Grant funding" must not come back
    as "Grant Smith funding"). Any email address is masked, known or not.
    """

    def __init__(
        self,
        *,
        contact_names: Iterable[str],
        person_names: Iterable[str],
        emails: Iterable[str] = (),
        keep_words: Iterable[str] = (),
    ) -> None:
        self._by_placeholder: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        self._counts = {"Contact": 0, "Person": 0, "Email": 0}
        for email in emails:
            self._placeholder("Email", email.strip())
        for name in contact_names:
            self._placeholder("Contact", " ".join(name.split()))
        people = [" ".join(name.split()) for name in person_names]
        for name in people:
            self._placeholder("Person", name)
        keep = {word.casefold() for text in keep_words for word in re.findall(r"\w+", text)}
        parts: set[str] = set()
        for name in people:
            words = name.split()
            if len(words) < 2:
                continue
            for word in words:
                if (
                    len(word) >= NAME_PART_MIN
                    and word.casefold() not in keep
                    and word.casefold() not in self._by_name
                ):
                    parts.add(word)
        # Longest first, so "Brightwave Media Group" is not masked as "Contact 1 Group".
        full = sorted(
            (name for key, name in self._by_placeholder.items() if not key.startswith("Email")),
            key=len,
            reverse=True,
        )
        self._pattern = _alternatives(full, flags=re.IGNORECASE)
        self._part_pattern = _alternatives(sorted(parts, key=len, reverse=True), flags=0)

    def _placeholder(self, prefix: str, name: str) -> str:
        if not name:
            return ""
        known = self._by_name.get(name.casefold())
        if known:
            return known
        self._counts[prefix] += 1
        placeholder = f"{prefix} {self._counts[prefix]}"
        self._by_placeholder[placeholder] = name
        self._by_name[name.casefold()] = placeholder
        return placeholder

    @classmethod
    def for_facts(cls, facts: VarianceFacts) -> NameMasking:
        lines = [*facts.lines, *(line for month in facts.prior_months for line in month.lines)]
        return cls(
            contact_names=[*(line.contact_name for line in lines), *facts.contact_names],
            person_names=facts.person_names,
            emails=facts.emails,
            keep_words=[facts.account_name],
        )

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._mask_text(value)
        if isinstance(value, dict):
            return {key: self.mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        return value

    def _mask_text(self, text: str) -> str:
        # Addresses first: "sam.taylor@example.com" must go whole, not as "Person 1@...".
        text = EMAIL.sub(lambda m: self._placeholder("Email", m.group(0)), text)
        if self._pattern is not None:
            text = self._pattern.sub(lambda m: self._by_name[m.group(0).casefold()], text)
        if self._part_pattern is not None:
            text = self._part_pattern.sub(lambda m: self._placeholder("Person", m.group(0)), text)
        return text

    def unknown_placeholder(self, text: str) -> str | None:
        for match in PLACEHOLDER.finditer(text):
            if match.group(0) not in self._by_placeholder:
                return match.group(0)
        return None

    def unmask(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda m: self._by_placeholder[m.group(0)], text)


def _alternatives(names: list[str], *, flags: int) -> re.Pattern[str] | None:
    if not names:
        return None
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in names) + r")(?!\w)", flags)


@dataclass(frozen=True)
class _Figure:
    written: str  # as the text writes it, sign and scale included
    value: Decimal  # signed, scale applied
    signed: bool  # the text gave it a sign
    end: int


def _figures(text: str) -> Iterable[_Figure]:
    # A placeholder's index is not a figure.
    text = PLACEHOLDER.sub(lambda m: m.group(1), text)
    for match in NUMBER.finditer(text):
        value = Decimal(match.group("digits").replace(",", ""))
        scale = (match.group("scale") or "").lower()
        value *= SCALES.get(scale, 1)
        sign = match.group("sign") or ""
        negative = bool(sign) and sign in NEGATIVE
        if negative:
            value = -value
        written = ("-" if negative else sign) + text[match.start("digits") : match.end()]
        yield _Figure(written=written.strip(), value=value, signed=bool(sign), end=match.end())


def _whole(number: Decimal) -> Decimal:
    return number.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def numbers_allowed(value: Any) -> set[Decimal]:
    """Every number written anywhere in `value`, signed, as given and rounded to a whole
    number."""
    allowed: set[Decimal] = set()
    for text in _strings(value):
        for figure in _figures(text):
            allowed.update({figure.value, _whole(figure.value)})
    return allowed


def numbers_directed(facts: dict[str, Any], drivers: list[dict[str, Any]]) -> set[Decimal]:
    """The signed figures prose may put "over" or "under" budget: the variance, its percent,
    and each driver's impact (the residual's too), as given and rounded."""
    figures = [facts.get("variance"), facts.get("percent")]
    figures += [driver.get("impact") for driver in drivers]
    return numbers_allowed([str(f) for f in figures if f is not None])


def number_unverified(
    text: str, *, allowed: set[Decimal], directed: set[Decimal] | None = None
) -> str | None:
    """The first number in `text` that is not one of `allowed`, as written; None if all are.

    Sign and magnitude both count: a number written with a sign must be allowed with that
    sign, one without must be allowed with either (prose says "under budget", not "-4,200"),
    and a scale word is part of the number ("4,200k" is not 4,200). With `directed`, a figure
    said to be over (above) budget must be a positive one of them, and under (below) a
    negative one: the sign prose gives in words.
    """
    magnitudes = {abs(number) for number in allowed}
    without_placeholders = PLACEHOLDER.sub(lambda m: m.group(1), text)
    for figure in _figures(text):
        known = figure.value in allowed if figure.signed else abs(figure.value) in magnitudes
        if not known:
            return figure.written
        if directed is None:
            continue
        direction = DIRECTION.match(without_placeholders, figure.end)
        if direction:
            word = direction.group("word").lower()
            value = abs(figure.value) if word in ("over", "above") else -abs(figure.value)
            if value not in directed:
                return f"{figure.written} {word} budget"
    return None


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class ProviderError(Exception):
    """The provider gave no usable answer; the message is safe to store (no names, no key)."""


class OpenAICompatibleGenerator:
    """Asks an OpenAI-compatible chat endpoint to word the narrative, and checks its numbers."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        http_client: httpx.Client | None = None,
        timeout: float = 20.0,
        fallback: NarrativeGenerator | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.model = model
        self.http_client = http_client
        self.timeout = timeout
        self.fallback = fallback or LocalNarrativeGenerator()

    @property
    def name(self) -> str:
        return f"openai-compatible ({self.model})"

    def explain(self, facts: VarianceFacts) -> Narrative:
        analysis = drivers_analyse(facts)
        if not analysis.explained:
            # A model handed figures with no driver tends to supply a plausible cause; the local
            # text says plainly that the data does not explain it.
            return self._fall_back(facts, reason="the data does not explain the variance")
        masking = NameMasking.for_facts(facts)
        payload = masking.mask({"facts": _facts_payload(facts), "drivers": analysis.to_list()})
        try:
            answer = self._complete(payload)
        except ProviderError as error:
            return self._fall_back(facts, reason=str(error))
        unknown = masking.unknown_placeholder(answer)
        if unknown:
            return self._fall_back(facts, reason=f"unknown name {unknown}")
        unverified = number_unverified(
            answer,
            allowed=numbers_allowed(payload),
            directed=numbers_directed(payload["facts"], payload["drivers"]),
        )
        if unverified:
            return self._fall_back(facts, reason=f"unverified number {unverified}")
        return Narrative(
            text=masking.unmask(answer),
            facts=facts.to_dict(),
            generator=self.name,
            drivers=analysis.to_list(),
        )

    def _complete(self, payload: dict[str, Any]) -> str:
        return chat_complete(
            base_url=self.base_url,
            api_key=self.api_key,
            model=self.model,
            system=SYSTEM_PROMPT,
            content=json.dumps(payload, sort_keys=True),
            http_client=self.http_client,
            timeout=self.timeout,
        )

    def _fall_back(self, facts: VarianceFacts, *, reason: str) -> Narrative:
        # The reason names no one and holds no key (ProviderError, placeholders, figures).
        logger.warning(
            "Narrative provider %s not used for account %s in %s: %s",
            self.model,
            facts.account_code,
            facts.period,
            reason,
        )
        narrative = self.fallback.explain(facts)
        return replace(
            narrative, generator=f"{narrative.generator} (fallback: {reason})", fallback=reason
        )


def _facts_payload(facts: VarianceFacts) -> dict[str, Any]:
    # The provider needs the figures, not our identifiers.
    payload = facts.to_dict()
    del payload["account_id"]
    return payload


def chat_complete(
    *,
    base_url: str,
    api_key: str,
    model: str,
    system: str,
    content: str,
    http_client: httpx.Client | None = None,
    timeout: float = 20.0,
) -> str:
    """The answer of an OpenAI-compatible chat endpoint to one system and one user message, at
    temperature 0; ProviderError (a reason safe to show) when there is no usable answer.

    The one way anything leaves the app for a chat model: the narratives and the scenario
    sentence reader (budgeting/scenarios/llm.py) both call it, with what they send masked.
    """
    request = {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": content},
        ],
    }
    try:
        response = _chat_post(
            base_url=base_url,
            api_key=api_key,
            request=request,
            http_client=http_client,
            timeout=timeout,
        )
        response.raise_for_status()
        answer = response.json()["choices"][0]["message"]["content"]
    except httpx.TimeoutException as error:
        raise ProviderError("timeout") from error
    except httpx.HTTPStatusError as error:
        raise ProviderError(f"HTTP {error.response.status_code}") from error
    except httpx.HTTPError as error:
        raise ProviderError(f"connection error ({type(error).__name__})") from error
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise ProviderError("malformed response") from error
    if not isinstance(answer, str) or not answer.strip():
        raise ProviderError("empty answer")
    return answer.strip()


def _chat_post(
    *,
    base_url: str,
    api_key: str,
    request: dict[str, Any],
    http_client: httpx.Client | None,
    timeout: float,
) -> httpx.Response:
    url = f"{base_url.rstrip('/')}/chat/completions"
    # The firm typed this URL: refused unless every address of its host is public (checked
    # here for a clear reason, and again as each connection opens), see core/outbound.py.
    try:
        outbound_url_check(url)
    except OutboundURLRefused as refusal:
        raise ProviderError(f"endpoint refused: {refusal}") from refusal
    # A model served inside the operator's network may need no key: then no header (an empty
    # "Bearer " is not a valid header value and would fail every request).
    headers = {"Authorization": f"Bearer {api_key}"} if api_key.strip() else {}
    if http_client is not None:
        return http_client.post(
            url, json=request, headers=headers, timeout=timeout, follow_redirects=False
        )
    with outbound_http_client(timeout=timeout) as client:
        return client.post(url, json=request, headers=headers)
