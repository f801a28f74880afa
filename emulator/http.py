"""Transport-neutral HTTP request and response values.

The emulator's app is a plain callable ``Request -> Response``. The socket server
(:mod:`emulator.server`) and the in-process adapters both translate to and from these
types, so every service sees exactly the same thing whichever way a client arrived.

Raw forms are kept on purpose: signatures are computed over the bytes the client sent
(percent-encoding, header case and order), so nothing here normalises them away.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

if TYPE_CHECKING:
    from emulator.faults.effects import TransportEffect


class Headers:
    """An ordered, case-insensitive multi-map of header names to values."""

    __slots__ = ("_all", "_items")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = [(k, v) for k, v in items]
        # Lower-cased name -> every value in order, built on first lookup: a request's
        # headers are looked up dozens of times (auth, routing, conditions) and never
        # change, so each name is lower-cased once.
        self._all: dict[str, list[str]] | None = None

    def _index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for key, value in self._items:
            lowered = key.lower()
            values = index.get(lowered)
            if values is None:
                index[lowered] = [value]
            else:
                values.append(value)
        self._all = index
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        values = (self._all or self._index()).get(name.lower())
        return default if values is None else values[0]

    def get_all(self, name: str) -> list[str]:
        return list((self._all or self._index()).get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


# A request body: ``bytes``, or for a large sized body an anonymous ``mmap`` the socket
# server read it into (see :func:`emulator.body_memory.read_sized_body`). Data
# operations hash and store either as is; anything that parses a body uses
# :meth:`Request.body_bytes`.
Body = bytes | mmap.mmap


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One HTTP request as the client sent it.

    ``raw_path`` is the percent-encoded path exactly as on the request line (for a proxy
    request, the path part of the absolute URI); ``raw_query`` is everything after ``?``
    without decoding. ``host`` is the Host header (or the authority of an absolute URI).
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Headers
    body: Body
    host: str
    scheme: str = "http"
    client_address: str = "127.0.0.1"
    via_proxy: bool = False
    # What is derived from the fields above, computed once per request: routing, the fault
    # engine, the request log and the handler each read the query, and an RPC request's
    # parameters were parsed four times (half the emulator's CPU for a CreateUploadVideo).
    # Not an __init__ argument, so dataclasses.replace() starts a fresh one.
    memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def path(self) -> str:
        """The decoded path."""
        return unquote(self.raw_path)

    @property
    def query(self) -> list[tuple[str, str]]:
        """Decoded query pairs in order; a bare key (``?uploads``) has the value ``""``."""
        pairs: tuple[tuple[str, str], ...] | None = self.memo.get("query")
        if pairs is None:
            pairs = self.memo["query"] = tuple(parse_qsl(self.raw_query, keep_blank_values=True))
        return list(pairs)

    def query_dict(self) -> dict[str, str]:
        """Decoded query as a dict; the first occurrence of a repeated key wins."""
        result: dict[str, str] = {}
        for key, value in self.query:
            result.setdefault(key, value)
        return result

    def body_bytes(self) -> bytes:
        """The body as ``bytes`` (a copy only when it sits in an ``mmap``)."""
        body = self.body
        return body if isinstance(body, bytes) else body[:]

    @property
    def base_url(self) -> str:
        """``scheme://host`` as the client addressed this server."""
        return f"{self.scheme}://{self.host}"


@dataclass(slots=True, kw_only=True)
class Response:
    """What the app answers. ``body`` may be an iterable of chunks for large objects.

    ``content_length`` must be set when ``body`` is an iterable (the socket server then
    streams it); for ``bytes`` it is derived.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Iterable[bytes] = b""
    content_length: int | None = None
    # A transport-level fault for the server or in-process adapter to enact
    # (see emulator.faults.effects).
    transport: TransportEffect | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def set_header(self, name: str, value: str) -> None:
        lowered = name.lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != lowered]
        self.headers.append((name, value))

    def body_bytes(self) -> bytes:
        """The whole body (joins chunks; for tests and in-process adapters)."""
        if isinstance(self.body, bytes | bytearray | memoryview):
            return bytes(self.body)
        return b"".join(self.body)


# What the fault engine (emulator.faults, installed as ``state.faults``) and the request
# log need to know about a request, before its body is read.


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationInfo:
    """What a request is, as far as fault matching and request records care.

    ``service`` is ``"oss"``, ``"vod"``, ``"sts"`` or ``"control"``; ``operation`` the API
    name (``"UploadPart"``, ``"CompleteMultipartUpload"``, ``"CreateUploadVideo"``, ...,
    or ``"Unknown"``).
    """

    service: str
    operation: str
    bucket: str | None = None
    key: str | None = None
    part_number: int | None = None
