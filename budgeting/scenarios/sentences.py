"""A sentence of finance phrasing read into scenario adjustments: deterministic, pure, over the
organisation's own chart of accounts.

"Increase sales by 15% but COGS rises 5% from March" reads as two adjustments: revenue +15% over
the scenario's months, cost of sales +5% from March. What it reads is shown for the user to
confirm before anything is computed; a part it could not read is listed in `not_understood`,
and a part that cannot apply (an unknown account, a cut of more than 100%, months outside the
scenario) is in `problems`, with accounts suggested by name: then nothing is applied.

How a sentence is read, in order:
1. Words and numbers are split off (the original text of each is kept for the marks).
2. Names are found, longest first: the chart's account names (case, plurals and "&" or "and"
   alike), "account 469" by code, the groups and their synonyms ("sales", "COGS", "overheads",
   "payroll"), tracking options. A group's synonym wins a tie with an account of the same name:
   "sales" is every revenue account; "account 200" is the one.
3. Months: "from March", "until June", "between March and June", "March to June", "in May",
   "for the next 3 months". A month without a year is its first in the scenario's range.
4. The rest splits into clauses at "and", "but", "while", commas and full stops. A clause that
   names accounts but no change ("cut rent and insurance by 10%") lends them to the next.
5. Each clause gives one adjustment: a direction (increase, raise, grow, up, cut, drop, ...),
   a change (N%, an amount, "a third", "double", "halve", "to N" for set to), and "per month",
   "per year" or "in total".
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from budgeting.scenarios.maths import (
    Adjustment,
    Change,
    ChartAccount,
    Group,
    Per,
    ScenarioError,
    Target,
    adjustment_check,
)
from core.money import amount_in, money
from core.months import add_months, months_between

Period = dt.date

GROUP_SYNONYMS = {
    Group.REVENUE: (
        "revenue",
        "revenues",
        "sales",
        "turnover",
        "income",
        "takings",
        "top line",
        "trading income",
    ),
    Group.COST_OF_SALES: (
        "cost of sales",
        "costs of sales",
        "cogs",
        "cost of goods sold",
        "cost of goods",
        "direct costs",
        "cost of revenue",
    ),
    Group.OPERATING_EXPENSES: (
        "operating expenses",
        "operating expense",
        "opex",
        "overheads",
        "overhead",
        "operating costs",
        "running costs",
        "expenses",
    ),
    Group.WAGES: (
        "wages",
        "wage bill",
        "payroll",
        "salaries",
        "salary",
        "staff costs",
        "staff",
        "labour",
        "labor",
        "people costs",
    ),
}
UP = frozenset(
    [
        "increase",
        "increases",
        "increased",
        "increasing",
        "raise",
        "raises",
        "raised",
        "rise",
        "rises",
        "rising",
        "grow",
        "grows",
        "growing",
        "grew",
        "up",
        "boost",
        "boosts",
        "lift",
        "lifts",
        "add",
        "adds",
        "more",
        "higher",
        "climb",
        "climbs",
        "jump",
        "jumps",
        "gain",
        "gains",
        "expand",
        "expands",
        "plus",
        "extra",
    ]
)
DOWN = frozenset(
    [
        "decrease",
        "decreases",
        "decreased",
        "decreasing",
        "cut",
        "cuts",
        "reduce",
        "reduces",
        "reduced",
        "reducing",
        "drop",
        "drops",
        "dropped",
        "fall",
        "falls",
        "fell",
        "down",
        "lower",
        "lowers",
        "less",
        "trim",
        "trims",
        "shrink",
        "shrinks",
        "slash",
        "slashes",
        "save",
        "saves",
        "decline",
        "declines",
        "minus",
        "fewer",
    ]
)
SET = frozenset({"set", "make", "fix", "hold", "keep"})
PER_MONTH = (
    ("per", "month"),
    ("a", "month"),
    ("each", "month"),
    ("every", "month"),
    ("monthly",),
    ("pm",),
    ("per", "mth"),
    ("a", "mth"),
    ("month",),
)
PER_YEAR = (
    ("per", "year"),
    ("a", "year"),
    ("each", "year"),
    ("per", "annum"),
    ("annually",),
    ("yearly",),
    ("pa",),
    ("year",),
)
IN_TOTAL = (("in", "total"), ("total",), ("overall",), ("all", "up"), ("altogether",))
FOLLOW = frozenset({"follow", "follows", "following", "followed", "margin", "margins"})
FRACTIONS = {
    ("a", "third"): Decimal("33.33"),
    ("one", "third"): Decimal("33.33"),
    ("a", "quarter"): Decimal("25"),
    ("one", "quarter"): Decimal("25"),
    ("a", "half"): Decimal("50"),
    ("half",): Decimal("50"),
    ("a", "fifth"): Decimal("20"),
    ("a", "tenth"): Decimal("10"),
    ("two", "thirds"): Decimal("66.67"),
}
MULTIPLES = {
    "double": Decimal("100"),
    "doubles": Decimal("100"),
    "doubled": Decimal("100"),
    "triple": Decimal("200"),
    "triples": Decimal("200"),
    "tripled": Decimal("200"),
    "halve": Decimal("-50"),
    "halves": Decimal("-50"),
    "halved": Decimal("-50"),
}
FILLER = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "for",
        "our",
        "my",
        "their",
        "its",
        "we",
        "they",
        "you",
        "i",
        "if",
        "what",
        "whats",
        "how",
        "happens",
        "happen",
        "happened",
        "would",
        "will",
        "could",
        "should",
        "to",
        "net",
        "profit",
        "in",
        "on",
        "at",
        "is",
        "are",
        "be",
        "been",
        "by",
        "with",
        "all",
        "each",
        "and",
        "but",
        "so",
        "that",
        "this",
        "it",
        "as",
        "then",
        "also",
        "while",
        "whilst",
        "than",
        "over",
        "across",
        "every",
        "per",
        "let",
        "lets",
        "us",
        "suppose",
        "imagine",
        "say",
        "assume",
        "assuming",
        "scenario",
        "see",
        "show",
        "me",
        "do",
        "does",
        "did",
        "next",
        "months",
        "month",
        "year",
        "years",
        "rest",
        "please",
        "just",
        "about",
        "around",
        "roughly",
        "approximately",
        "only",
        "both",
        "too",
    ]
)
MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
NUMBER_WORDS = {
    w: n
    for n, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
        ]
    )
}
CLAUSE_BREAKS = frozenset({"and", "but", "while", "whilst", "plus", "also", "then", "although"})

_TOKEN = re.compile(
    r"""(?P<number>(?:[a-z]{1,3}\$|[$£€])?\d+(?:,\d{3})*(?:\.\d+)?(?:\s?(?:k|m|million|thousand)\b)?)
      |(?P<percent>%|\bper\s?cent\b|\bpercent\b|\bpc\b)
      |(?P<word>[a-z][a-z0-9()']*)
      |(?P<amp>&)
      |(?P<dash>[-\u2013\u2014]|/)
      |(?P<stop>[,;.!?:])""",
    re.IGNORECASE | re.VERBOSE,
)


@dataclass
class Token:
    kind: str  # word number percent stop dash | account group option months
    text: str  # as typed
    start: int
    end: int
    value: object = None

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "word" else ""


def stem(word: str) -> str:
    """A word as names are compared: lower case, no plural ("Subscriptions", "subscription")."""
    word = re.sub(r"[^a-z0-9]", "", word.lower())
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if word.endswith("ie"):
        word = word[:-2] + "y"
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def _phrase(text: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z0-9()']+", text.lower().replace("&", " and "))
    return tuple(stem(w) for w in words if stem(w))


@dataclass(frozen=True)
class TrackingName:
    key: int
    name: str  # the option's name ("North")
    category: str = ""


@dataclass(frozen=True)
class ParsedAdjustment:
    adjustment: Adjustment
    accounts: tuple[ChartAccount, ...]  # what the target matched, for the user to see
    words: str  # the part of the sentence it was read from
    description: str
    read_by: str = ""  # the chat model that read it, when the parser could not

    def as_json(self) -> dict:
        a = self.adjustment
        signed = a.value
        body = {
            "accounts": [account.code or account.name for account in self.accounts],
            "percent": _plain(signed) if a.change == Change.PERCENT else None,
            "amount": str(money(signed)) if a.change == Change.AMOUNT else None,
            "per": a.per.value if a.per and a.change != Change.PERCENT else None,
            "set_to": str(money(signed)) if a.change == Change.SET_TO else None,
            "from": f"{a.first:%Y-%m}",
            "to": f"{a.last:%Y-%m}",
        }
        if self.read_by:
            body["read_by"] = self.read_by
        return body


@dataclass
class ParseResult:
    adjustments: list[ParsedAdjustment] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    # Parts that cannot apply; while there are any, nothing is applied.
    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # account names, for the problems
    # The problems that say a part could not be read (also in `problems`): a chat model's
    # reading of that part, once confirmed, stands in for them (budgeting/scenarios/llm.py).
    unread: list[str] = field(default_factory=list)
    # What the optional chat model did: adjustments it read that were ignored and why, or why
    # it was not used (a timeout, an error); shown beside the parser's reading.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.adjustments) and not self.problems

    def as_json(self) -> dict:
        body = {
            "adjustments": [a.as_json() for a in self.adjustments],
            "not_understood": self.not_understood,
        }
        if self.problems:
            body["problems"] = self.problems
            body["suggestions"] = self.suggestions
        if self.notes:
            body["notes"] = self.notes
        return body


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


# --- Reading ---------------------------------------------------------------------------------


def _tokens(sentence: str) -> list[Token]:
    tokens = []
    for match in _TOKEN.finditer(sentence):
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "amp":
            kind, text = "word", "&"
        tokens.append(Token(kind, text, match.start(), match.end()))
    # "per cent" came out as a percent sign; "15 %" too.
    return tokens


def _amount(text: str) -> Decimal | None:
    cleaned = re.sub(r"^[a-z]{0,3}[$£€]", "", text.lower()).replace(",", "").strip()
    scale = Decimal(1)
    for suffix, factor in (("thousand", 1000), ("million", 1_000_000), ("k", 1000), ("m", 1e6)):
        if cleaned.endswith(suffix):
            cleaned, scale = cleaned[: -len(suffix)].strip(), Decimal(int(factor))
            break
    try:
        return Decimal(cleaned) * scale
    except InvalidOperation:
        return None


def _names(
    chart: Sequence[ChartAccount], options: Sequence[TrackingName]
) -> dict[tuple[str, ...], tuple[str, object]]:
    names: dict[tuple[str, ...], tuple[str, object]] = {}
    for account in chart:
        if account.section is None:
            continue
        phrase = _phrase(account.name)
        if phrase:
            names.setdefault(phrase, ("account", frozenset({account.key})))
            if names[phrase][0] == "account":
                names[phrase] = ("account", names[phrase][1] | {account.key})
    for account in chart:
        # "Rent - Stores", "Rent - Warehouses": "rent" names them all, where no account or
        # group has that name.
        head, dash, _ = account.name.partition(" - ")
        if dash and account.section is not None:
            phrase = _phrase(head)
            entry = names.get(phrase)
            if entry is None or (entry[0] == "account" and entry[2:] == ("prefix",)):
                keys = entry[1] if entry else frozenset()
                names[phrase] = ("account", keys | {account.key}, "prefix")
    names = {phrase: entry[:2] for phrase, entry in names.items()}
    for option in options:
        phrase = _phrase(option.name)
        if phrase and phrase not in names:
            names[phrase] = ("option", option.key)
    for group, synonyms in GROUP_SYNONYMS.items():
        for synonym in synonyms:
            names[_phrase(synonym)] = ("group", group)  # a group wins a tie (module note)
    return names


def _find_names(tokens: list[Token], names, chart: Sequence[ChartAccount]) -> list[Token]:
    by_code = {account.code.lower(): account for account in chart if account.code}
    longest = max((len(p) for p in names), default=1)
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        # "account 469", "code 469", "469 Rent": an account by its code.
        if token.word in ("account", "acct", "code", "a/c") and i + 1 < len(tokens):
            code = tokens[i + 1].text.lower()
            if code in by_code:
                account = by_code[code]
                out.append(
                    Token(
                        "account",
                        token.text + " " + tokens[i + 1].text,
                        token.start,
                        tokens[i + 1].end,
                        frozenset({account.key}),
                    )
                )
                i += 2
                continue
        match = None
        if token.kind == "word":
            # The longest name starting here; commas inside a name ("Light, Power, Heating")
            # and "&" are skipped over.
            words, positions = [], []
            j = i
            while j < len(tokens) and len(words) < longest:
                if words and (
                    (tokens[j].kind == "stop" and tokens[j].text == ",") or tokens[j].kind == "dash"
                ):
                    j += 1
                    continue
                if tokens[j].kind != "word":
                    break
                words.append(stem(tokens[j].text) if tokens[j].text != "&" else "and")
                positions.append(j)
                j += 1
            for size in range(len(words), 0, -1):
                entry = names.get(tuple(words[:size]))
                if entry:
                    match = (entry, positions[size - 1])
                    break
        if match:
            (kind, value), last = match
            out.append(
                Token(kind, _span(tokens, i, last), tokens[i].start, tokens[last].end, value)
            )
            i = last + 1
            continue
        out.append(token)
        i += 1
    return out


def _span(tokens: list[Token], first: int, last: int) -> str:
    return " ".join(t.text for t in tokens[first : last + 1] if t.text != ",")


def _month_at(tokens: list[Token], i: int, months: Sequence[Period]) -> tuple[Period, int] | None:
    """The month named at tokens[i] (with a year after it or not), and the next index."""
    if i >= len(tokens) or tokens[i].kind != "word" or tokens[i].word not in MONTH_NAMES:
        return None
    number = MONTH_NAMES[tokens[i].word]
    if tokens[i].word == "may" and not (
        i > 0 and (tokens[i - 1].word in _MONTH_LEADS or tokens[i - 1].kind == "dash")
    ):
        return None  # "may" as a verb, unless a month word leads it
    year = None
    nxt = i + 1
    if (
        nxt < len(tokens)
        and tokens[nxt].kind == "number"
        and re.fullmatch(r"\d{4}", tokens[nxt].text)
    ):
        year, nxt = int(tokens[nxt].text), nxt + 1
    if year is not None:
        return dt.date(year, number, 1), nxt
    # A month without a year: its first in the scenario's range.
    for month in months:
        if month.month == number:
            return month, nxt
    return dt.date(months[0].year, number, 1) if months else None, nxt


_MONTH_LEADS = frozenset(
    {
        "from",
        "until",
        "till",
        "to",
        "through",
        "between",
        "in",
        "for",
        "during",
        "and",
        "by",
        "starting",
        "since",
        "after",
        "before",
        "of",
    }
)
_UNTIL = frozenset({"until", "till", "to", "through", "thru", "and"})


def _find_months(tokens: list[Token], months: Sequence[Period]) -> list[Token]:
    out: list[Token] = []
    i = 0
    first, last = months[0], months[-1]
    while i < len(tokens):
        token = tokens[i]
        word = token.word
        # for / over / in the next N months
        if word == "next" and i + 2 < len(tokens) and tokens[i + 2].word in ("months", "month"):
            count = _count(tokens[i + 1])
            if count:
                start = i
                while out and out[-1].word in ("for", "over", "in", "the", "during"):
                    out.pop()
                    start -= 1
                try:
                    span = (first, add_months(first, count - 1))
                except ValueError:  # past the year 9999: outside any scenario's months
                    span = (first, dt.date(9999, 12, 1))
                out.append(
                    Token(
                        "months",
                        _span(tokens, start, i + 2),
                        tokens[start].start,
                        tokens[i + 2].end,
                        span,
                    )
                )
                i += 3
                continue
        lead = (
            word
            if word
            in (
                "from",
                "between",
                "until",
                "till",
                "through",
                "in",
                "for",
                "during",
                "starting",
                "since",
                "by",
                "to",
            )
            else ""
        )
        at = i + 1 if lead else i
        if lead == "starting" and at < len(tokens) and tokens[at].word in ("from", "in"):
            at += 1
        found = _month_at(tokens, at, months)
        if found and lead != "to":
            start_month, nxt = found
            span = None
            if nxt < len(tokens) and (tokens[nxt].word in _UNTIL or tokens[nxt].kind == "dash"):
                second = _month_at(tokens, nxt + 1, months)
                if second and (lead in ("from", "between", "") or tokens[nxt].word != "and"):
                    end_month, nxt2 = second
                    if end_month < start_month and end_month.year == start_month.year:
                        # "November to February": February of the year after.
                        end_month = dt.date(end_month.year + 1, end_month.month, 1)
                    span = (start_month, end_month)
                    nxt = nxt2
            if span is None:
                if lead in ("from", "starting", "since"):
                    span = (start_month, last)
                elif lead in ("until", "till", "through", "by"):
                    span = (first, start_month)
                else:
                    span = (start_month, start_month)
            out.append(
                Token("months", _span(tokens, i, nxt - 1), token.start, tokens[nxt - 1].end, span)
            )
            i = nxt
            continue
        if lead == "to" and found:
            month, nxt = found
            out.append(
                Token(
                    "months",
                    _span(tokens, i, nxt - 1),
                    token.start,
                    tokens[nxt - 1].end,
                    (first, month),
                )
            )
            i = nxt
            continue
        out.append(token)
        i += 1
    return out


def _count(token: Token) -> int | None:
    if token.kind == "number" and token.text.isdigit():
        return int(token.text)
    return NUMBER_WORDS.get(token.word)


def _clauses(tokens: list[Token]) -> list[list[Token]]:
    clauses: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "stop" or token.word in CLAUSE_BREAKS or token.text == "&":
            if clauses[-1]:
                clauses.append([])
            continue
        clauses[-1].append(token)
    return [c for c in clauses if c]


def _words(tokens: Sequence[Token]) -> list[str]:
    return [t.word for t in tokens if t.kind == "word"]


def _has(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(tuple(words[i : i + size]) == phrase for i in range(len(words) - size + 1))


@dataclass
class _Clause:
    tokens: list[Token]
    accounts: frozenset[int] = frozenset()
    groups: list[Group] = field(default_factory=list)
    option: int | None = None
    span: tuple[Period, Period] | None = None
    direction: int = 0
    change: Change | None = None
    value: Decimal | None = None
    per: Per | None = None
    per_year: bool = False
    follows: bool = False
    unknown: list[Token] = field(default_factory=list)

    @property
    def has_target(self) -> bool:
        return bool(self.accounts or self.groups)


def _read_clause(tokens: list[Token]) -> _Clause:
    clause = _Clause(tokens)
    words = _words(tokens)
    used: set[int] = set()
    for index, token in enumerate(tokens):
        if token.kind == "account":
            clause.accounts |= token.value
        elif token.kind == "group":
            clause.groups.append(token.value)
        elif token.kind == "option":
            clause.option = token.value
        elif token.kind == "months":
            clause.span = token.value
        else:
            continue
        used.add(index)
    if any(w in UP for w in words):
        clause.direction = 1
    if any(w in DOWN for w in words):
        clause.direction = -1
    for phrase in PER_MONTH:
        if _has(words, phrase):
            clause.per = Per.MONTH
            break
    for phrase in PER_YEAR:
        if _has(words, phrase):
            clause.per, clause.per_year = Per.TOTAL, True
            break
    for phrase in IN_TOTAL:
        if _has(words, phrase):
            clause.per = Per.TOTAL
            break
    clause.follows = any(w in FOLLOW for w in words)
    for index, token in enumerate(tokens):
        if token.kind != "number":
            continue
        amount = _amount(token.text)
        if amount is None:
            continue
        used.add(index)
        negative = (
            index > 0
            and tokens[index - 1].kind == "dash"
            and (index < 2 or tokens[index - 2].kind not in ("number",))
        )
        if index + 1 < len(tokens) and tokens[index + 1].kind == "percent":
            used.add(index + 1)
            clause.change, clause.value = Change.PERCENT, -amount if negative else amount
        else:
            clause.change, clause.value = Change.AMOUNT, -amount if negative else amount
            before = _words(tokens[:index])
            if (before and before[-1] in ("to", "at")) or (set(before) & SET):
                clause.change = Change.SET_TO
        if negative:
            clause.direction = clause.direction or -1
            clause.value = abs(clause.value)
        break
    if clause.change is None:
        for phrase, percent in FRACTIONS.items():
            if _has(words, phrase):
                clause.change, clause.value = Change.PERCENT, percent
                break
    for word in words:
        if word in MULTIPLES:
            clause.change, clause.value = Change.PERCENT, abs(MULTIPLES[word])
            clause.direction = 1 if MULTIPLES[word] > 0 else -1
    known = (
        UP
        | DOWN
        | SET
        | FILLER
        | FOLLOW
        | set(MULTIPLES)
        | set(CLAUSE_BREAKS)
        | {w for phrase in (*PER_MONTH, *PER_YEAR, *IN_TOTAL, *FRACTIONS) for w in phrase}
        | {"what", "happens", "cost", "costs"}
    )
    for index, token in enumerate(tokens):
        if index in used or token.kind in ("percent", "dash", "stop"):
            continue
        if token.kind == "word" and (token.word in known or token.word.strip("'") in known):
            continue
        clause.unknown.append(token)
    return clause


def _runs(tokens: Sequence[Token], sentence: str) -> list[str]:
    """Tokens next to each other as the sentence's own text: "gradually over time"."""
    runs: list[list[Token]] = []
    for token in tokens:
        if runs and sentence[runs[-1][-1].end : token.start].strip() == "":
            runs[-1].append(token)
        else:
            runs.append([token])
    return [sentence[run[0].start : run[-1].end] for run in runs]


def sentence_parse(
    sentence: str,
    *,
    chart: Sequence[ChartAccount],
    months: Sequence[Period],
    options: Sequence[TrackingName] = (),
    currency: str = "",
) -> ParseResult:
    """Read `sentence` into adjustments over `chart` for `months` (the scenario's range)."""
    result = ParseResult()
    text = (sentence or "").strip()
    if not text:
        result.problems.append("Type what to change, for example: increase sales by 10%.")
        return result
    months = list(months)
    tokens = _find_months(_find_names(_tokens(text), _names(chart, options), chart), months)
    pending: _Clause | None = None
    for tokens_of_clause in _clauses(tokens):
        clause = _read_clause(tokens_of_clause)
        if pending is not None:
            # "cut rent and insurance by 10%": the first names lend themselves to the change.
            clause.accounts |= pending.accounts
            clause.groups = pending.groups + clause.groups
            clause.direction = clause.direction or pending.direction
            clause.option = clause.option or pending.option
            clause.span = clause.span or pending.span
            clause.unknown = pending.unknown + clause.unknown
            clause.tokens = pending.tokens + clause.tokens
            pending = None
        if clause.change is None:
            if clause.follows and result.adjustments and Group.COST_OF_SALES in clause.groups:
                # "... and cost of sales follows": the revenue change before carries it.
                _follow(result, text)
                continue
            if clause.span and not clause.has_target and result.adjustments:
                _respan(result, clause.span, months)
                continue
            if clause.has_target or clause.direction:
                pending = clause
                continue
            if clause.unknown:
                result.not_understood.extend(_runs(clause.unknown, text))
            continue
        _adjustment(result, clause, chart=chart, months=months, text=text, currency=currency)
    if pending is not None:
        result.not_understood.append(text[pending.tokens[0].start : pending.tokens[-1].end])
        if pending.has_target:
            _unread(
                result,
                f"“{text[pending.tokens[0].start : pending.tokens[-1].end]}”: say by how much "
                "(a percent, an amount, or “to” a figure).",
            )
    if not result.adjustments and not result.problems:
        _unread(
            result,
            "Nothing in that sentence could be read as a change, for example: increase sales by "
            "10% from March, or cut rent by 500 a month.",
        )
    result.suggestions = list(dict.fromkeys(result.suggestions))
    return result


def _unread(result: ParseResult, problem: str) -> None:
    result.problems.append(problem)
    result.unread.append(problem)


def _follow(result: ParseResult, text: str) -> None:
    last = result.adjustments[-1]
    adjustment = last.adjustment
    result.adjustments[-1] = ParsedAdjustment(
        adjustment=replace(adjustment, cost_follows=True),
        accounts=last.accounts,
        words=last.words,
        description=last.description + ", cost of sales following at its margin",
    )


def _respan(result: ParseResult, span, months) -> None:
    last = result.adjustments[-1]
    first, end = span
    result.adjustments[-1] = ParsedAdjustment(
        adjustment=replace(last.adjustment, first=first, last=end),
        accounts=last.accounts,
        words=last.words,
        description=last.description,
    )


def _adjustment(
    result: ParseResult,
    clause: _Clause,
    *,
    chart: Sequence[ChartAccount],
    months: Sequence[Period],
    text: str,
    currency: str,
) -> None:
    words = text[clause.tokens[0].start : clause.tokens[-1].end]
    if not clause.has_target:
        unknown = " ".join(_runs(clause.unknown, text)) if clause.unknown else ""
        if unknown:
            _unread(result, f"“{unknown}” is not an account of this organisation.")
            result.suggestions.extend(account_suggestions(unknown, chart))
            result.not_understood.append(unknown)
        else:
            _unread(result, f"“{words}”: say which accounts to change.")
        return
    if clause.unknown:
        result.not_understood.extend(_runs(clause.unknown, text))
    value = clause.value
    change = clause.change
    if change in (Change.PERCENT, Change.AMOUNT):
        if clause.direction == 0 and change == Change.PERCENT:
            # "sales 15%": up is the only reading of a bare percent.
            clause.direction = 1
        value = value * (clause.direction or 1)
    first, last = clause.span or (months[0], months[-1])
    per = clause.per
    if change == Change.PERCENT:
        per = None
    elif per is None:
        per = Per.MONTH if change == Change.SET_TO else Per.TOTAL
    if clause.per_year and change != Change.PERCENT:
        # An amount a year over the scenario's months: its twelfth for each month.
        count = len([m for m in months if first <= m <= last])
        value = money(value * count / 12)
    value = money(value) if change != Change.PERCENT else value.quantize(Decimal("0.01"))
    groups = list(dict.fromkeys(clause.groups))
    if clause.follows and Group.REVENUE in groups and Group.COST_OF_SALES in groups:
        # "sales up 15% with cost of sales following": cost of sales is the follower, not a
        # second change of 15%.
        groups.remove(Group.COST_OF_SALES)
    targets = (
        [Target(account_keys=clause.accounts, tracking_option=clause.option)]
        if clause.accounts
        else []
    ) + [Target(group=g, tracking_option=clause.option) for g in groups]
    for target in targets:
        follows = clause.follows and target.group == Group.REVENUE
        adjustment = Adjustment(target, change, value, first, last, per, cost_follows=follows)
        try:
            adjustment_check(adjustment, months=months)
        except ScenarioError as exc:
            result.problems.append(f"“{words}”: {exc}")
            continue
        matched = tuple(a for a in chart if target.matches(a))
        if not matched:
            result.problems.append(f"“{words}”: no account of this organisation is in it.")
            continue
        result.adjustments.append(
            ParsedAdjustment(
                adjustment=adjustment,
                accounts=matched,
                words=words,
                description=adjustment_describe(adjustment, matched, currency=currency),
            )
        )


def account_suggestions(words: str, chart: Iterable[ChartAccount], limit: int = 3) -> list[str]:
    """Account names close to what was typed: "Marketing" suggests "Advertising" only if it is
    close in letters; a shared word ("software" in "Software Subscriptions") counts first."""
    accounts = [a for a in chart if a.section is not None]
    typed = _phrase(words)
    sharing = [a.name for a in accounts if set(typed) & set(_phrase(a.name))]
    close = difflib.get_close_matches(
        words.lower(), [a.name.lower() for a in accounts], n=limit, cutoff=0.5
    )
    by_lower = {a.name.lower(): a.name for a in accounts}
    return list(dict.fromkeys(sharing + [by_lower[c] for c in close]))[:limit]


def adjustment_describe(
    adjustment: Adjustment, accounts: Sequence[ChartAccount], *, currency: str = ""
) -> str:
    """The adjustment in words, as the user confirms it."""
    target = adjustment.target
    if target.group:
        what = target.group.label
    elif target.account_class or target.account_type:
        what = f"Every {target.account_class or target.account_type} account"
    else:
        what = ", ".join(a.label for a in accounts[:4]) + ("…" if len(accounts) > 4 else "")
    value = adjustment.value
    if adjustment.change == Change.PERCENT:
        how = f"{'up' if value >= 0 else 'down'} {_plain(abs(value))}%"
    elif adjustment.change == Change.AMOUNT:
        how = f"{'up' if value >= 0 else 'down'} {amount_in(abs(value), currency)}"
        how += " a month" if adjustment.per == Per.MONTH else " in total"
    else:
        how = f"set to {amount_in(value, currency)}"
        how += " a month" if adjustment.per == Per.MONTH else " in total"
    when = (
        f"in {adjustment.first:%b %Y}"
        if adjustment.first == adjustment.last
        else f"from {adjustment.first:%b %Y} to {adjustment.last:%b %Y}"
    )
    follows = ", cost of sales following at its margin" if adjustment.cost_follows else ""
    return f"{what} {how} {when}{follows}"


def scenario_months(start: Period, count: int) -> list[Period]:
    return months_between(start, add_months(start, count - 1))


# --- A chat model's reading, checked -----------------------------------------------------------

MAX_READ = 20  # adjustments taken from one answer
LARGEST = Decimal("1000000000000")  # an amount or a percent this large is no reading
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL | re.IGNORECASE)
_FIELDS = frozenset({"accounts", "percent", "amount", "per", "set_to", "from", "to", "read_by"})


def adjustments_from_json(
    answer: str,
    *,
    chart: Sequence[ChartAccount],
    months: Sequence[Period],
    read_by: str,
    currency: str = "",
) -> tuple[list[ParsedAdjustment], list[str]]:
    """A chat model's answer in `scenario_parse`'s schema ({"adjustments": [{"accounts":
    [codes], "percent" | "amount" | "set_to", "per", "from", "to"}]}), checked as strictly as a
    typed adjustment: the adjustments that can apply, marked as read by `read_by`, and a reason
    for each one ignored (an unknown account, a cut of more than 100%, months outside the
    scenario's, a malformed answer). Nothing it says is applied unless it passes here."""
    months = list(months)
    text = (answer or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        data = json.loads(text, parse_float=Decimal)
    except ValueError:
        return [], [f"{read_by}'s answer was not JSON, so it was ignored."]
    if not isinstance(data, dict) or not isinstance(data.get("adjustments"), list):
        return [], [f"{read_by}'s answer had no list of adjustments, so it was ignored."]
    items = data["adjustments"]
    reasons = []
    if len(items) > MAX_READ:
        reasons.append(f"{read_by} read more than {MAX_READ} adjustments; the rest are ignored.")
    read: list[ParsedAdjustment] = []
    for number, item in enumerate(items[:MAX_READ], start=1):
        try:
            parsed = _adjustment_from_json(
                item, chart=chart, months=months, read_by=read_by, currency=currency
            )
        except ScenarioError as exc:
            reasons.append(f"{read_by}'s adjustment {number} is ignored: {exc}")
        else:
            read.append(parsed)
    return read, reasons


def _adjustment_from_json(
    item: object,
    *,
    chart: Sequence[ChartAccount],
    months: list[Period],
    read_by: str,
    currency: str,
) -> ParsedAdjustment:
    if not isinstance(item, dict) or set(item) - _FIELDS:
        raise ScenarioError("it is not in the adjustments' schema.")
    names = item.get("accounts")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ScenarioError("it names no accounts.")
    by_code = {a.code.lower(): a for a in chart if a.code and a.section is not None}
    by_name = {a.name.lower(): a for a in chart if a.section is not None}
    accounts = []
    for name in names:
        account = by_code.get(name.strip().lower()) or by_name.get(name.strip().lower())
        if account is None:
            suggested = account_suggestions(name, chart)
            hint = f" (similar: {', '.join(suggested)})" if suggested else ""
            raise ScenarioError(f"“{name[:60]}” is not an account of this organisation{hint}.")
        accounts.append(account)
    given = [key for key in ("percent", "amount", "set_to") if item.get(key) is not None]
    if len(given) != 1:
        raise ScenarioError("it must give one of a percent, an amount or a figure to set.")
    change = Change(given[0])
    value = _decimal(item[given[0]])
    per = item.get("per")
    if per not in (None, "month", "total"):
        raise ScenarioError("“per” must be month or total.")
    if change == Change.PERCENT:
        per_read, value = None, value.quantize(Decimal("0.01"))
    else:
        per_read = Per(per) if per else (Per.MONTH if change == Change.SET_TO else Per.TOTAL)
        value = money(value)
    first = _month(item.get("from"), default=months[0])
    last = _month(item.get("to"), default=months[-1])
    adjustment = Adjustment(
        Target(account_keys=frozenset(a.key for a in accounts)),
        change,
        value,
        first,
        last,
        per_read,
    )
    adjustment_check(adjustment, months=months)
    matched = tuple(a for a in chart if adjustment.target.matches(a))
    return ParsedAdjustment(
        adjustment=adjustment,
        accounts=matched,
        words=f"read by {read_by}",
        description=adjustment_describe(adjustment, matched, currency=currency),
        read_by=read_by,
    )


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ScenarioError("its figure is not a number.")
    try:
        number = Decimal(str(value).strip().rstrip("%").replace(",", ""))
    except InvalidOperation as exc:
        raise ScenarioError("its figure is not a number.") from exc
    if not number.is_finite() or abs(number) >= LARGEST:
        raise ScenarioError("its figure is not a number it can use.")
    return number


def _month(value: object, *, default: Period) -> Period:
    if value is None:
        return default
    match = _MONTH.match(value) if isinstance(value, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise ScenarioError(f"“{str(value)[:20]}” is not a month (YYYY-MM).")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)
