"""How many connections the socket server may hold, from the process's descriptor limit
(EMU-SEC-011).

Every held connection is one descriptor, and a request in flight in ``--data-dir`` mode
may hold a second (the blob it writes). The listening socket, SQLite (database, WAL,
shared memory), standard streams and the descriptor that accepts a refused connection to
tell it ``503 SlowDown`` need a few more. If the server held connections up to the limit,
``accept()`` would fail with ``EMFILE`` while the listening socket stays readable: the
accept loop would spin at full CPU and new clients would time out instead of hearing that
the server is busy. So the server holds at most::

    (soft RLIMIT_NOFILE - RESERVED_DESCRIPTORS) // DESCRIPTORS_PER_CONNECTION

connections (and never more than asked for); the next one is answered ``503 SlowDown``
and closed. Should ``accept()`` still fail for want of descriptors (something else in the
process holds them), the loop waits :data:`EMFILE_BACKOFF_SECONDS` before trying again
instead of spinning.
"""

from __future__ import annotations

import errno
import resource

RESERVED_DESCRIPTORS = 32
DESCRIPTORS_PER_CONNECTION = 2
EMFILE_BACKOFF_SECONDS = 0.05
DEFAULT_MAX_CONNECTIONS = 1024
# accept() errors that mean "out of descriptors or memory": wait, do not spin.
EXHAUSTION_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def soft_descriptor_limit() -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else int(soft)


def connection_limit(requested: int | None = None, *, descriptors: int | None = None) -> int:
    """The most connections to hold: ``requested`` (default 1024), lowered to what the
    descriptor limit allows (at least 1)."""
    available = soft_descriptor_limit() if descriptors is None else descriptors
    allowed = max((available - RESERVED_DESCRIPTORS) // DESCRIPTORS_PER_CONNECTION, 1)
    wanted = DEFAULT_MAX_CONNECTIONS if requested is None else requested
    return max(min(wanted, allowed), 1)
