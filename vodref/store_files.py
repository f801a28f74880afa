"""Low-level writes of :class:`vodref.stores.FileCheckpointStore`, split out of stores.py:
exclusive temp files, fsync with the error kept, and a staged (written, not yet fsynced)
write."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

__all__ = ["Staged", "create_temp", "fsync_error"]


_TEMP_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
)


def create_temp(directory: str, stem: str) -> tuple[int, str]:
    """A new empty file ``.<stem>.<random>.tmp`` in ``directory``, 0600 (a umask only ever
    removes bits), created exclusively: what ``tempfile.mkstemp`` does, without its
    per-call Python (a ``random.Random`` name sequence, argument checks: ~20 % of the
    writer's GIL time with many small files, issue 12)."""
    for _ in range(100):
        name = os.path.join(directory, f".{stem}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(name, _TEMP_FLAGS, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {directory}")


def fsync_error(fd: int) -> OSError | None:
    try:
        os.fsync(fd)
    except OSError as error:
        return error
    return None


class Staged:
    """A write of one key, on disk but not yet fsynced: ``commit`` (after the fsync
    succeeded) renames it into place and updates the writer's bookkeeping; ``undo`` removes
    the temp file or cuts the journal back to its length before the append, and closes
    (UPL-CKPT-007: nothing of a failed write stays for a later load to trust)."""

    __slots__ = ("commit", "error", "fd", "journal_length", "key", "temp_name")

    def __init__(
        self,
        key: str,
        fd: int,
        commit: Callable[[], None],
        *,
        temp_name: str | None = None,
        journal_length: int | None = None,
    ) -> None:
        self.key = key
        self.fd = fd  # -1 once closed
        self.temp_name = temp_name  # None: a journal append, nothing to rename
        self.journal_length = journal_length
        self.commit = commit
        self.error: OSError | None = None

    def undo(self) -> None:
        fd, self.fd = self.fd, -1
        try:
            if fd >= 0 and self.journal_length is not None:
                os.ftruncate(fd, self.journal_length)
        finally:
            if fd >= 0:
                os.close(fd)
            if self.temp_name is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.temp_name)
