"""Enacting transport effects on a connection: what a fault does to the socket itself.

The request handler (:mod:`emulator.server.handler`) decides *which* effect applies (from
``Response.transport``); this module performs the socket-level part:

- :func:`reset_connection`: close with SO_LINGER 0, so the peer sees a real RST
  (``RESET_BEFORE_BODY``, ``RESET_AFTER_BODY``);
- :func:`close_without_answer`: a FIN with no answer (``STALL`` after its wait,
  ``DROP_AFTER_COMMIT``, and every body cut short);
- :func:`send_truncated`: only the first ``truncate_at`` body bytes (``TRUNCATE``);
- :func:`send_throttled`: the body at ``bytes_per_second`` (``THROTTLE``), in ticks of
  :data:`THROTTLE_TICK` seconds.

The two closes swallow the ``OSError`` of a peer that is already gone; the sends let it
propagate to the handler, which ends the connection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable, Iterable
from io import BufferedIOBase

THROTTLE_TICK = 0.05


def reset_connection(connection: socket.socket) -> None:
    """Reset the connection: SO_LINGER 0 makes close() send RST, not FIN."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    except OSError:
        pass


def close_without_answer(connection: socket.socket) -> None:
    """Close without answering (FIN)."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def send_truncated(wfile: BufferedIOBase, chunks: Iterable[bytes], truncate_at: int) -> None:
    """Write the first ``truncate_at`` bytes of the body (the caller then closes)."""
    remaining = max(truncate_at, 0)
    for chunk in chunks:
        if remaining <= 0:
            break
        piece = chunk[:remaining]
        wfile.write(piece)
        remaining -= len(piece)


def send_throttled(
    wfile: BufferedIOBase,
    chunks: Iterable[bytes],
    bytes_per_second: int,
    wait: Callable[[float], bool],
) -> bool:
    """Write the body at ``bytes_per_second``, pausing with ``wait(seconds)``.

    ``wait`` returns True when the server is stopping; the send then ends early and this
    returns False (the caller closes the connection). True when the whole body was sent.
    """
    rate = max(bytes_per_second, 1)
    step = max(int(rate * THROTTLE_TICK), 1)
    started = time.monotonic()
    sent = 0
    for chunk in chunks:
        view = memoryview(chunk)
        for offset in range(0, len(view), step):
            piece = view[offset : offset + step]
            wfile.write(piece)
            sent += len(piece)
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0 and wait(ahead):
                return False
    return True


def as_chunks(body: bytes | Iterable[bytes]) -> Iterable[bytes]:
    """A response body as an iterable of byte strings (one for an in-memory body)."""
    if isinstance(body, bytes | bytearray | memoryview):
        return (bytes(body),)
    return body


def close_body(body: object) -> None:
    """Close a streamed response body (an object reader); in-memory bodies need nothing."""
    close = getattr(body, "close", None)
    if callable(close) and not isinstance(body, bytes | bytearray | memoryview):
        close()
