"""How a checkpoint's parts differ from the parts already written: the journal's half of
:class:`vodref.stores.FileCheckpointStore` (split out of stores.py to keep it small).

Per-part saves append only the parts a ``Checkpoint`` adds to the last one written; finding
them must not cost a walk over every part (issue 12: that made the per-part cost grow with
the number of parts)."""

from __future__ import annotations

import json
import operator
import os
from bisect import bisect_left
from pathlib import Path
from typing import Any

from .core import Checkpoint, CheckpointPart
from .errors import CheckpointStoreError

__all__ = ["Written", "added_parts", "checkpoint_header", "journals_by_stem", "replay_journal"]


class Written:
    """What the files of one key hold: the snapshot's header, its journal, and every part."""

    __slots__ = ("header", "journal", "journal_parts", "last_parts")

    def __init__(
        self,
        *,
        header: tuple[object, ...],
        journal: Path,
        journal_parts: int,
        last_parts: tuple[CheckpointPart, ...],
    ) -> None:
        self.header = header
        self.journal = journal
        self.journal_parts = journal_parts
        # The parts of the last Checkpoint written, sorted by number: exactly the parts the
        # files hold (snapshot plus journal). The core shares its part objects between
        # saves, so a common prefix of identical objects is known to be written.
        self.last_parts = last_parts


_part_number = operator.attrgetter("number")


def _common_prefix(old: tuple[CheckpointPart, ...], new: tuple[CheckpointPart, ...]) -> int:
    """How many leading entries ``old`` and ``new`` share (by identity, then equality).

    Tuple comparison runs in C and tries identity first. When the core appended parts since
    the last write, one comparison answers. When it inserted some (parts complete out of
    order, a few places before the end), every entry after the first insertion is shifted,
    so a step back from the end over the shifted entries finds it, and one comparison
    confirms the prefix before it. Only when that fails (an entry changed deep inside) does
    a binary search of O(log n) comparisons find the first difference (a prefix that matches
    for length i matches for every shorter length)."""
    limit = min(len(old), len(new))
    if old[:limit] == new[:limit]:
        return limit
    candidate = limit - 1
    while candidate > 0 and old[candidate - 1] is not new[candidate - 1]:
        candidate -= 1
    if old[:candidate] == new[:candidate]:
        return candidate
    low, high = 0, candidate  # old[:low] == new[:low]; old[:high] != new[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle
    return low


def added_parts(written: Written, checkpoint: Checkpoint) -> list[tuple[int, str, int, int]] | None:
    """The parts ``checkpoint`` adds to what ``written`` holds, or None if it also drops or
    changes some (then only a new snapshot is right). Costs O(log n) C comparisons plus a
    Python step per part after the common prefix with the last written checkpoint's parts
    (issue 12: a walk over every part per write made the per-part cost grow with n)."""
    old, new = written.last_parts, checkpoint.parts
    if len(new) < len(old):
        return None
    skip = _common_prefix(old, new)
    added = []
    kept = skip  # the prefix: the same entries as written last time, all on disk
    for part in new[skip:]:
        index = bisect_left(old, part.number, lo=skip, key=_part_number)
        if index == len(old) or old[index].number != part.number:
            added.append((part.number, part.etag, part.crc64, part.size))
        elif old[index] == part:
            kept += 1
        else:
            return None  # a part written with other content: only a snapshot is right
    return added if kept == len(old) else None


def checkpoint_header(checkpoint: Checkpoint) -> tuple[object, ...]:
    return (
        checkpoint.version,
        checkpoint.file_name,
        checkpoint.file_size,
        checkpoint.fingerprint,
        checkpoint.media_kind,
        checkpoint.video_id,
        checkpoint.target,
        checkpoint.upload_id,
        checkpoint.part_size,
    )


def replay_journal(journal: Path, parts: list[Any]) -> list[Any]:
    """The snapshot's parts plus the journal's, by part number (later entries win); a
    torn last line (a crash mid-append) is ignored."""
    try:
        # A torn or foreign line is skipped below, whatever its bytes.
        text = journal.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return parts
    except OSError as error:
        raise CheckpointStoreError(f"cannot read checkpoint journal {journal}: {error}") from None
    by_number = {e[0]: e for e in parts if isinstance(e, list) and e and isinstance(e[0], int)}
    for line in text.split("\n"):
        try:
            entries = json.loads(line)
        except ValueError:
            continue
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, list) and entry and isinstance(entry[0], int):
                    by_number[entry[0]] = entry
    return [by_number[number] for number in sorted(by_number)]


def journals_by_stem(directory: Path) -> dict[str, list[str]]:
    """The journals (``<stem>.<epoch>.log``) in ``directory`` by stem: listdir and string
    tests, not glob (glob's per-name fnmatch in Python cost ~1 ms a call once a run left a
    few hundred files)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        names = []
    found: dict[str, list[str]] = {}
    for name in names:
        stem, dot, epoch = name.partition(".")
        if dot and stem and epoch.endswith(".log") and len(epoch) > 4:
            found.setdefault(stem, []).append(name)
    return found
