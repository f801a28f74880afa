"""What makes a ``--data-dir`` emulator come back as it was: knobs and garbage collection.

The services keep their own rows (buckets, objects, parts, videos, credentials) in the
state's SQLite database, committed before a request is answered. Two things are not
service rows and live here, in one small key/value table of the same database:

- the clock (offset from wall time and frozen instant): a test that froze or advanced
  time finds it where it left it after a restart;
- the :class:`~emulator.config.Settings` the control plane changed (token TTLs, ...).

Both are written whenever the control plane changes them, in one transaction each, so a
SIGKILL leaves either the old or the new value, never a mix.

Garbage collection: a blob is written and fsynced under its new id *before* the row that
refers to it is committed, so a crash between the two leaves an orphan blob, never a row
pointing at nothing. :func:`collect_orphan_blobs` deletes such orphans; it must run at
start-up, before requests are served, because a request in flight legitimately owns a
blob that no row refers to yet.

One process per data directory: that start-up collection would delete the blobs another
live emulator on the same directory is writing, so :func:`lock_data_dir` takes an
exclusive ``flock`` on ``DIR/lock`` (the holder writes its pid there) and
:class:`~emulator.state.EmulatorState` holds one for as long as it is open. The kernel
releases the lock when the process dies, SIGKILL included, so a crash never leaves a stale
lock. Errors (a typed tree, each message one line naming the directory)::

    DataDirError      the directory cannot be used (a file, no permission, ...)
    +-- DataDirInUse  another process (or another open state) holds its lock
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import json
import logging
import math
import os
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from emulator.blobs import BlobStore
from emulator.clock import ClockSnapshot, EmulatorClock
from emulator.config import MAX_SETTING_SECONDS, Settings
from emulator.db import Database

log = logging.getLogger("emulator.persistence")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS emulator_knobs (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_CLOCK = "clock"
_SETTINGS = "settings"


class KnobStore:
    """The clock and settings rows of one emulator database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        db.ensure_schema(_SCHEMA)

    def _put(self, name: str, value: dict[str, Any]) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO emulator_knobs (name, value) VALUES (?, ?)",
                (name, json.dumps(value, sort_keys=True)),
            )

    def _get(self, name: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT value FROM emulator_knobs WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    def _delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM emulator_knobs WHERE name = ?", (name,))

    def save_clock(self, clock: EmulatorClock) -> None:
        snapshot = clock.snapshot()
        self._put(_CLOCK, {"offset": snapshot.offset, "frozen_at": snapshot.frozen_at})

    def save_settings(self, settings: Settings) -> None:
        self._put(_SETTINGS, dataclasses.asdict(settings))

    def forget(self) -> None:
        """Drop both rows (a full reset goes back to the wall clock and default settings)."""
        self._delete(_CLOCK)
        self._delete(_SETTINGS)

    def restore(self, clock: EmulatorClock, settings: Settings) -> None:
        """Load what was saved into ``clock`` and ``settings`` (in place: the services hold
        references to these very objects). Unknown or malformed values are ignored, so an
        older or newer data directory still starts; an out-of-range value (written by a
        version that did not check ranges, EMU-SEC-002) is ignored with a warning."""
        saved_clock = self._get(_CLOCK)
        if saved_clock is not None:
            offset = saved_clock.get("offset")
            frozen_at = saved_clock.get("frozen_at")
            if isinstance(offset, int | float) and (
                frozen_at is None or isinstance(frozen_at, int | float)
            ):
                snapshot = ClockSnapshot(
                    offset=float(offset),
                    frozen_at=None if frozen_at is None else float(frozen_at),
                )
                if snapshot.in_range(time.time()):
                    clock.restore(snapshot)
                else:
                    log.warning(
                        "ignoring the saved emulator clock (offset %r, frozen at %r): it is "
                        "out of range; the clock follows the wall clock",
                        offset,
                        frozen_at,
                    )
        saved_settings = self._get(_SETTINGS)
        if saved_settings is not None:
            apply_settings(settings, saved_settings, strict=False)


class InvalidSettings(ValueError):
    """A settings update names an unknown setting or gives a bad value (nothing changed)."""


def apply_settings(settings: Settings, values: dict[str, Any], *, strict: bool = True) -> None:
    """Set the named fields of ``settings`` in place, all or nothing.

    Every setting is a finite number of seconds in 0..MAX_SETTING_SECONDS (100 years).
    With ``strict`` an unknown name or a bad value raises :class:`InvalidSettings` before
    anything changes; without it they are skipped, a bad value with a warning (used when
    loading a data directory written by another version).
    """
    known = {f.name for f in dataclasses.fields(settings)}
    accepted: dict[str, float] = {}
    for name, value in values.items():
        if name not in known:
            if strict:
                raise InvalidSettings(f"unknown setting {name!r}; known: {sorted(known)}")
            continue
        if not _sane_seconds(value):
            message = f"{name} must be a number of seconds from 0 to {MAX_SETTING_SECONDS:.0f}"
            if strict:
                raise InvalidSettings(message)
            log.warning("ignoring the saved setting %s=%r: %s", name, value, message)
            continue
        accepted[name] = float(value)
    for name, value in accepted.items():
        setattr(settings, name, value)


def _sane_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and 0 <= value <= MAX_SETTING_SECONDS


def collect_orphan_blobs(blobs: BlobStore, referenced: Iterable[str]) -> int:
    """Delete every blob no metadata row refers to; returns how many went.

    Call only at start-up (see the module docstring).
    """
    orphans = blobs.ids() - set(referenced)
    for blob_id in orphans:
        blobs.delete(blob_id)
    return len(orphans)


LOCK_FILE_NAME = "lock"


class DataDirError(Exception):
    """The data directory cannot be used; nothing in it was changed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"cannot use data directory {path}: {reason}")
        self.path = path
        self.reason = reason


class DataDirInUse(DataDirError):
    """Another process, or another open state of this one, holds the directory's lock.

    ``holder_pid`` is the pid the holder recorded, or None when it could not be read.
    """

    def __init__(self, path: Path, holder_pid: int | None) -> None:
        holder = f"process {holder_pid}" if holder_pid is not None else "another process"
        super().__init__(path, f"it is in use by {holder}")
        self.holder_pid = holder_pid


class DataDirLock:
    """An exclusive lock on one data directory, held until :meth:`release`.

    A context manager; also released when garbage-collected and, by the kernel, when the
    process dies. The descriptor is close-on-exec, so programs this process starts do not
    inherit it (a child made by a bare ``fork`` does, until it exits or execs).
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._release = weakref.finalize(self, os.close, fd)

    @property
    def held(self) -> bool:
        return self._release.alive

    def release(self) -> None:
        """Give the directory up (closing the descriptor drops the flock). Idempotent."""
        self._release()

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<DataDirLock {str(self.path)!r} {'held' if self.held else 'released'}>"


def lock_data_dir(
    path: Path | str,
    *,
    wait: bool = False,
    on_wait: Callable[[DataDirInUse], None] | None = None,
) -> DataDirLock:
    """Create ``path`` if needed (mode 0700) and lock it for this process.

    Raises :class:`DataDirInUse` when another holder has it, or, with ``wait``, first calls
    ``on_wait`` with that error (to tell the user who they wait for) and then blocks in the
    kernel until the holder releases it or dies: no polling, and Ctrl-C still interrupts.
    When the holder is this process (another open state), it raises even with ``wait``.
    Raises :class:`DataDirError` when the directory cannot be created or locked.
    """
    directory = Path(path)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        raise DataDirError(directory, "it is a file, not a directory") from None
    except OSError as error:
        raise DataDirError(directory, _describe(error)) from None
    lock_path = directory / LOCK_FILE_NAME
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise DataDirError(directory, f"cannot open {lock_path}: {_describe(error)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy = DataDirInUse(directory, _recorded_holder(fd))
            if not wait or busy.holder_pid == os.getpid():
                # Waiting for a lock this very process holds would never end.
                raise busy from None
            if on_wait is not None:
                on_wait(busy)
            fcntl.flock(fd, fcntl.LOCK_EX)
        # Tell the next process who holds it. Written after locking, so a reader may briefly
        # see an empty file (reported as "another process"), never a mix of two pids.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as error:
        os.close(fd)
        raise DataDirError(directory, f"cannot lock {lock_path}: {_describe(error)}") from None
    except BaseException:
        os.close(fd)
        raise
    return DataDirLock(directory, fd)


def _recorded_holder(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOTDIR:
        return "a part of the path is a file, not a directory"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return error.strerror or str(error)
