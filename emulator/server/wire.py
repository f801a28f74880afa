"""Reading a request off the socket: the head with its limits, then the body.

The socket server's request handler (:mod:`emulator.server.handler`) owns the connection
and the answers; this module only reads and checks bytes, so every limit lives in one place:

- the request line: three words, ``HTTP/1.0`` or ``HTTP/1.1``
  (:func:`parse_request_line`);
- the header block: at most :data:`MAX_HEADERS` lines, no line over 64 KiB and
  ``max_header_bytes`` in total (431 otherwise); a line without a colon, a name with
  spaces or obsolete line folding is 400 (:func:`read_header_fields`);
- the body's framing and reading live in :mod:`emulator.framing` (RFC 9112 strictness)
  and :mod:`emulator.body_memory` (memory that follows the bytes, within a budget);
- the connection's read timeout is the kernel's (:func:`socket_reader`): every read must
  make progress within it, as before, without a ``poll(2)`` ahead of each ``recv``.

Errors: a head that breaks a rule raises :class:`HeadError` (the status and reason to
answer, before anything else is read).
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterable
from io import BufferedIOBase

from emulator.http import Headers
from emulator.oss import xmlutil
from emulator.oss.wire import new_request_id

MAX_HEADERS = 100
# The buffer of a connection's reader: a head is read through it; a read longer than this
# goes straight from the socket into the caller's memory (io.BufferedReader).
READ_BUFFER = 8192
# The longest request line or header line read, plus one byte to detect an overlong one.
MAX_LINE = 65536


class HeadError(Exception):
    """The request head breaks a rule: answer ``status`` with ``message``, then close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


def error_xml(
    status: int, code: str, message: str, host: str, extras: Iterable[xmlutil.Node] = ()
) -> bytes:
    """An OSS error document for an answer the server gives before (or without) the app;
    ``extras`` follow ``HostId`` as further child elements."""
    return xmlutil.render(
        "Error",
        [
            ("Code", code),
            ("Message", message),
            ("RequestId", new_request_id()),
            ("HostId", host),
            *extras,
        ],
    )


def entity_too_large_xml(limit: int, host: str) -> bytes:
    """OSS's ``EntityTooLarge`` for a body over ``max_body_bytes``."""
    return error_xml(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size.",
        host,
        [("MaxSizeAllowed", str(limit))],
    )


_BUSY_BODY = xmlutil.render(
    "Error",
    [
        ("Code", "SlowDown"),
        ("Message", "Too many open connections to the emulator."),
        ("RequestId", "0" * 24),
        ("HostId", ""),
    ],
)
# The whole answer to a connection over ``max_connections``, sent before closing it.
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n"
) + _BUSY_BODY


def parse_request_line(requestline: str) -> tuple[str, str, str]:
    """(method, target, version) of a decoded request line, or :class:`HeadError`."""
    words = requestline.split()
    if len(words) != 3:
        raise HeadError(400, "Bad request syntax")
    command, path, version = words
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise HeadError(505 if version.startswith("HTTP/") else 400, "Bad HTTP version")
    return command, path, version


def read_header_fields(rfile: BufferedIOBase, limit: int) -> Headers:
    """The header block up to its empty line, within the limits above, or :class:`HeadError`.

    Unlike the stdlib's parser it does not run the block through the email package (a
    third of the server's per-request CPU).
    """
    items: list[tuple[str, str]] = []
    total = 0
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            break
        total += len(line)
        if len(line) > MAX_LINE or total > limit or len(items) >= MAX_HEADERS:
            raise HeadError(431, "Request header fields too large")
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon or not name or name != name.strip() or name[0] in " \t":
            raise HeadError(400, "Bad header line")
        items.append((name, value.strip()))
    return Headers(items)


class _SocketReader(io.RawIOBase):
    """A connection's raw input for :func:`socket_reader`.

    A read longer than :data:`READ_BUFFER` is one the buffered reader above wants whole
    (``read(n)``/``readinto`` of a body; its own refills are never longer), so it asks the
    kernel for all of it at once (``MSG_WAITALL``): one ``recv`` per body instead of one
    per arriving segment, each of which would drop and retake the GIL. The kernel's
    receive timeout (``SO_RCVTIMEO``) still ends a read that makes no progress; it
    surfaces as :class:`TimeoutError`, as a socket timeout did.
    """

    def __init__(self, connection: socket.socket) -> None:
        super().__init__()
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        flags = socket.MSG_WAITALL if len(buffer) > READ_BUFFER else 0
        try:
            return self._connection.recv_into(buffer, 0, flags)
        except BlockingIOError as error:  # SO_RCVTIMEO expired with nothing read
            raise TimeoutError("the client sent nothing within the read timeout") from error


def socket_reader(connection: socket.socket, timeout: float) -> io.BufferedReader:
    """A buffered reader of ``connection`` whose reads each wait at most ``timeout``.

    The timeout is set in the kernel (``SO_RCVTIMEO``, and ``SO_SNDTIMEO`` for writes)
    and the socket stays blocking for Python: a Python-level timeout makes every ``recv``
    and ``send`` a ``poll`` plus the call, each releasing the GIL. A send that times out
    raises ``BlockingIOError`` (an :class:`OSError`)."""
    seconds = max(timeout, 0.001)
    whole = int(seconds)
    value = struct.pack("@ll", whole, int((seconds - whole) * 1_000_000))
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
    return io.BufferedReader(_SocketReader(connection), READ_BUFFER)
