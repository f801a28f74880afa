"""Decimal numbers from the wire, parsed as the protocols define them (EMU-SEC-010).

Python's ``int()`` and ``str.isdigit()`` are far more liberal than HTTP or OSS:
``int(" 1_0 ")`` is 10, ``int("\\u0663")`` (ARABIC-INDIC DIGIT THREE) is 3,
``"\\u00b9".isdigit()`` (SUPERSCRIPT ONE) is true while ``int()`` of it fails, and
``int()`` of more than 4,300 digits raises. Every number a client sends (part numbers,
``Content-Length``, ``max-keys``, ``Expires``, byte ranges) goes through
:func:`parse_decimal` instead: ASCII digits only, a bounded length, else ``None``.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")
# 19 digits hold every value up to 10**19 - 1, beyond any size, count or time we take.
MAX_DIGITS = 19


def parse_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """``text`` as a non-negative integer if it is 1..``max_digits`` ASCII digits (no
    sign, space, underscore or other script's digits), else ``None``."""
    if len(text) > max_digits or not _DIGITS.fullmatch(text):
        return None
    return int(text)


def parse_signed_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """Like :func:`parse_decimal`, with an optional leading ``-``."""
    if text.startswith("-"):
        value = parse_decimal(text[1:], max_digits=max_digits)
        return None if value is None else -value
    return parse_decimal(text, max_digits=max_digits)


def is_ascii_digits(text: str) -> bool:
    """Only ASCII ``0-9``, at least one (unlike :meth:`str.isdigit`)."""
    return _DIGITS.fullmatch(text) is not None
