"""Fault effects: the one list of what a fault can do, the decision the engine hands
out, and the socket-level part of enacting it.

:class:`EffectType` names every effect (an ``ERROR`` answer and the transport effects).
The engine (:mod:`emulator.faults.engine`) answers each request with a
:class:`FaultDecision`: an :class:`ErrorEffect` the app answers in the service's own
format without running the operation, or a :class:`TransportEffect` that rides back on
``Response.transport`` for the socket server (:mod:`emulator.server.handler`) or the
in-process adapter (:mod:`emulator.inprocess`) to enact. Anything that decides faults
implements :class:`FaultHook`.

On a real socket the handler decides *which* transport effect applies; the functions
here perform it:

- :func:`reset_connection`: close with SO_LINGER 0, so the peer sees a real RST
  (``RESET_BEFORE_BODY``, ``RESET_AFTER_BODY``);
- :func:`close_without_answer`: a FIN with no answer (``STALL`` after its wait,
  ``DROP_AFTER_COMMIT``, and every body cut short);
- :func:`send_truncated`: only the first ``truncate_at`` body bytes (``TRUNCATE``);
- :func:`send_throttled`: the body at ``bytes_per_second`` (``THROTTLE``), in ticks of
  :data:`THROTTLE_TICK` seconds.

The two closes swallow the ``OSError`` of a peer that is already gone; the sends let it
propagate to the handler, which ends the connection. A :class:`TransportEffect` built
with ``EffectType.ERROR`` raises ``ValueError``: an error is an :class:`ErrorEffect`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from io import BufferedIOBase
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from emulator.http import OperationInfo


class EffectType(str, Enum):
    """Every effect a fault can have (the JSON ``type`` of an effect)."""

    ERROR = "error"  # answer a service error without running the operation
    DELAY = "delay"  # wait ``seconds`` then answer normally
    RESET_BEFORE_BODY = "reset_before_body"  # close the socket before reading the body
    RESET_AFTER_BODY = "reset_after_body"  # read the body, do nothing, close the socket
    STALL = "stall"  # send nothing for ``seconds`` (then close), a hung server
    THROTTLE = "throttle"  # send the response body at ``bytes_per_second``
    TRUNCATE = "truncate"  # send the headers, ``truncate_at`` body bytes, then close
    DROP_AFTER_COMMIT = "drop_after_commit"  # apply the operation, then close unanswered


# The transport effects that close the connection without sending a status line (the
# request log records them with status 0).
UNANSWERED = frozenset(
    {
        EffectType.RESET_BEFORE_BODY,
        EffectType.RESET_AFTER_BODY,
        EffectType.STALL,
        EffectType.DROP_AFTER_COMMIT,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportEffect:
    """A transport effect (any :class:`EffectType` but ``ERROR``) with its parameters."""

    action: EffectType
    seconds: float = 0.0
    bytes_per_second: int = 0
    truncate_at: int = 0

    def __post_init__(self) -> None:
        if self.action is EffectType.ERROR:
            raise ValueError("an error is an ErrorEffect, not a TransportEffect")


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorEffect:
    """Answer with this service error instead of running the operation."""

    status: int
    code: str
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultDecision:
    fault_id: str
    error: ErrorEffect | None = None
    transport: TransportEffect | None = None


class FaultHook(Protocol):
    def decide(self, info: OperationInfo, *, now: float) -> FaultDecision | None:
        """The fault to apply to this request, if any (records the hit)."""
        ...


class NoFaults:
    """The fault hook of a state with no fault engine installed."""

    def decide(self, info: OperationInfo, *, now: float) -> FaultDecision | None:
        return None


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
