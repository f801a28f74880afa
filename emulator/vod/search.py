"""SearchMedia's ``Match`` language, sorting and paging (GetVideoList pages the same way).

``Match`` is a list of conditions joined by ``and``/``or`` (``and`` binds tighter; no
parentheses around conditions), each ``Field = value``, ``Field in (v1, v2, ...)`` or, for
the time fields, a range ``Field = ('from', 'to')``. Values are single- or double-quoted
strings or bare numbers. On the free-text fields (``Title``, ``Description``, ``Tags``)
``=`` is a case-insensitive substring match (the service's fuzzy search, approximated);
``in`` and every other field compare exactly. Times are ``yyyy-MM-ddTHH:mm:ssZ``.

A malformed expression or an unknown field is 400 ``InvalidParameter`` naming ``Match``.
The functions here are pure: they filter dictionaries of field values, which the VOD
backend builds from its records.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.vod.exceptions import InvalidParameter

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

TEXT_FIELDS = frozenset({"Title", "Description", "Tags"})
TIME_FIELDS = frozenset({"CreationTime", "ModificationTime"})
EXACT_FIELDS = frozenset(
    {
        "VideoId",
        "ImageId",
        "MediaId",
        "CateId",
        "Status",
        "StorageLocation",
        "AppId",
        "ReferenceId",
        "Type",
    }
)
FIELDS = TEXT_FIELDS | TIME_FIELDS | EXACT_FIELDS
PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 100
DEEP_PAGE_LIMIT = 5000  # PageNo * PageSize beyond this needs a ScrollToken

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>=|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _bad(message: str) -> InvalidParameter:
    return InvalidParameter("Match", message)


def parse_time(value: str, name: str = "Match") -> float:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        raise InvalidParameter(
            name, f"{value!r} is not a time like 2024-01-31T12:00:00Z."
        ) from None


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            raise _bad(f"cannot parse the expression at {text[position : position + 20]!r}")
        kind = found.lastgroup or ""
        value = found.group(kind)
        if kind == "str":
            value = value[1:-1]
        tokens.append((kind, value))
        position = found.end()
    return tokens


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    position: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _bad("the expression ends too early")
        self.position += 1
        return token

    def value(self) -> str:
        kind, value = self.take()
        if kind not in ("str", "num"):
            raise _bad(f"expected a value, got {value!r}")
        return value

    def values(self) -> list[str]:
        kind, value = self.take()
        if (kind, value) != ("op", "("):
            raise _bad("expected '(' after in")
        items = [self.value()]
        while self.peek() == ("op", ","):
            self.take()
            items.append(self.value())
        if self.take() != ("op", ")"):
            raise _bad("expected ')'")
        return items

    def condition(self) -> Predicate:
        kind, field = self.take()
        if kind != "word" or field not in FIELDS:
            raise _bad(f"unknown field {field!r}; searchable: {', '.join(sorted(FIELDS))}")
        _, operator = self.take()
        if operator.lower() == "in":
            wanted = self.values()
            return lambda row: _text(row.get(field)) in wanted or _in_tags(row, field, wanted)
        if operator != "=":
            raise _bad(f"expected '=' or 'in' after {field}, got {operator!r}")
        if self.peek() == ("op", "("):
            bounds = self.values()
            if field not in TIME_FIELDS or len(bounds) != 2:
                raise _bad(f"a range ('from', 'to') applies only to {sorted(TIME_FIELDS)}")
            start, end = parse_time(bounds[0]), parse_time(bounds[1])
            return lambda row: start <= float(row.get(field) or 0) <= end
        wanted_value = self.value()
        if field in TEXT_FIELDS:
            needle = wanted_value.lower()
            return lambda row: needle in _text(row.get(field)).lower()
        if field in TIME_FIELDS:
            instant = parse_time(wanted_value)
            return lambda row: float(row.get(field) or 0) == instant
        return lambda row: _text(row.get(field)) == wanted_value

    def expression(self) -> Predicate:
        alternatives: list[list[Predicate]] = [[self.condition()]]
        while self.peek() is not None:
            kind, word = self.take()
            if kind != "word" or word.lower() not in ("and", "or"):
                raise _bad(f"expected 'and' or 'or', got {word!r}")
            if word.lower() == "or":
                alternatives.append([])
            alternatives[-1].append(self.condition())
        return lambda row: any(all(c(row) for c in group) for group in alternatives)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _in_tags(row: Row, field: str, wanted: Sequence[str]) -> bool:
    if field != "Tags":
        return False
    tags = {tag.strip() for tag in _text(row.get("Tags")).split(",")}
    return any(item in tags for item in wanted)


def compile_match(text: str) -> Predicate:
    """A predicate for ``Match`` (an empty expression matches everything)."""
    if not text.strip():
        return lambda row: True
    parser = _Parser(_tokens(text))
    return parser.expression()


def sort_rows(rows: list[Row], sort_by: str, *, name: str = "SortBy") -> list[Row]:
    """``CreationTime:Desc`` (default) or ``CreationTime:Asc``; ties keep insertion order."""
    field, _, direction = (sort_by or "CreationTime:Desc").partition(":")
    direction = direction or "Desc"
    if field not in TIME_FIELDS or direction not in ("Asc", "Desc"):
        raise InvalidParameter(name, "Valid values: CreationTime:Asc, CreationTime:Desc.")
    return sorted(rows, key=lambda row: float(row.get(field) or 0), reverse=direction == "Desc")


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    offset: int
    size: int


def page_of(
    *, page_no: int | None, page_size: int | None, scroll_token: str = "", deep_limit: bool = True
) -> Page:
    """The slice a request asks for; ``ScrollToken`` (from a previous answer) wins."""
    size = PAGE_SIZE_DEFAULT if page_size is None else page_size
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise InvalidParameter("PageSize", f"It must be within 1..{PAGE_SIZE_MAX}.")
    if scroll_token:
        try:
            offset = int(scroll_token, 16)
        except ValueError:
            raise InvalidParameter(
                "ScrollToken", "It is not a token this service issued."
            ) from None
        return Page(offset=offset, size=size)
    number = 1 if page_no is None else page_no
    if number < 1:
        raise InvalidParameter("PageNo", "It must be at least 1.")
    if deep_limit and number * size > DEEP_PAGE_LIMIT:
        raise InvalidParameter(
            "PageNo", f"PageNo * PageSize may not exceed {DEEP_PAGE_LIMIT}; use ScrollToken."
        )
    return Page(offset=(number - 1) * size, size=size)


def scroll_token(page: Page, total: int) -> str:
    """The token for the page after ``page`` ('' when there is none)."""
    following = page.offset + page.size
    return f"{following:x}" if following < total else ""
