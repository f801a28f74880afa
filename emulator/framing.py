"""HTTP/1.1 message framing, as strict as RFC 9112 §6 asks of a server (EMU-SEC-010).

A request's body length must be unambiguous, or a proxy in front of the emulator and the
emulator itself could disagree about where one request ends and the next begins (request
smuggling). So, refused with ``400`` and the connection closed afterwards:

- ``Content-Length`` that is not one run of ASCII digits (``1\\xb9``, ``+1``, ``1, 1``,
  20 digits), or that appears more than once, even with equal values;
- ``Content-Length`` together with ``Transfer-Encoding`` (RFC 9112 §6.3 allows a server
  to reject it, and real front ends do);
- a ``Transfer-Encoding`` whose last coding is not ``chunked``;
- chunked framing that breaks the grammar: a size that is not 1-16 hex digits (``0x2``,
  ``-1``, ``zz``, other scripts' digits), chunk data longer or shorter than its size,
  missing CRLFs, trailers that do not end.

A coding before ``chunked`` that the emulator does not implement (``gzip, chunked``) is
``501``, as RFC 9112 §6.1 says. The caller answers each :class:`FramingError` with its
status before closing the connection; only a client that disappears mid-body
(:class:`ClientStoppedShort`) gets no answer, because nobody is left to read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from io import BufferedIOBase

from emulator.body_memory import ClientStoppedShort
from emulator.http import Headers
from emulator.numbers import parse_decimal

MAX_CHUNK_LINE = 1024
MAX_TRAILER_LINE = 8192
MAX_TRAILERS = 100
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class FramingError(Exception):
    """The request's framing breaks RFC 9112: answer ``status`` and close."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Framing:
    """How the body is delimited: ``length`` bytes, or chunked (``length`` is None)."""

    length: int | None
    chunked: bool


def body_framing(headers: Headers) -> Framing:
    """The body framing the headers announce, or :class:`FramingError`."""
    lengths = headers.get_all("Content-Length")
    encodings = [
        coding.strip().lower()
        for value in headers.get_all("Transfer-Encoding")
        for coding in value.split(",")
    ]
    if encodings:
        if lengths:
            raise FramingError(400, "Content-Length and Transfer-Encoding together")
        if encodings[-1] != "chunked" or encodings.count("chunked") != 1:
            raise FramingError(400, "Transfer-Encoding must end with one chunked coding")
        if len(encodings) > 1:
            raise FramingError(501, "Unsupported Transfer-Encoding")
        return Framing(length=None, chunked=True)
    if not lengths:
        return Framing(length=0, chunked=False)
    if len(lengths) > 1:
        raise FramingError(400, "Duplicate Content-Length")
    length = parse_decimal(lengths[0].strip())
    if length is None:
        raise FramingError(400, "Invalid Content-Length")
    return Framing(length=length, chunked=False)


def read_chunked_body(
    rfile: BufferedIOBase, limit: int, reserve: Callable[[int], bool]
) -> bytes | None:
    """A chunked body, trailers skipped; None as soon as it grows past ``limit`` or
    ``reserve(n)`` (the body budget) refuses the next chunk's ``n`` bytes.

    A grammar error raises :class:`FramingError`; a client that stops mid-body raises
    :class:`ClientStoppedShort`.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        size = _chunk_size(_line(rfile, MAX_CHUNK_LINE))
        if size == 0:
            break
        total += size
        if total > limit or not reserve(size):
            return None
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise ClientStoppedShort("chunk shorter than its size")
        if _line(rfile, 2) not in (b"\r\n", b"\n"):
            raise FramingError(400, "Chunk data longer than its size")
        chunks.append(chunk)
    for _ in range(MAX_TRAILERS):
        if _line(rfile, MAX_TRAILER_LINE) in (b"\r\n", b"\n"):
            return b"".join(chunks)
    raise FramingError(400, "Too many trailer fields")


def _line(rfile: BufferedIOBase, limit: int) -> bytes:
    line = rfile.readline(limit + 1)
    if not line:
        raise ClientStoppedShort("the connection ended inside the chunked framing")
    if not line.endswith(b"\n") or len(line) > limit:
        raise FramingError(400, "Malformed chunked framing")
    return line


def _chunk_size(line: bytes) -> int:
    size_text = line.split(b";", 1)[0].strip(b" \t\r\n")
    if not _CHUNK_SIZE.fullmatch(size_text):
        raise FramingError(400, "Invalid chunk size")
    return int(size_text, 16)
