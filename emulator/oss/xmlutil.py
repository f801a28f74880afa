"""Building OSS response XML and parsing untrusted request XML.

Responses are built from nested ``(tag, value)`` tuples rather than an ElementTree so
that element order is exactly what we write (oss2 reads by tag, but humans diff
captures) and there is never a namespace (a namespace breaks oss2).

Request bodies are parsed with defusedxml (no DTDs, no entities, no external references)
after a size cap, so billion-laughs, external-entity and oversize bodies become
``MalformedXML`` instead of memory or file access.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from emulator.oss.exceptions import OssError, malformed_xml

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# A node is (tag, text) or (tag, [children]); None values are skipped entirely.
Node = tuple[str, str | int | Sequence["Node"] | None]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


def escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _write(node: Node, out: list[str]) -> None:
    tag, value = node
    if value is None:
        return
    if isinstance(value, str | int):
        out.append(f"<{tag}>{escape(str(value))}</{tag}>")
        return
    out.append(f"<{tag}>")
    for child in value:
        _write(child, out)
    out.append(f"</{tag}>")


def render(root: str, children: Iterable[Node]) -> bytes:
    """Serialize ``<root>children</root>`` with the XML declaration, UTF-8."""
    out = [XML_DECLARATION, f"<{root}>"]
    for child in children:
        _write(child, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


def iso8601(epoch: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.000Z``: oss2's regex demands exactly ``.000Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def http_date(epoch: float) -> str:
    """RFC 1123 with the English ``GMT`` suffix, independent of locale."""
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    t = time.gmtime(epoch)
    return (
        f"{weekday[t.tm_wday]}, {t.tm_mday:02d} {month[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse(body: bytes, *, max_bytes: int, root: str) -> Element:
    """Parse an untrusted XML request body whose root must be ``root``.

    Raises ``MalformedXML`` for anything oversize, ill-formed, using a DTD or entities,
    or with the wrong root; never anything else.
    """
    if len(body) > max_bytes:
        raise malformed_xml(f"The XML you provided was larger than {max_bytes} bytes.")
    if not body.strip():
        raise malformed_xml()
    try:
        element: Element = SafeET.fromstring(body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError, RecursionError):
        raise malformed_xml() from None
    if element.tag != root:
        raise malformed_xml(f"The root element must be {root}.")
    return element


def child_text(element: Element, tag: str) -> str | None:
    found = element.find(tag)
    if found is None:
        return None
    return found.text or ""


def require_text(element: Element, tag: str) -> str:
    text = child_text(element, tag)
    if text is None:
        raise OssError(400, "MalformedXML", f"The XML you provided is missing <{tag}>.")
    return text
