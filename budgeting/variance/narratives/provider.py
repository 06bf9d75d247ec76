"""Narrative generators: the interface, the local default, and an optional chat-model provider.

The provider sees only the facts and the local driver analysis, with every contact and person
name replaced by a placeholder. Its answer is used only when every number in it is one of the
numbers it was given; anything else falls back to the local generator, saying why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

import httpx

from budgeting.variance.narratives.facts import Narrative, VarianceFacts
from budgeting.variance.narratives.local import LocalNarrativeGenerator, drivers_analyse

# Whole numbers with thousands separators first, so "4,200" is one number and not "4" and "200".
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
PLACEHOLDER = re.compile(r"\b(Contact|Person) (\d+)\b")

SYSTEM_PROMPT = (
    "You explain one budget variance of a small business to its accountant, in two to four "
    "plain-English sentences. Use only the facts and drivers given in JSON. Every number you "
    "write must appear in them; write amounts with thousands separators and no currency "
    "symbol. Keep names such as 'Contact 1' exactly as given. Say which contacts and "
    "descriptions make up most of the difference, the trend, and whether it is likely to "
    "continue. Each driver's impact is its part of the variance against its typical month; "
    "the residual is what no driver explains, so never give it a cause."
)


class NarrativeGenerator(Protocol):
    def explain(self, facts: VarianceFacts) -> Narrative: ...


def narrative_generator_default() -> NarrativeGenerator:
    return LocalNarrativeGenerator()


class NameMasking:
    """Contact and person names swapped for "Contact 1", "Person 1"... and back."""

    def __init__(self, *, contact_names: Iterable[str], person_names: Iterable[str]) -> None:
        self._by_placeholder: dict[str, str] = {}
        self._by_name: dict[str, str] = {}
        for prefix, names in (("Contact", contact_names), ("Person", person_names)):
            count = 0
            for name in names:
                if name and name.casefold() not in self._by_name:
                    count += 1
                    self._by_placeholder[f"{prefix} {count}"] = name
                    self._by_name[name.casefold()] = f"{prefix} {count}"
        # Longest first, so "Brightwave Media Group" is not masked as "Contact 1 Group".
        alternatives = sorted(self._by_placeholder.values(), key=len, reverse=True)
        self._pattern = (
            re.compile(
                r"(?<!\w)(" + "|".join(re.escape(n) for n in alternatives) + r")(?!\w)",
                re.IGNORECASE,
            )
            if alternatives
            else None
        )

    @classmethod
    def for_facts(cls, facts: VarianceFacts) -> NameMasking:
        lines = [*facts.lines, *(line for month in facts.prior_months for line in month.lines)]
        return cls(
            contact_names=[line.contact_name for line in lines],
            person_names=facts.person_names,
        )

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            if self._pattern is None:
                return value
            return self._pattern.sub(lambda m: self._by_name[m.group(0).casefold()], value)
        if isinstance(value, dict):
            return {key: self.mask(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.mask(item) for item in value]
        return value

    def unknown_placeholder(self, text: str) -> str | None:
        for match in PLACEHOLDER.finditer(text):
            if match.group(0) not in self._by_placeholder:
                return match.group(0)
        return None

    def unmask(self, text: str) -> str:
        return PLACEHOLDER.sub(lambda m: self._by_placeholder[m.group(0)], text)


def numbers_allowed(value: Any) -> set[Decimal]:
    """Every number written anywhere in `value`, as given and rounded to a whole number."""
    allowed: set[Decimal] = set()
    for text in _strings(value):
        # A placeholder's index is not a figure the answer may use.
        for token in NUMBER.findall(PLACEHOLDER.sub("", text)):
            number = _parse_number(token)
            allowed.update({number, number.quantize(Decimal(1), rounding=ROUND_HALF_UP)})
    return allowed


def number_unverified(text: str, *, allowed: set[Decimal]) -> str | None:
    """The first number in `text` that is not among `allowed`, as written; None if all are."""
    without_placeholders = PLACEHOLDER.sub("", text)
    for token in NUMBER.findall(without_placeholders):
        if _parse_number(token) not in allowed:
            return token
    return None


def _parse_number(token: str) -> Decimal:
    # Signs are left out on both sides: a narrative says "under budget", not "-4,200".
    return Decimal(token.replace(",", ""))


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
        unverified = number_unverified(answer, allowed=numbers_allowed(payload))
        if unverified:
            return self._fall_back(facts, reason=f"unverified number {unverified}")
        return Narrative(
            text=masking.unmask(answer),
            facts=facts.to_dict(),
            generator=self.name,
            drivers=analysis.to_list(),
        )

    def _complete(self, payload: dict[str, Any]) -> str:
        request = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(payload, sort_keys=True)},
            ],
        }
        try:
            response = self._post(request)
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

    def _post(self, request: dict[str, Any]) -> httpx.Response:
        url = f"{self.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.http_client is not None:
            return self.http_client.post(url, json=request, headers=headers, timeout=self.timeout)
        with httpx.Client(timeout=self.timeout) as client:
            return client.post(url, json=request, headers=headers)

    def _fall_back(self, facts: VarianceFacts, *, reason: str) -> Narrative:
        narrative = self.fallback.explain(facts)
        return replace(narrative, generator=f"{narrative.generator} (fallback: {reason})")


def _facts_payload(facts: VarianceFacts) -> dict[str, Any]:
    # The provider needs the figures, not our identifiers, and never the list of people's names.
    payload = facts.to_dict()
    del payload["account_id"], payload["person_names"]
    return payload
