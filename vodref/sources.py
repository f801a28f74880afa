"""Where a file's bytes come from: the ``FileSource`` Protocol and its implementations.

Parts are read whole with ``os.pread`` into fresh ``bytes``: thread-safe (no shared file
offset), one copy, and it avoids the slow unaligned ``readinto(bytearray)`` path.

The fingerprint is a SHA-256 over the size and sampled 4 KiB blocks (first, last and evenly
spaced ones). It is cheap, and it changes when a same-name, same-size, same-mtime file is
rewritten in any sampled block. It is not the whole defence: each finished part's full CRC-64
is kept in the checkpoint and checked again on resume (see :mod:`vodref.resume`).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from pathlib import Path
from typing import BinaryIO, Protocol

from .errors import SourceChangedError, SourceError

__all__ = [
    "BytesSource",
    "FileObjectSource",
    "FileSource",
    "LocalFileSource",
    "open_source",
    "sampled_fingerprint",
]

_SAMPLE_BLOCK = 4096
_SAMPLE_COUNT = 16


class FileSource(Protocol):
    """A fixed-size byte source. ``read`` raises :class:`SourceChangedError` on a short read."""

    @property
    def name(self) -> str:
        """The file name shown to users and sent to VOD as ``FileName``."""
        ...

    @property
    def identity(self) -> str:
        """What identifies this source across runs (an absolute path when there is one)."""
        ...

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes: ...

    def fingerprint(self) -> str: ...

    def close(self) -> None: ...


def sampled_fingerprint(source: FileSource) -> str:
    """``v1:`` + SHA-256 of the size and up to 16 sampled 4 KiB blocks."""
    digest = hashlib.sha256()
    size = source.size
    digest.update(size.to_bytes(8, "big"))
    if size <= _SAMPLE_BLOCK * _SAMPLE_COUNT:
        digest.update(source.read(0, size))
    else:
        last_offset = size - _SAMPLE_BLOCK
        for index in range(_SAMPLE_COUNT):
            offset = last_offset * index // (_SAMPLE_COUNT - 1)
            digest.update(source.read(offset, _SAMPLE_BLOCK))
    return "v1:" + digest.hexdigest()


def _exactly(data: bytes, length: int, offset: int, what: object) -> bytes:
    """``data`` if it is the whole range asked for; a short read means the file shrank."""
    if len(data) != length:
        raise SourceChangedError(
            f"{what} changed while uploading: wanted {length} bytes at {offset}, got {len(data)}"
        )
    return data


class LocalFileSource:
    """A file on disk, read with ``os.pread`` on one descriptor shared by all threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        resolved = Path(path).expanduser()
        try:
            info = resolved.stat()
        except FileNotFoundError:
            raise SourceError(f"no such file: {resolved}") from None
        except OSError as error:
            raise SourceError(f"cannot read {resolved}: {error.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            raise SourceError(f"is a directory, not a file: {resolved}")
        if not stat.S_ISREG(info.st_mode):
            raise SourceError(f"not a regular file: {resolved}")
        try:
            self._fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            raise SourceError(f"cannot open {resolved}: {error.strerror}") from None
        self._path = resolved.resolve()
        self._size = os.fstat(self._fd).st_size
        self._fingerprint: str | None = None
        self._closed = False

    @property
    def name(self) -> str:
        return self._path.name

    @property
    def identity(self) -> str:
        return str(self._path)

    @property
    def path(self) -> Path:
        return self._path

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if self._closed:
            raise SourceError(f"source closed: {self._path}")
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as error:
            raise SourceChangedError(f"cannot read {self._path}: {error.strerror}") from None
        return _exactly(data, length, offset, self._path)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sampled_fingerprint(self)
        return self._fingerprint

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)


class FileObjectSource:
    """A binary file object the caller opened. Uses ``os.pread`` on its descriptor when it
    has one (the caller's file position is left alone); otherwise seeks under a lock."""

    def __init__(self, file: BinaryIO, name: str | None = None) -> None:
        if isinstance(file, io.TextIOBase):  # type: ignore[unreachable]
            raise SourceError("add_file needs a binary file object (opened with 'rb')")
        if not (hasattr(file, "read") and hasattr(file, "seek")):
            raise SourceError("add_file needs a path or a seekable binary file object")
        self._file = file
        self._lock = threading.Lock()
        self._fd: int | None
        try:
            self._fd = file.fileno()
        except (OSError, AttributeError, io.UnsupportedOperation):
            self._fd = None
        raw_name = name or getattr(file, "name", None)
        self._identity = str(raw_name) if isinstance(raw_name, str) else ""
        self._name = os.path.basename(self._identity) if self._identity else "upload.bin"
        if self._fd is not None:
            self._size = os.fstat(self._fd).st_size
        else:
            with self._lock:
                position = file.tell()
                self._size = file.seek(0, io.SEEK_END)
                file.seek(position)
        self._fingerprint: str | None = None
        if not self._identity:
            # No name to recognise it by across runs: the content sample must do.
            self._identity = "stream:" + self.fingerprint()

    @property
    def name(self) -> str:
        return self._name

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def size(self) -> int:
        return self._size

    def read(self, offset: int, length: int) -> bytes:
        if self._fd is not None:
            data = os.pread(self._fd, length, offset)
        else:
            with self._lock:
                self._file.seek(offset)
                data = self._file.read(length)
        return _exactly(data, length, offset, self._name)

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sampled_fingerprint(self)
        return self._fingerprint

    def close(self) -> None:
        """The caller owns the file object; it stays open."""


class BytesSource:
    """Bytes in memory (tests, and callers that already hold the data)."""

    def __init__(self, data: bytes, name: str = "upload.bin", identity: str | None = None) -> None:
        self._data = bytes(data)
        self._name = name
        self._identity = identity or f"bytes:{name}"
        self._fingerprint: str | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, offset: int, length: int) -> bytes:
        data = self._data[offset : offset + length]
        if len(data) != length:
            raise SourceChangedError(f"short read at {offset} of {self._name}")
        return data

    def replace(self, data: bytes) -> None:
        """Change the content (tests of change detection)."""
        self._data = bytes(data)
        self._fingerprint = None

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = sampled_fingerprint(self)
        return self._fingerprint

    def close(self) -> None:
        pass


def open_source(file: object, name: str | None = None) -> FileSource:
    """A source for what ``add_file`` accepts: a path, a binary file object, or a source."""
    if isinstance(file, str | os.PathLike):
        return LocalFileSource(file)
    if isinstance(file, bytes | bytearray | memoryview):
        return BytesSource(bytes(file), name or "upload.bin")
    if isinstance(file, LocalFileSource | FileObjectSource | BytesSource):
        return file
    if hasattr(file, "read"):
        return FileObjectSource(file, name)  # type: ignore[arg-type]
    raise SourceError(f"add_file needs a path or a binary file object, got {type(file).__name__}")
