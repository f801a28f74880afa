"""Where object and part bytes live: in memory, or in files under a data directory.

Blob ids are generated here (random hex), never derived from an object key, so a key can
never become a filesystem path. A disk blob is written under its new id and fsynced, with
its directory, before :meth:`BlobStore.put` returns; the caller commits the metadata row
that refers to it only afterwards, so no row ever refers to a half-written file, and
:meth:`BlobStore.ids` lets start-up code delete the ones no row refers to (a crash
mid-write leaves such an orphan). The file is created in its own shard directory rather
than in one temporary directory and renamed: the file system then places each inode by
its shard (on ext4, allocating every inode in one busy directory's group scanned past
recently deleted inodes, ~0.3 CPU-s/GiB at 1 MiB parts), and no rename is paid.

A page-aligned body (the socket server's mappings) is written with ``O_DIRECT`` where the
file system takes it: its bytes go from the server's reused buffer to the disk without a
page-cache copy, whose fresh pages cost more CPU than the write itself. The fsyncs are the
same either way; a file system that refuses ``O_DIRECT`` gets plain writes.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_READ_CHUNK = 1 << 20
# O_DIRECT wants the buffer address, length and file offset aligned to the device's
# logical block (512 or 4096 bytes); a page is a multiple of either.
_DIRECT_ALIGN = mmap.PAGESIZE
_O_DIRECT = getattr(os, "O_DIRECT", 0)


class BlobNotFound(KeyError):
    """No blob has this id."""


# What a blob is made from: a body as the socket server read it (see emulator.http.Body).
BlobData = bytes | mmap.mmap


class BlobStore(Protocol):
    def put(self, data: BlobData) -> str:
        """Store ``data`` durably; return its new id."""
        ...

    def read(self, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes ``[start, end)`` of the blob (``end=None`` means to the end)."""
        ...

    def iter_range(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The same bytes as :meth:`read`, in chunks of at most 1 MiB."""
        ...

    def delete(self, blob_id: str) -> None:
        """Remove the blob; a missing blob is not an error."""
        ...

    def ids(self) -> set[str]:
        """Every stored blob id (for start-up garbage collection)."""
        ...


def new_blob_id() -> str:
    return secrets.token_hex(16)


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, BlobData] = {}
        self._lock = threading.Lock()

    def put(self, data: BlobData) -> str:
        # Kept as given, not copied: the server's mmap bodies are never written after
        # the read, and copying 1 MiB would cost fresh pages again.
        blob_id = new_blob_id()
        with self._lock:
            self._blobs[blob_id] = data
        return blob_id

    def _get(self, blob_id: str) -> BlobData:
        try:
            return self._blobs[blob_id]
        except KeyError:
            raise BlobNotFound(blob_id) from None

    def read(self, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
        data = self._get(blob_id)
        if isinstance(data, bytes) and start == 0 and (end is None or end >= len(data)):
            return data
        return data[start:end]

    def iter_range(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        data = self._get(blob_id)
        stop = len(data) if end is None else min(end, len(data))
        view = memoryview(data)
        for offset in range(start, stop, _READ_CHUNK):
            yield bytes(view[offset : min(offset + _READ_CHUNK, stop)])

    def delete(self, blob_id: str) -> None:
        with self._lock:
            self._blobs.pop(blob_id, None)

    def ids(self) -> set[str]:
        with self._lock:
            return set(self._blobs)


class DiskBlobStore:
    """Blobs as files ``root/ab/<id>``, each created, written and fsynced in place
    (module docstring). ``root/tmp`` only holds what an older version left, cleared at
    start."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        # Cleared once the file system refuses O_DIRECT (module docstring).
        self._direct = _O_DIRECT != 0
        # Shard directories known to exist: each is made once, not tried on every put.
        self._shards: set[str] = set()
        root.mkdir(parents=True, exist_ok=True)
        (root / "tmp").mkdir(exist_ok=True)
        for leftover in (root / "tmp").iterdir():
            leftover.unlink(missing_ok=True)

    def _path(self, blob_id: str) -> Path:
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise BlobNotFound(blob_id)
        return self.root / blob_id[:2] / blob_id

    def put(self, data: BlobData) -> str:
        blob_id = new_blob_id()
        final = self._path(blob_id)
        if blob_id[:2] not in self._shards:
            final.parent.mkdir(exist_ok=True)
            self._shards.add(blob_id[:2])
        direct = self._direct and isinstance(data, mmap.mmap) and len(data) >= _DIRECT_ALIGN
        try:
            fd = self._create(final, direct)
        except FileNotFoundError:  # the shard directory was removed behind our back
            final.parent.mkdir(exist_ok=True)
            fd = self._create(final, direct)
        try:
            with memoryview(data) as whole:
                self._write_all(fd, whole, direct and self._direct)
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            final.unlink(missing_ok=True)  # never leave a partial blob behind on error
            raise
        os.close(fd)
        if self.fsync:
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        return blob_id

    def _create(self, path: Path, direct: bool) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        if direct:
            try:
                return os.open(path, flags | _O_DIRECT, 0o600)
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                self._direct = False  # this file system has no O_DIRECT
        return os.open(path, flags, 0o600)

    def _write_all(self, fd: int, view: memoryview, direct: bool) -> None:
        """Write all of ``view``: its aligned head with O_DIRECT when ``direct``, then
        the rest (and everything after a refusal) through the page cache."""
        if direct:
            head = len(view) - len(view) % _DIRECT_ALIGN
            try:
                while head:
                    written = os.write(fd, view[:head])
                    view, head = view[written:], head - written
                    if head % _DIRECT_ALIGN:
                        break  # a short write left the rest unaligned
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                self._direct = False
            if not view:
                return  # all written with O_DIRECT: nothing left for the page cache
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_O_DIRECT)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def read(self, blob_id: str, start: int = 0, end: int | None = None) -> bytes:
        return b"".join(self.iter_range(blob_id, start, end))

    def iter_range(self, blob_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        # Open eagerly so a missing blob raises here, not at the first next().
        try:
            fd = os.open(self._path(blob_id), os.O_RDONLY)
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        return self._chunks(fd, start, end)

    @staticmethod
    def _chunks(fd: int, start: int, end: int | None) -> Iterator[bytes]:
        try:
            stop = os.fstat(fd).st_size if end is None else end
            offset = start
            while offset < stop:
                chunk = os.pread(fd, min(_READ_CHUNK, stop - offset), offset)
                if not chunk:
                    break
                yield chunk
                offset += len(chunk)
        finally:
            os.close(fd)

    def delete(self, blob_id: str) -> None:
        try:
            self._path(blob_id).unlink(missing_ok=True)
        except BlobNotFound:
            return

    def ids(self) -> set[str]:
        found: set[str] = set()
        for shard in self.root.iterdir():
            if shard.name == "tmp" or not shard.is_dir():
                continue
            found.update(p.name for p in shard.iterdir())
        return found
