"""What keeps one file from being uploaded twice: the per-file upload lock (UPL-DUR-007) and
the finished-file records (UPL-DUR-004), for :class:`~vodref.api.vod.Vod`.

- A file added to a ``Vod`` holds the lock of its checkpoint key until it leaves the list or
  the uploader closes; another uploader (in practice another process) adding the same file
  gets :class:`~vodref.errors.FileBusyError` at once, saying who holds it. Stores without a
  ``lock(key)`` method (custom ones) simply have no lock.
- With ``finished_scope`` set, every success is recorded durably before its checkpoint is
  deleted, and :meth:`FileGuards.find` answers "was this very file uploaded before?".
"""

from __future__ import annotations

import os
from typing import Protocol

from ..core import FileView, MediaKind
from ..errors import FileBusyError
from ..finished import FinishedFiles, FinishedUpload, finished_key
from ..sources import FileSource
from ..stores import CheckpointStore

__all__ = ["FileGuards", "HeldLock"]

Override = tuple[str | None, str | None, str | None]


class HeldLock(Protocol):
    def release(self) -> None: ...


class _NoLock:
    """A store without locks (a custom ``CheckpointStore``): nothing to hold."""

    def release(self) -> None:
        pass


class FileGuards:
    def __init__(self, store: CheckpointStore, finished_scope: str | None) -> None:
        self._store = store
        self.scope = finished_scope
        self._finished = FinishedFiles(store)
        self._keys: dict[str, str] = {}  # file id -> finished-record key
        self._locks: dict[str, HeldLock] = {}  # file id -> its upload lock

    # ------------------------------------------------------------------ locks

    def lock(self, fingerprint: str, file_name: str) -> HeldLock:
        """Take the file's upload lock, or raise FileBusyError naming the holder."""
        take = getattr(self._store, "lock", None)
        if take is None:
            return _NoLock()
        try:
            lock: HeldLock = take(fingerprint)
        except FileBusyError as busy:
            if busy.holder == os.getpid():
                message = f"{file_name} is already in an uploader's list in this process"
            else:
                holder = f" (pid {busy.holder})" if busy.holder else ""
                message = (
                    f"another vodref process is uploading {file_name}{holder}; "
                    "not uploading it twice"
                )
            raise FileBusyError(message, busy.holder) from None
        return lock

    def hold(self, file_id: str, lock: HeldLock, finished: str | None) -> None:
        self._locks[file_id] = lock
        if finished is not None:
            self._keys[file_id] = finished

    def release(self, file_id: str) -> None:
        self._keys.pop(file_id, None)
        lock = self._locks.pop(file_id, None)
        if lock is not None:
            lock.release()

    def release_all(self) -> None:
        for file_id in list(self._locks):
            self.release(file_id)

    # ------------------------------------------------------------------ finished files

    def finished_key(
        self, source: FileSource, media_kind: MediaKind, param_text: str | None, override: Override
    ) -> str | None:
        if self.scope is None:
            return None
        return finished_key(
            source,
            scope=self.scope,
            media_kind=media_kind,
            param_data=param_text,
            override=override if any(override) else None,
        )

    def record(self, view: FileView) -> None:
        """Driver hook, before the success's checkpoint is deleted (raises
        CheckpointStoreError, which the driver notes)."""
        key = self._keys.get(view.file_id)
        if key is not None:
            self._finished.record(key, view)

    def find(self, key: str) -> FinishedUpload | None:
        return self._finished.find(key)
