"""Xero's list filters: `where`, `order`, comma lists (IDs, Statuses, ...) and paging.

`where` is Xero's filter language (developer.xero.com/documentation/api/accounting/requests-
and-responses, "Optimised use of the where filter"): comparisons of a field with a literal,
joined by `&&`/`AND` and `||`/`OR`, with parentheses. Fields are the names in the JSON the
endpoint returns (`Type`, `Status`, `Date`, `Contact.ContactID`, `UpdatedDateUTC`, ...).
Literals: "strings", numbers, true/false/null, `DateTime(2026,01,31)` (optionally with hour,
minute, second), `Guid("...")`. Also `Field.Contains("x")`, `.StartsWith("x")`, `.EndsWith("x")`.
Anything else is refused with a 400, never ignored: a filter the sandbox cannot apply would
return everything and make a test pass for the wrong reason.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integrations.xero.sandbox.msdate import parse_ms_date

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000  # CData's Xero driver documents 1000 as Xero's ceiling (facts §3).


class FilterError(ValueError):
    """A filter the sandbox cannot read or apply: answered with a 400 ValidationException."""


# --- where -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|>|<|&&|\|\||\(|\)|,|\.)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_METHODS = {"contains", "startswith", "endswith"}


@dataclass(frozen=True)
class _Token:
    kind: str  # string | number | op | word | end
    text: str


def _tokens(text: str) -> list[_Token]:
    found, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"The where filter could not be parsed near {text[position:]!r}.")
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    found.append(_Token("end", ""))
    return found


Predicate = Callable[[dict[str, Any]], bool]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def take(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise FilterError(f"The where filter expected {text!r}, not {token.text!r}.")

    def word_is(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.upper() in words

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek().kind != "end":
            raise FilterError(f"The where filter could not be parsed at {self.peek().text!r}.")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek().text == "||" or self.word_is("OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def conjunction(self) -> Predicate:
        parts = [self.factor()]
        while self.peek().text == "&&" or self.word_is("AND"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def factor(self) -> Predicate:
        if self.peek().text == "(":
            self.take()
            inner = self.disjunction()
            self.expect(")")
            return inner
        if self.word_is("NOT"):
            raise FilterError("The Xero sandbox does not support NOT in a where filter.")
        return self.comparison()

    def comparison(self) -> Predicate:
        path = [self._word()]
        while self.peek().text == ".":
            self.take()
            name = self._word()
            if name.lower() in _METHODS and self.peek().text == "(":
                return self._method(path, name.lower())
            path.append(name)
        operator = self.take()
        if operator.text not in ("==", "!=", ">=", "<=", ">", "<"):
            raise FilterError(f"The where filter expected a comparison after {'.'.join(path)}.")
        literal = self.literal()
        return _compare(path, operator.text, literal)

    def _word(self) -> str:
        token = self.take()
        if token.kind != "word":
            raise FilterError(f"The where filter expected a field name, not {token.text!r}.")
        return token.text

    def _method(self, path: list[str], method: str) -> Predicate:
        self.expect("(")
        argument = self.literal()
        self.expect(")")
        if not isinstance(argument, str):
            raise FilterError(f"{method} takes a string in a where filter.")

        def predicate(item: dict[str, Any]) -> bool:
            value = _resolve(item, path)
            if not isinstance(value, str):
                return False
            return {
                "contains": argument in value,
                "startswith": value.startswith(argument),
                "endswith": value.endswith(argument),
            }[method]

        return predicate

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind == "number":
            return Decimal(token.text)
        if token.kind == "word":
            word = token.text.lower()
            if word in ("true", "false"):
                return word == "true"
            if word == "null":
                return None
            if word == "datetime":
                return self._datetime()
            if word == "guid":
                self.expect("(")
                value = self.literal()
                self.expect(")")
                try:
                    return str(uuid.UUID(str(value)))
                except ValueError as error:
                    raise FilterError(f"{value!r} is not a valid Guid.") from error
        raise FilterError(f"The where filter expected a value, not {token.text!r}.")

    def _datetime(self) -> dt.datetime:
        self.expect("(")
        parts = []
        while True:
            token = self.take()
            if token.kind != "number" or "." in token.text:
                raise FilterError("DateTime(...) takes whole numbers: DateTime(2026,01,31).")
            parts.append(int(token.text))
            if self.peek().text == ")":
                self.take()
                break
            self.expect(",")
        if len(parts) not in (3, 6):
            raise FilterError("DateTime(...) takes year, month, day (and hour, minute, second).")
        try:
            return dt.datetime(*parts)
        except ValueError as error:
            raise FilterError(f"DateTime{tuple(parts)} is not a date.") from error


def _resolve(item: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = item
    for name in path:
        if not isinstance(value, dict):
            raise FilterError(f"No property or field '{name}' exists.")
        key = next((k for k in value if k.lower() == name.lower()), None)
        if key is None:
            raise FilterError(f"No property or field '{'.'.join(path)}' exists.")
        value = value[key]
    return _typed(value)


def _typed(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("/Date("):
        return parse_ms_date(value)
    if isinstance(value, float | int) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _compare(path: list[str], operator: str, literal: Any) -> Predicate:
    def predicate(item: dict[str, Any]) -> bool:
        value = _resolve(item, path)
        if value is None or literal is None:
            if operator == "==":
                return value is literal
            if operator == "!=":
                return value is not literal
            return False
        left, right = value, literal
        if isinstance(left, dt.datetime) != isinstance(right, dt.datetime):
            raise FilterError(f"{'.'.join(path)} cannot be compared with {literal!r}.")
        if isinstance(left, str) and isinstance(right, str) and _is_guid(left) and _is_guid(right):
            left, right = left.lower(), right.lower()
        if isinstance(left, bool) != isinstance(right, bool) or (
            isinstance(left, str) != isinstance(right, str)
        ):
            raise FilterError(f"{'.'.join(path)} cannot be compared with {literal!r}.")
        try:
            return {
                "==": left == right,
                "!=": left != right,
                ">=": left >= right,
                "<=": left <= right,
                ">": left > right,
                "<": left < right,
            }[operator]
        except TypeError as error:
            raise FilterError(f"{'.'.join(path)} cannot be compared with {literal!r}.") from error

    return predicate


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def where_filter(text: str) -> Predicate:
    """A predicate over an item's JSON; FilterError if the filter cannot be read."""
    return _Parser(text).parse()


# --- comma lists, order, paging ------------------------------------------------------------------


def comma_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def guid_list(name: str, value: str | None) -> set[str] | None:
    parts = comma_list(value)
    if parts is None:
        return None
    try:
        return {str(uuid.UUID(part)) for part in parts}
    except ValueError as error:
        raise FilterError(f"{name} must be a comma-separated list of GUIDs.") from error


def order_by(text: str) -> Callable[[list[tuple[Any, dict[str, Any]]]], list[Any]]:
    """`order=Date DESC, InvoiceNumber` as a stable sort of (entity, JSON) pairs by the JSON
    (nulls first); FilterError for an unknown field or direction."""
    keys: list[tuple[list[str], bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise FilterError(f"order could not be parsed: {text!r}.")
        if len(words) == 2 and words[1].upper() not in ("ASC", "DESC"):
            raise FilterError(f"order direction must be ASC or DESC, not {words[1]!r}.")
        keys.append((words[0].split("."), len(words) == 2 and words[1].upper() == "DESC"))

    def sort(pairs: list[tuple[Any, dict[str, Any]]]) -> list[Any]:
        ordered = list(pairs)
        for path, descending in reversed(keys):
            ordered.sort(
                key=lambda pair, path=path: _sortable(_resolve(pair[1], path)),
                reverse=descending,
            )
        return ordered

    return sort


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    def slice(self, items: list[Any]) -> list[Any]:
        return items[(self.number - 1) * self.size : self.number * self.size]

    def pagination(self, item_count: int) -> dict[str, int]:
        return {
            "page": self.number,
            "pageSize": self.size,
            "pageCount": (item_count + self.size - 1) // self.size,
            "itemCount": item_count,
        }


def page_of(page_param: str | None, size_param: str | None) -> Page | None:
    """Xero pages only when `page` is given (pageSize alone changes nothing)."""
    if page_param is None:
        return None
    try:
        number = int(page_param)
        size = int(size_param) if size_param else DEFAULT_PAGE_SIZE
    except ValueError as error:
        raise FilterError("page and pageSize must be whole numbers.") from error
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise FilterError(f"page must be 1 or more and pageSize between 1 and {MAX_PAGE_SIZE}.")
    return Page(number, size)


def refuse_unsupported(params: Iterable[tuple[str, str]], unsupported: Iterable[str]) -> None:
    """Xero parameters the sandbox does not implement: a 400 rather than a silent full list."""
    names = {name.lower(): name for name in unsupported}
    for key, value in params:
        if key.lower() in names and value not in ("", "false", "False"):
            raise FilterError(f"The Xero sandbox does not support {names[key.lower()]}.")


def bool_param(value: str | None, name: str) -> bool:
    if value in (None, ""):
        return False
    if value.lower() not in ("true", "false"):
        raise FilterError(f"{name} must be true or false.")
    return value.lower() == "true"
