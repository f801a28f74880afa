"""Reading a request off the socket: the head with its limits, then the body.

The socket server's request handler (:mod:`emulator.server.handler`) owns the connection
and the answers; this module only reads and checks bytes, so every limit lives in one place:

- the request line: three words, ``HTTP/1.0`` or ``HTTP/1.1``
  (:func:`parse_request_line`);
- the header block: at most :data:`MAX_HEADERS` lines, no line over 64 KiB and
  ``max_header_bytes`` in total (431 otherwise); a line without a colon, a name with
  spaces or obsolete line folding is 400 (:func:`read_header_fields`);
- the body: ``Content-Length`` must be digits (:func:`parse_content_length`); a chunked
  body is read up to the size limit (:func:`read_chunked_body`).

Errors: a head that breaks a rule raises :class:`HeadError` (the status and reason to
answer, before anything else is read); a client that vanishes or sends garbage mid-body
raises :class:`ClientGone` (nothing can be answered; the connection just closes).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable
from io import BufferedIOBase

from emulator.http import Body, Headers
from emulator.oss import xmlutil
from emulator.oss.wire import new_request_id

MAX_CHUNK_LINE = 1024
MAX_HEADERS = 100
# The longest request line or header line read, plus one byte to detect an overlong one.
MAX_LINE = 65536
# Sized bodies from this size up are read into a pre-faulted anonymous mmap when they will
# be kept in memory (see read_sized_body); below it, into bytes. 256 KiB keeps the
# page-rounding waste under 2 %.
MMAP_BODY_MIN = 256 * 1024
_POPULATED = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)


class ClientGone(Exception):
    """The client closed the connection or sent something unparseable mid-body."""


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


def parse_content_length(raw_length: str) -> int | None:
    """The body length a ``Content-Length`` value announces, or None when it is not digits."""
    raw_length = raw_length.strip()
    if not raw_length.isdigit():
        return None
    return int(raw_length)


def read_sized_body(rfile: BufferedIOBase, length: int, *, kept: bool = False) -> Body:
    """Exactly ``length`` bytes, or :class:`ClientGone` when the client stops short.

    ``kept``: the body will stay in memory (the in-memory blob store). Then a large body
    goes into an anonymous mmap made with ``MAP_POPULATE``: every kept body lands in fresh
    memory, and faulting it in page by page during ``recv`` cost ~0.4 CPU-s/GiB here;
    populating the whole mapping in one call costs ~0.25. A body written to disk and
    dropped stays ``bytes``: malloc then reuses the freed memory of earlier bodies, which
    costs no faults at all.
    """
    buffer = _populated_buffer(length) if kept and length >= MMAP_BODY_MIN else None
    if buffer is None:
        body = rfile.read(length) if length else b""
        if len(body) != length:
            raise ClientGone("body shorter than Content-Length")
        return body
    view = memoryview(buffer)
    try:
        filled = 0
        while filled < length:
            count = rfile.readinto(view[filled:])
            if not count:
                raise ClientGone("body shorter than Content-Length")
            filled += count
    finally:
        view.release()
    return buffer


def _populated_buffer(length: int) -> mmap.mmap | None:
    """A pre-faulted anonymous mapping, or None when the kernel refuses one (each mapping is
    a VMA, and ``vm.max_map_count`` is 65,530 by default): the body is then read as bytes,
    slower but never an error."""
    try:
        return mmap.mmap(-1, length, flags=_POPULATED)
    except OSError:
        return None


def read_chunked_body(rfile: BufferedIOBase, limit: int) -> bytes | None:
    """A chunked body (trailers skipped), or None as soon as it grows past ``limit``.

    A malformed or cut-short chunk raises :class:`ClientGone`.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_CHUNK_LINE:
            raise ClientGone("bad chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ClientGone("bad chunk size") from None
        if size < 0:
            raise ClientGone("negative chunk size")
        if size == 0:
            break
        total += size
        if total > limit:
            return None
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise ClientGone("truncated chunk")
        chunks.append(chunk)
    for _ in range(100):  # trailers, ignored
        trailer = rfile.readline(MAX_LINE + 1)
        if trailer in (b"\r\n", b"\n", b""):
            break
    return b"".join(chunks)
