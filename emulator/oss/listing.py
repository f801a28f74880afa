"""One page of a lexicographic key listing with prefix, delimiter and marker.

Shared by ListObjects (v1 and v2) and ListMultipartUploads. Keys sorted by code point
order equal OSS's UTF-8 byte order, and SQLite's BINARY collation gives the same order,
so rows can stream straight from an ``ORDER BY key`` query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class ListPage(Generic[T]):
    """Items and common prefixes in one page. ``next_marker`` is the last key or common
    prefix returned when the page is truncated (what the next request passes back)."""

    items: list[T] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    next_marker: str = ""
    last_item: T | None = None


def list_keys(
    entries: Iterable[tuple[str, T]],
    *,
    prefix: str,
    delimiter: str,
    after: str,
    limit: int,
    unique: bool = True,
) -> ListPage[T]:
    """Page through ``entries`` (sorted by key, all keys ``> after`` unless ``unique`` is
    False, which allows repeated keys such as several uploads of one key).

    A key ``prefix + X + delimiter + ...`` collapses into the common prefix
    ``prefix + X + delimiter``; each common prefix counts once toward ``limit``. A common
    prefix at or before ``after`` was returned by an earlier page and is skipped.
    """
    page: ListPage[T] = ListPage()
    count = 0
    last = ""
    for key, item in entries:
        if unique and key <= after:
            continue
        if not key.startswith(prefix):
            if key > prefix:
                break
            continue
        if delimiter:
            cut = key.find(delimiter, len(prefix))
            if cut >= 0:
                common = key[: cut + len(delimiter)]
                if common <= after or (page.prefixes and page.prefixes[-1] == common):
                    continue
                if count >= limit:
                    page.truncated = True
                    break
                page.prefixes.append(common)
                count += 1
                last = common
                continue
        if count >= limit:
            page.truncated = True
            break
        page.items.append(item)
        page.last_item = item
        count += 1
        last = key
    if page.truncated:
        page.next_marker = last
    return page
