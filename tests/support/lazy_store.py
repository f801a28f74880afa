"""A checkpoint store that keeps only what was flushed, for crash-and-resume tests of the
driver, and the accounting of what a full store costs a crash (UPL-DUR-011)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from vodref.core import FileState, FileView
from vodref.errors import CheckpointStoreError
from vodref.testing import MemoryCheckpointStore


class LazyStore(MemoryCheckpointStore):
    """Saves and deletes become durable only when flushed (the most a coalescing writer may
    defer); ``durable()`` is what a process killed now leaves behind. ``full``: every flush
    fails, as on a full disk, and what it would have written is lost."""

    def __init__(self, durable: dict[str, object] | None = None) -> None:
        super().__init__()
        self._pending: dict[str, object] = {}
        self.full = False
        if durable:
            for key, record in durable.items():
                super().save(key, record)  # type: ignore[arg-type]

    def save(self, key: str, record: Any) -> None:
        with self._lock:
            self._pending[key] = record

    def delete(self, key: str) -> None:
        with self._lock:
            self._pending[key] = None

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            pending = self._pending.get(key, ...)
        if pending is None:
            return None
        if pending is not ...:
            fresh = MemoryCheckpointStore()
            fresh.save(key, pending)  # type: ignore[arg-type]
            return fresh.load(key)
        return super().load(key)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if self.full:
            raise CheckpointStoreError("the checkpoint store is full")
        for key, record in pending.items():
            if record is None:
                super().delete(key)
            else:
                super().save(key, record)  # type: ignore[arg-type]

    def durable(self) -> dict[str, object]:
        with self._lock:
            return dict(self._records)


def upload_ids_on_disk(durable: Mapping[str, object]) -> set[str]:
    """The multipart upload ids the durable checkpoints name (what a next process can
    continue)."""
    named: set[str] = set()
    for stored in durable.values():
        # A record saved as a mapping is kept encoded, as on disk; a Checkpoint as itself.
        record = json.loads(stored) if isinstance(stored, str) else stored
        upload_id = getattr(record, "upload_id", None)
        if upload_id is None and isinstance(record, Mapping):
            upload_id = record.get("upload_id")
        if isinstance(upload_id, str):
            named.add(upload_id)
    return named


def uploads_lost_to_a_full_store(
    views: Iterable[FileView], durable: Mapping[str, object]
) -> set[str]:
    """UPL-DUR-011: the uploads a process that exits now leaves open, holding the parts it
    sent, because a failing store never wrote their ids: every unfinished file's upload
    (``views``: the files as the exiting process last knew them) that no durable checkpoint
    names. A Success file's upload is completed and a Canceled file's aborted; nothing
    else may be lost this way."""
    on_disk = upload_ids_on_disk(durable)
    return {
        view.upload_id
        for view in views
        if view.upload_id is not None
        and view.state not in (FileState.SUCCESS, FileState.CANCELED)
        and view.upload_id not in on_disk
    }
