"""An in-memory checkpoint store (tests, and callers who want resume within one process)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from ..errors import FileBusyError
from ..stores import Record, SupportsToDict, decode_record, encode_record

__all__ = ["MemoryCheckpointStore"]


class MemoryCheckpointStore:
    """A dict. For tests, and for callers who want resume within one process only.

    Like the file store it keeps a core ``Checkpoint`` as the (immutable) object and encodes
    it only when loaded, so per-part saves cost no JSON."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, object] = {}
        self._locked: set[str] = set()
        self.saves = 0

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            raw = self._records.get(key)
        if raw is None:
            return None
        return decode_record(raw if isinstance(raw, str) else encode_record(raw), key)

    def save(self, key: str, record: Record | SupportsToDict) -> None:
        stored: object = encode_record(record) if isinstance(record, Mapping) else record
        with self._lock:
            self._records[key] = stored
            self.saves += 1

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._records)

    def lock(self, key: str) -> _MemoryLock:
        """The upload lock of ``key`` within this store (one holder at a time)."""
        with self._lock:
            if key in self._locked:
                raise FileBusyError(f"{key} is locked", os.getpid())
            self._locked.add(key)
        return _MemoryLock(self, key)

    def _unlock(self, key: str) -> None:
        with self._lock:
            self._locked.discard(key)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _MemoryLock:
    __slots__ = ("_key", "_store")

    def __init__(self, store: MemoryCheckpointStore, key: str) -> None:
        self._store: MemoryCheckpointStore | None = store
        self._key = key

    def release(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store._unlock(self._key)
