"""Checkpoint stores: where a file's resume record lives between runs.

A record is a JSON-able dict (the core's versioned checkpoint as data). Stores never see
credentials: :func:`assert_no_secrets` refuses any record that carries a field named like a
secret, so a mistake upstream fails loudly instead of writing a token to disk
(UPL-CKPT-004 in specs/uploader-driver.md).

:class:`FileCheckpointStore` writes one file per key under a per-user cache directory
(``platformdirs``), mode 0600 in a 0700 directory, atomically: temp file, fsync, rename (the
directory is fsynced on ``flush``/``close``). An atomic write costs ~0.5-0.7 ms here, so the
writes happen on one writer thread that coalesces them: upload threads never wait for fsync,
and a record saved five times while one write runs is written once, newest wins.

Per-part saves of a big file would rewrite a growing JSON (a 10,000-part checkpoint is ~690 KB
and ~20 ms to encode) after every part. So when a core ``Checkpoint`` differs from the last
one written only by new parts, the writer appends just those parts to a journal next to the
snapshot (one fsynced line); the snapshot is rewritten when anything else changes or when the
journal grows past half the parts, keeping the cost per part constant. Each snapshot names its
journal (an epoch), so a journal left over from an older snapshot is never applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import platformdirs

from .core import Checkpoint
from .errors import CheckpointStoreError
from .store_files import Staged, create_temp, fsync_error
from .store_journal import (
    Written,
    added_parts,
    checkpoint_header,
    journals_by_stem,
    replay_journal,
)
from .store_locks import FileLock, take_file_lock
from .store_records import assert_no_secrets, decode_record, encode_record

__all__ = [
    "CheckpointStore",
    "FileCheckpointStore",
    "FileLock",
    "Record",
    "SupportsToDict",
    "assert_no_secrets",
    "decode_record",
    "default_checkpoint_dir",
    "encode_record",
]

Record = Mapping[str, Any]


class SupportsToDict(Protocol):
    """A record encoded only when it is written (the core's ``Checkpoint``)."""

    def to_dict(self) -> dict[str, Any]: ...


class CheckpointStore(Protocol):
    def load(self, key: str) -> dict[str, Any] | None:
        """The record saved under ``key``, or None. A corrupt record raises
        :class:`CheckpointStoreError` (the caller then starts over from the server)."""
        ...

    def save(self, key: str, record: Record | SupportsToDict) -> None:
        """Remember ``record`` under ``key`` (may return before it is durable)."""
        ...

    def delete(self, key: str) -> None: ...

    def flush(self) -> None:
        """Block until every earlier save and delete is durable."""
        ...

    def close(self) -> None: ...


def default_checkpoint_dir() -> Path:
    """``<user cache dir>/vodref/checkpoints`` (e.g. ``~/.cache/vodref/checkpoints``)."""
    return Path(platformdirs.user_cache_dir("vodref")) / "checkpoints"


_DELETE = object()


class FileCheckpointStore:
    """One JSON file per key, written atomically by a coalescing writer thread."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        min_write_interval: float = 0.05,
    ) -> None:
        """``min_write_interval``: the writer starts a write at most this often (seconds), so
        saves arriving faster are coalesced. A crash can leave the record that much behind,
        which costs nothing on resume: the parts themselves are found by ListParts, and the
        first save of a file (its VideoId and upload id) is written at once."""
        self.directory = Path(directory) if directory is not None else default_checkpoint_dir()
        self._directory_name = os.fspath(self.directory)
        self._min_write_interval = min_write_interval
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.directory, 0o700)
        except OSError as error:
            raise CheckpointStoreError(
                f"cannot create checkpoint directory {self.directory}: {error.strerror}"
            ) from None
        lock = threading.RLock()
        self._cond = threading.Condition(lock)  # flushers wait on it for the writer's progress
        # The writer waits on its own condition (same lock): a flush or a save wakes the
        # writer only, not every other flusher (issue 12: notify_all on one condition woke
        # every waiting flusher at each flush, 17 % of the GIL time with 8 files at once).
        self._writer_wake = threading.Condition(lock)
        self._paths: dict[str, Path] = {}
        # key -> encoded record, or _DELETE; the newest operation per key wins.
        self._pending: dict[str, object] = {}
        # Operations handed over, and how many of them the writer has finished: a flush
        # waits for those before it only. Waiting for "nothing pending" made flushers queue
        # behind every later save while several files upload (issue 12).
        self._enqueued = 0
        self._completed = 0
        # flush_barriers (UPL-CKPT-008): the newest target asked for, how far every
        # operation but the deferred parts-only saves is written, and when each pending
        # key's operation was first saved.
        self._barrier_wanted = 0
        self._completed_barriers = 0
        self._since: dict[str, float] = {}
        self._directory_sync = threading.Lock()
        self._closed = False
        # Keys whose newest operation could not be written, with why (UPL-CKPT-007): every
        # flush raises while one is left; a later write or delete of the key that succeeds
        # clears it.
        self._failed: dict[str, str] = {}
        self._directory_dirty = False
        self._flushing = 0
        # Writer thread only: what the files of a key hold now (see _write_checkpoint).
        self._written: dict[str, Written] = {}
        # Writer thread only: key -> the one journal it may have on disk (None: none, so a
        # snapshot or delete unlinks nothing more), once the key's leftover journals were
        # removed; after that no write looks for them again (issue 12).
        self._journals: dict[str, Path | None] = {}
        # Writer thread only: the journals earlier processes left, by file stem, from one
        # directory listing made at the first need (see _drop_journals).
        self._leftover_journals: dict[str, list[str]] | None = None
        # key -> the journal a loaded snapshot names (under _cond): removed with the key's
        # leftovers even when it appeared after the listing.
        self._loaded_journals: dict[str, Path] = {}
        self._syncers: ThreadPoolExecutor | None = None  # made when a batch has two writes
        self.writes = 0
        self.appends = 0
        self._writer = threading.Thread(
            target=self._write_loop, name="vodref-checkpoint-writer", daemon=True
        )
        self._writer.start()

    def _path(self, key: str) -> Path:
        # Keys are the core's fingerprints ("v1:<hex>"); the file name is a hash of the key,
        # so no key can ever name a path outside the directory.
        if not isinstance(key, str) or not key:
            raise CheckpointStoreError(f"invalid checkpoint key {key!r}")
        path = self._paths.get(key)
        if path is None:  # a hash and a Path per save add up over 10,000 parts: remember
            if len(self._paths) >= 4096:
                self._paths.clear()
            path = self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.json"
            self._paths[key] = path
        return path

    def _journal_path(self, path: Path, epoch: str) -> Path:
        return path.with_name(f"{path.stem}.{epoch}.log")

    def lock(self, key: str) -> FileLock:
        """Hold the upload lock of ``key`` (UPL-DUR-007): see :func:`take_file_lock`."""
        return take_file_lock(self._path(key).with_suffix(".lock"))

    def load(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        with self._cond:
            pending = self._pending.get(key)
        if pending is _DELETE:
            return None
        if pending is not None:
            return decode_record(
                pending if isinstance(pending, str) else encode_record(pending), key
            )
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise CheckpointStoreError(f"cannot read checkpoint {path}: {error}") from None
        record = decode_record(data, key)
        epoch = record.pop(_JOURNAL_FIELD, None)
        if isinstance(epoch, str) and isinstance(record.get("parts"), list):
            journal = self._journal_path(path, epoch)
            with self._cond:
                self._loaded_journals[key] = journal
            record["parts"] = replay_journal(journal, record["parts"])
        return record

    def save(self, key: str, record: Record | SupportsToDict) -> None:
        self._path(key)
        # Plain dicts are checked and frozen now; a Checkpoint is immutable and is encoded
        # by the writer, so only the newest of a burst of saves pays for JSON (a
        # 10,000-part checkpoint is ~20 ms to encode).
        operation: object = encode_record(record) if isinstance(record, Mapping) else record
        self._enqueue(key, operation)

    def delete(self, key: str) -> None:
        self._path(key)
        self._enqueue(key, _DELETE)

    def _enqueue(self, key: str, operation: object) -> None:
        with self._cond:
            if self._closed:
                raise CheckpointStoreError("checkpoint store is closed")
            idle = not self._pending
            if key not in self._pending:
                self._since[key] = time.monotonic()
            self._pending[key] = operation
            self._enqueued += 1
            if idle:
                # Only a writer waiting for work needs waking; one that already has work is
                # waiting out its coalescing window or writing (issue 12: a wake-up per part).
                self._writer_wake.notify()

    def flush(self) -> None:
        self._flush(barriers_only=False)

    def flush_barriers(self) -> None:
        """Block until every earlier delete, and every earlier save that changes more than
        the parts of what the key's files hold, is durable (UPL-CKPT-008): what a barrier
        (a VideoId, an upload id) needs. A save that only adds parts to what is on disk
        keeps its coalescing window (it is written at most ``min_write_interval`` after it
        was made, as when nobody flushes), so a file that completes within it is deleted
        without its last parts ever being written (issue 12: a journal created, fsynced and
        unlinked per small file while other files' barriers kept flushing)."""
        self._flush(barriers_only=True)

    def _flush(self, *, barriers_only: bool) -> None:
        with self._cond:
            target = self._enqueued
            if barriers_only:
                self._barrier_wanted = max(self._barrier_wanted, target)
            else:
                self._flushing += 1
            self._writer_wake.notify()
            try:
                while (
                    self._completed_barriers if barriers_only else self._completed
                ) < target and self._writer.is_alive():
                    self._cond.wait(0.5)
            finally:
                if not barriers_only:
                    self._flushing -= 1
            failed = sorted(self._failed.items())
        # One flusher at a time takes the dirty flag and fsyncs: another one, finding the
        # flag taken, must not return before that fsync (its renames depend on it).
        with self._directory_sync:
            with self._cond:
                dirty, self._directory_dirty = self._directory_dirty, False
            if dirty:
                self._fsync_directory()
        if failed:
            raise CheckpointStoreError(
                "cannot write checkpoint " + "; ".join(f"{key}: {reason}" for key, reason in failed)
            )

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            self._writer_wake.notify()
        self._writer.join()
        if self._syncers is not None:
            self._syncers.shutdown(wait=True)
        if self._directory_dirty:
            self._directory_dirty = False
            self._fsync_directory()

    def _write_loop(self) -> None:
        last_write = 0.0
        kept_until = float("inf")  # the newest deferred save's window ends (UPL-CKPT-008)
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._writer_wake.wait()
                if not self._pending and self._closed:
                    return
                # Let a few more saves arrive (a part lands every ~3 ms at 350 MiB/s with
                # 1 MiB parts): one write then covers them all. Close and flush don't wait.
                resume_at = min(last_write + self._min_write_interval, kept_until)
                while not self._closed and not self._flushing and not self._barriers_wanted():
                    remaining = resume_at - time.monotonic()
                    if remaining <= 0:
                        break
                    self._writer_wake.wait(remaining)  # woken early only by flush or close
                now = time.monotonic()
                batch = self._pending
                kept = (
                    self._deferrable(batch, now)
                    if not self._closed and not self._flushing and now < resume_at
                    else {}
                )
                self._pending = kept
                for key in batch:
                    if key not in kept:
                        self._since.pop(key, None)
                kept_until = min(
                    (self._since[key] + self._min_write_interval for key in kept),
                    default=float("inf"),
                )
                covered = self._enqueued
            last_write = now
            self._write_batch({k: v for k, v in batch.items() if k not in kept} if kept else batch)
            with self._cond:
                self._completed_barriers = covered
                if not kept:
                    self._completed = covered
                self._cond.notify_all()

    def _barriers_wanted(self) -> bool:
        return self._barrier_wanted > self._completed_barriers

    def _deferrable(self, batch: Mapping[str, object], now: float) -> dict[str, object]:
        """The saves of an early batch (a barrier flush woke the writer) that may wait out
        the coalescing window: a checkpoint that only changes the parts of what its key's
        files hold (same header: its VideoId and upload id are already on disk), saved less
        than ``min_write_interval`` ago (writer thread, under the lock)."""
        kept: dict[str, object] = {}
        for key, operation in batch.items():
            if (
                isinstance(operation, Checkpoint)
                and now - self._since.get(key, now) < self._min_write_interval
            ):
                written = self._written.get(key)
                if written is not None and written.header == checkpoint_header(operation):
                    kept[key] = operation
        return kept

    def _write_batch(self, batch: Mapping[str, object]) -> None:
        """Group commit (issue 12): every write of the batch is staged first (a temp file,
        or a journal line), then all are fsynced together, then each one whose fsync
        succeeded is renamed into place. With several files uploading, their barrier saves
        land in one batch, and their fsyncs overlap (one journal commit of the file system
        serves many) instead of queueing one behind another on this thread: the writer was
        the small-file bottleneck. A temp file is renamed only after its own fsync
        succeeded; a failed one is removed and fails only its own key's save."""
        staged: list[Staged] = []
        for key, operation in batch.items():
            try:
                if operation is _DELETE:
                    self._remove(key)
                    item = None
                elif isinstance(operation, Checkpoint):
                    item = self._stage_checkpoint(key, operation)
                else:
                    encoded = operation if isinstance(operation, str) else encode_record(operation)
                    item = self._stage_record(key, encoded)
            except (OSError, CheckpointStoreError) as error:
                self._note_write_error(key, error)
                continue
            if item is None:  # done, or nothing to write: the files hold the newest record
                self._note_written(key)
            else:
                staged.append(item)
        if staged:
            # The others on the pool, the first one here: a hand-off fewer per batch.
            others = [self._fsync_pool().submit(fsync_error, i.fd) for i in staged[1:]]
            staged[0].error = fsync_error(staged[0].fd)
            for item, future in zip(staged[1:], others, strict=True):
                item.error = future.result()
        for item in staged:
            try:
                if item.error is not None:
                    item.undo()
                    raise item.error
                os.close(item.fd)
                item.fd = -1
                item.commit()
            except (OSError, CheckpointStoreError) as error:
                # Nothing of a failed write stays for a later load to trust (UPL-CKPT-007).
                with contextlib.suppress(OSError):
                    item.undo()
                self._note_write_error(item.key, error)
            else:
                self._note_written(item.key)

    def _note_write_error(self, key: str, error: Exception) -> None:
        with self._cond:
            self._failed[key] = str(error)

    def _note_written(self, key: str) -> None:
        if self._failed:
            with self._cond:
                self._failed.pop(key, None)

    def _fsync_pool(self) -> ThreadPoolExecutor:
        # fsync releases the GIL: a few threads let a batch's fsyncs run at once.
        if self._syncers is None:
            self._syncers = ThreadPoolExecutor(
                max_workers=8, thread_name_prefix="vodref-checkpoint-fsync"
            )
        return self._syncers

    def _stage_record(self, key: str, encoded: str) -> Staged:
        """A plain record: replaces the key's files (a snapshot without a journal)."""

        def commit() -> None:
            self._written.pop(key, None)
            self._drop_journals(key)

        return self._stage_atomic(key, encoded, commit)

    def _stage_atomic(self, key: str, encoded: str, after: Callable[[], None]) -> Staged:
        """A temp file holding ``encoded``, not yet fsynced; its commit renames it over the
        key's file, then runs ``after``."""
        path = self._path(key)
        # Plain os calls, no file object: fewer system calls, each one a GIL hand-off.
        fd, temp_name = create_temp(self._directory_name, path.stem)
        try:
            data = encoded.encode("utf-8")
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise

        def commit() -> None:
            os.replace(temp_name, path)
            # No directory fsync per write: the data is fsynced before the rename, so after
            # a power loss the name holds either this record or the previous valid one (a
            # stale record only means re-sending a few parts; ListParts is the truth). The
            # directory is fsynced on flush() and close(). This halves the cost of per-part
            # checkpoints.
            self._directory_dirty = True
            self.writes += 1
            after()

        return Staged(key, fd, commit, temp_name=temp_name)

    def _stage_checkpoint(self, key: str, checkpoint: Checkpoint) -> Staged | None:
        """Append the new parts to the journal when only parts were added; else snapshot.
        None: nothing to write."""
        header = checkpoint_header(checkpoint)
        written = self._written.get(key)
        new = (
            None
            if written is None or written.header != header
            else added_parts(written, checkpoint)
        )
        if (
            written is not None
            and new is not None
            and written.journal_parts + len(new) <= max(64, len(checkpoint.parts) // 2)
        ):
            if not new:
                return None
            line = json.dumps(
                [[number, etag, f"{crc:016x}", size] for number, etag, crc, size in new],
                separators=(",", ":"),
            )
            self._journals[key] = written.journal  # from now on it may exist
            fd, length = self._append(written.journal, line)
            appended = written

            def commit_append() -> None:
                self._directory_dirty = True
                appended.journal_parts += len(new)
                appended.last_parts = checkpoint.parts
                self.appends += 1

            return Staged(key, fd, commit_append, journal_length=length)
        epoch = os.urandom(6).hex()
        record = checkpoint.to_dict()
        # Part entries are lists of numbers and strings built from typed fields: no field
        # names in them, so the check need not walk 10,000 of them on every snapshot.
        assert_no_secrets({name: value for name, value in record.items() if name != "parts"})
        record[_JOURNAL_FIELD] = epoch
        # Not sorted: the checkpoint's own order puts the VideoId, target and upload id
        # before the parts, so even a truncated copy keeps what salvage needs (UPL-DUR-006).

        def commit_snapshot() -> None:
            self._written[key] = Written(
                header=header,
                journal=self._journal_path(self._path(key), epoch),
                journal_parts=0,
                last_parts=checkpoint.parts,
            )
            self._drop_journals(key)  # the new epoch has no journal yet

        return self._stage_atomic(key, json.dumps(record, separators=(",", ":")), commit_snapshot)

    def _append(self, journal: Path, line: str) -> tuple[int, int]:
        """Append ``line`` to ``journal``: the descriptor and the length before the line."""
        fd = os.open(
            journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600
        )
        try:
            end = os.write(fd, (line + "\n").encode("utf-8"))
            return fd, os.lseek(fd, 0, os.SEEK_CUR) - end
        except BaseException:
            os.close(fd)
            raise

    def _drop_journals(self, key: str) -> None:
        """Remove the key's journals. The first time for a key, those earlier processes
        left: the directory is listed once per store, not once per key (a listing per new
        key cost ~3 getdents64 per small file in a directory that grows by a lock file per
        file, issue 12), plus the journal a snapshot loaded meanwhile names. A journal
        another process made for the key after the listing and that no loaded snapshot
        names is an orphan of an older epoch: it is never applied, only left on disk. After
        that only the one journal this store appended to is removed."""
        if key in self._journals:
            known = self._journals[key]
            candidates = [] if known is None else [known]
        else:
            names = self._leftovers().pop(self._path(key).stem, [])
            candidates = [self.directory / name for name in names]
            with self._cond:
                named = self._loaded_journals.pop(key, None)
            if named is not None and named not in candidates:
                candidates.append(named)
        for journal in candidates:
            with contextlib.suppress(FileNotFoundError):
                journal.unlink()
        self._journals[key] = None

    def _leftovers(self) -> dict[str, list[str]]:
        """The directory's journals by stem, listed once (see _drop_journals)."""
        if self._leftover_journals is None:
            self._leftover_journals = journals_by_stem(self.directory)
        return self._leftover_journals

    def _remove(self, key: str) -> None:
        self._written.pop(key, None)
        self._drop_journals(key)
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            return
        # Made durable, as a write's rename is, by the directory fsync of the next flush or
        # close (UPL-CKPT-003), not one fsync per delete (2 of ~6 per small file, issue 12).
        # A delete a power cut undoes leaves a record whose upload is gone: resume finds
        # that out from the server (ListParts), as for any stale record.
        self._directory_dirty = True

    def _fsync_directory(self) -> None:
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_JOURNAL_FIELD = "_journal"
