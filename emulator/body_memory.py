"""Memory for request bodies: nothing before the bytes arrive, and a bound on the total
(EMU-SEC-001).

Two rules, both by construction rather than by measurement:

1. **Allocation follows arrival.** A large body is read into an anonymous mapping made
   *without* ``MAP_POPULATE``: the kernel gives it memory only for pages written, so a
   request announcing 1 GiB and sending nothing costs address space, not memory. Once bytes
   arrive, the next window of at most :data:`WINDOW` bytes is pre-faulted in one call
   (``MADV_POPULATE_WRITE``), which keeps the cheap single-call population the server had
   without ever committing more than one window ahead of the
   data. A small body (below :data:`MAPPED_BODY_MIN`), or one of at most a window that
   goes to disk, is read as ``bytes`` as before.
2. **A budget for bodies in flight.** Before a body is read, its announced length is
   reserved in the server's :class:`BodyBudget`; a request that does not fit now is
   answered ``503 SlowDown`` (clients retry it), one that could never fit gets the
   service's "too large" error, and the reservation is released when the request ends.
   So the memory all bodies in flight can hold is at most the budget, whatever clients
   announce. The socket server also authenticates an OSS request from its head alone
   before reserving anything (:func:`emulator.oss.responses.admit_oss`).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from io import BufferedIOBase

# Bodies from this size up go into an anonymous mapping (page-rounding waste under 2 %).
MAPPED_BODY_MIN = 256 * 1024
# Pre-faulted at most this far ahead of the bytes received.
WINDOW = 8 * 1024 * 1024
# madvise(2) advice value on Linux (uapi asm-generic/mman-common.h); the mmap module of
# Python 3.11 does not name it. Older kernels answer EINVAL and pages fault in as written.
_MADV_POPULATE_WRITE = 23
_FALLBACK_BUDGET = 4 * 1024**3


class ClientStoppedShort(Exception):
    """The client closed the connection before the announced body arrived."""


def default_budget() -> int:
    """Half of physical memory (4 GiB when it cannot be read): bodies in flight may use
    that much, and the rest of the machine keeps the other half."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return _FALLBACK_BUDGET
    return max(total // 2, 64 * 1024 * 1024)


class BodyBudget:
    """Bytes that bodies in flight may hold, shared by every connection of a server.

    :meth:`reserve` takes ``n`` bytes or nothing (never waits); :meth:`release` gives them
    back. Thread-safe.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the body budget must be at least one byte")
        self.limit = limit
        self._used = 0
        self._peak = 0
        self._lock = threading.Lock()

    def reserve(self, size: int) -> bool:
        if size < 0:
            raise ValueError("size must be >= 0")
        with self._lock:
            if self._used + size > self.limit:
                return False
            self._used += size
            self._peak = max(self._peak, self._used)
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self._used = max(self._used - size, 0)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used

    @property
    def peak(self) -> int:
        """The most ever reserved at once (for tests and the benchmark)."""
        with self._lock:
            return self._peak


class Reservation:
    """What one request holds of a :class:`BodyBudget`; :meth:`release` returns it all."""

    def __init__(self, budget: BodyBudget) -> None:
        self._budget = budget
        self.held = 0

    def take(self, size: int) -> bool:
        """Reserve ``size`` more bytes, or nothing (False) when the budget is short."""
        if not self._budget.reserve(size):
            return False
        self.held += size
        return True

    def release(self) -> None:
        self._budget.release(self.held)
        self.held = 0


def read_sized_body(rfile: BufferedIOBase, length: int, *, kept: bool) -> bytes | mmap.mmap:
    """Exactly ``length`` bytes, allocated as they arrive (module docstring, rule 1), or
    :class:`ClientStoppedShort`.

    ``kept``: the body stays in memory (the in-memory blob store). A body that is written
    to disk and dropped, and is at most one :data:`WINDOW`, is read as ``bytes``: malloc
    then reuses the memory of earlier bodies, which costs no page faults at all, and one
    window is all a request may hold before its bytes arrive."""
    if length < MAPPED_BODY_MIN or (not kept and length <= WINDOW):
        body = rfile.read(length) if length else b""
        if len(body) != length:
            raise ClientStoppedShort("body shorter than Content-Length")
        return body
    buffer = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    view = memoryview(buffer)
    try:
        filled = 0
        populated = 0
        while filled < length:
            # Read at most up to the end of the populated window, so a read never faults
            # pages of a window that was not asked for.
            limit = min(length, max(populated, filled + mmap.PAGESIZE))
            count = rfile.readinto(view[filled:limit])
            if not count:
                raise ClientStoppedShort("body shorter than Content-Length")
            filled += count
            if filled >= populated and filled < length:
                populated = _populate(buffer, filled, length)
    except BaseException:
        view.release()
        buffer.close()
        raise
    view.release()
    return buffer


def _populate(buffer: mmap.mmap, start: int, length: int) -> int:
    """Pre-fault the window after ``start`` (page-aligned); returns where it ends."""
    aligned = start - start % mmap.PAGESIZE
    end = min(length, aligned + WINDOW)
    # An older kernel refuses the advice: the pages then fault in as they are written.
    with contextlib.suppress(OSError, ValueError):
        buffer.madvise(_MADV_POPULATE_WRITE, aligned, end - aligned)
    return end
