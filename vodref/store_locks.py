"""The per-file upload lock of :class:`vodref.stores.FileCheckpointStore` (UPL-DUR-007),
split out of stores.py: one process uploads a given file at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from .errors import CheckpointStoreError, FileBusyError

__all__ = ["FileLock", "take_file_lock"]


class FileLock:
    """A held upload lock; :meth:`release` (idempotent) or process death frees it."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor drops the flock


def take_file_lock(path: Path) -> FileLock:
    """``fcntl.flock`` on ``path`` (a ``.lock`` file next to the checkpoint), which the
    kernel releases when the process dies, so a SIGKILL never leaves a stale lock. Raises
    :class:`FileBusyError` at once when another holder (another process, or another open of
    it in this one) has it, naming the holder's pid."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as error:
        raise CheckpointStoreError(f"cannot open lock {path}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise FileBusyError(f"lock {path.name} is held by pid {holder}", holder) from None
    except BaseException:
        os.close(fd)
        raise
    with contextlib.suppress(OSError):  # the pid is only for messages (a full disk)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return FileLock(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
