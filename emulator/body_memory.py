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

A body that is written to disk and dropped (``--data-dir``) is read into a mapping lent
by :class:`BodyBuffers` and handed back when the request ends, so the next body of the
same size reuses pages already faulted in: fresh pages are the dearest part of taking a
body in (the kernel zeroes each one; on a virtual machine the host may fault it in too).
The pool keeps at most :data:`IDLE_BUFFER_BYTES` idle, on top of the budget, which still
bounds what bodies in flight hold. The mapping is page-aligned, which is also what lets
:class:`emulator.blobs.DiskBlobStore` write it with ``O_DIRECT``.
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
# Idle mappings kept for reuse by a BodyBuffers pool (module docstring).
IDLE_BUFFER_BYTES = 64 * 1024 * 1024


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


class BodyBuffers:
    """Anonymous mappings lent to bodies that are dropped after the request (module
    docstring). :meth:`take` lends one of exactly the asked length, reused when an idle
    one of that length is at hand; :meth:`give_back` returns it, and it is kept while the
    idle ones total at most ``idle_limit`` bytes (else unmapped). The borrower must hold
    no reference to it after giving it back. Thread-safe."""

    def __init__(self, idle_limit: int = IDLE_BUFFER_BYTES) -> None:
        self.idle_limit = idle_limit
        self._idle: dict[int, list[mmap.mmap]] = {}
        self._idle_bytes = 0
        self._lock = threading.Lock()

    def take(self, length: int) -> tuple[mmap.mmap, bool]:
        """(a mapping of ``length`` bytes, whether its pages are already faulted in)."""
        with self._lock:
            idle = self._idle.get(length)
            if idle:
                self._idle_bytes -= length
                return idle.pop(), True
        return mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS), False

    def give_back(self, buffer: mmap.mmap) -> None:
        length = len(buffer)
        with self._lock:
            if self._idle_bytes + length <= self.idle_limit:
                self._idle.setdefault(length, []).append(buffer)
                self._idle_bytes += length
                return
        buffer.close()

    @property
    def idle_bytes(self) -> int:
        with self._lock:
            return self._idle_bytes


def read_sized_body(
    rfile: BufferedIOBase, length: int, *, kept: bool, buffers: BodyBuffers | None = None
) -> bytes | mmap.mmap:
    """Exactly ``length`` bytes, allocated as they arrive (module docstring, rule 1), or
    :class:`ClientStoppedShort`.

    ``kept``: the body stays in memory (the in-memory blob store). A body that is written
    to disk and dropped comes from ``buffers`` when given (the caller gives it back when
    the request ends); without a pool, one of at most one :data:`WINDOW` is read as
    ``bytes`` (malloc reuses the memory of earlier bodies)."""
    pooled = not kept and buffers is not None
    if length < MAPPED_BODY_MIN or (not kept and not pooled and length <= WINDOW):
        body = rfile.read(length) if length else b""
        if len(body) != length:
            raise ClientStoppedShort("body shorter than Content-Length")
        return body
    if pooled:
        assert buffers is not None
        buffer, faulted = buffers.take(length)
    else:
        buffer = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        faulted = False
    view = memoryview(buffer)
    try:
        filled = 0
        populated = length if faulted else 0
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
        if pooled:
            assert buffers is not None
            buffers.give_back(buffer)
        else:
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
