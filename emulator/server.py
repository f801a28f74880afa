"""The socket server: stdlib ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive) around an App.

Why the stdlib server: it measured fastest here for 1 MiB bodies at the lowest server
CPU per byte (perf-reliability.md §2.5). Bodies are read with ``rfile.read(n)`` into
``bytes`` (``readinto`` a ``bytearray`` is 4x slower on this Zen3 host).

Per request:

1. parse the request line and headers (bounded sizes; a read timeout defeats slowloris);
   an absolute-URI request line (HTTP proxy form) is accepted for ``*.aliyuncs.com``
   hosts only and is answered locally, never forwarded;
2. build a :class:`Request` with an empty body, ``app.classify`` it and ask the fault hook
   once; ``RESET_BEFORE_BODY`` resets the connection (SO_LINGER 0, a real RST);
3. read the body (``Content-Length`` or chunked), call ``app.handle(decided=True)``;
4. write the response, enacting ``Response.transport`` (DELAY, STALL, THROTTLE, TRUNCATE,
   RESET_AFTER_BODY, DROP_AFTER_COMMIT).

:class:`ThreadedServer` runs it in a background thread for tests: ``start()`` binds
(127.0.0.1, port 0 by default) and returns once serving, signalled by an Event.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from emulator.app import App, ControlHandler, create_app
from emulator.http import (
    FaultDecision,
    Headers,
    Request,
    Response,
    TransportAction,
    TransportEffect,
)
from emulator.oss import xmlutil
from emulator.oss.wire import new_request_id

if TYPE_CHECKING:
    from emulator.state import EmulatorState

log = logging.getLogger("emulator.server")

_MAX_CHUNK_LINE = 1024
_THROTTLE_TICK = 0.05
_COALESCE_LIMIT = 64 * 1024
_MAX_HEADERS = 100


class _ClientGone(Exception):
    """The client closed the connection or sent something unparseable mid-body."""


def _error_xml(status: int, code: str, message: str, host: str) -> bytes:
    return xmlutil.render(
        "Error",
        [
            ("Code", code),
            ("Message", message),
            ("RequestId", new_request_id()),
            ("HostId", host),
        ],
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
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n"
) + _BUSY_BODY


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its app and tracks open connections so
    :meth:`close_connections` can end keep-alive and stalled connections at shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        *,
        read_timeout: float = 60.0,
        max_connections: int = 1024,
    ) -> None:
        self.app = app
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to ``max_connections``; beyond that a connection
        gets ``503 SlowDown`` and is closed, so a flood cannot exhaust threads."""
        with self._connections_lock:
            full = len(self._connections) >= self.max_connections
            if not full:
                self._connections.add(request)
        if full:
            with contextlib.suppress(OSError):
                request.sendall(_BUSY_RESPONSE)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("connection from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: a response is one or a few sends; never let Nagle hold the last one.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    _headers_buffer: list[bytes]  # created by send_response_only (stdlib internals)
    request_headers: Headers
    server_version = "AliyunOSS"
    sys_version = ""
    # Methods are all dispatched by handle_one_request; this silences the stdlib lookup.
    error_content_type = "application/xml"
    _ABSOLUTE_PREFIXES: ClassVar[tuple[str, ...]] = ("http://", "https://")

    def setup(self) -> None:
        # StreamRequestHandler applies ``timeout`` to the socket: every recv (request
        # line, headers, body) must make progress within it, which bounds slowloris.
        self.timeout = self.server.read_timeout  # type: ignore[misc]
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- request line and errors --------------------------------------------------------

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self._serve()
        except (TimeoutError, ConnectionError, _ClientGone):
            self.close_connection = True
        except OSError:
            self.close_connection = True

    def parse_request(self) -> bool:
        """Parse the request line and headers into ``request_headers``.

        Replaces the stdlib's version, which runs every header block through the email
        package (a third of the server's per-request CPU). Limits: at most
        ``_MAX_HEADERS`` lines and ``max_header_bytes`` in total (431 otherwise); a line
        without a colon, a name with spaces or obsolete line folding is 400. Unlike the
        stdlib it never rewrites a path starting with ``//``: keys are data.
        """
        self.command = ""
        self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.request_headers = Headers()
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if len(words) != 3:
            self.send_error(400, "Bad request syntax")
            return False
        command, path, version = words
        if version not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(505 if version.startswith("HTTP/") else 400, "Bad HTTP version")
            return False
        self.command, self.path, self.request_version = command, path, version
        limit = self.server.app.state.config.max_header_bytes
        items: list[tuple[str, str]] = []
        total = 0
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            total += len(line)
            if len(line) > 65536 or total > limit or len(items) >= _MAX_HEADERS:
                self.send_error(431, "Request header fields too large")
                return False
            name, colon, value = line.decode("iso-8859-1").partition(":")
            if not colon or not name or name != name.strip() or name[0] in " \t":
                self.send_error(400, "Bad header line")
                return False
            items.append((name, value.strip()))
        headers = Headers(items)
        self.request_headers = headers
        connection = (headers.get("Connection") or "").lower()
        self.close_connection = connection == "close" or (
            version == "HTTP/1.0" and connection != "keep-alive"
        )
        if (headers.get("Expect") or "").lower() == "100-continue" and version == "HTTP/1.1":
            self.send_response_only(100)
            self.end_headers()
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, oversize headers) as OSS error XML."""
        reason = self.responses.get(code, ("Error", ""))[0]
        body = _error_xml(
            code,
            reason.replace(" ", ""),
            message or reason,
            getattr(self, "request_headers", Headers()).get("Host") or "",
        )
        # A request line too broken to parse leaves request_version at HTTP/0.9, for which
        # the stdlib omits the status line; every client here speaks HTTP/1.x.
        self.request_version = "HTTP/1.1"
        try:
            self.send_response_only(code, reason)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", "") != "HEAD":
                self.wfile.write(body)
        except OSError:
            pass
        self.close_connection = True

    # -- one request ------------------------------------------------------------------

    def _target(self) -> tuple[str, str, str, bool] | None:
        """(host, raw_path, raw_query, via_proxy), or None after answering an error."""
        target = self.path
        via_proxy = target.startswith(self._ABSOLUTE_PREFIXES)
        if via_proxy:
            parts = urlsplit(target)
            host = parts.netloc
            hostname = (parts.hostname or "").lower()
            if not hostname.endswith(".aliyuncs.com"):
                self._simple_error(
                    403,
                    "AccessDenied",
                    "The emulator answers proxy requests for *.aliyuncs.com only and never "
                    "forwards them.",
                )
                return None
            raw_path, raw_query = parts.path or "/", parts.query
        else:
            host = self.request_headers.get("Host") or "{}:{}".format(
                *self.server.server_address[:2]
            )
            raw_path, _, raw_query = target.partition("?")
        if not raw_path.startswith("/"):
            self._simple_error(400, "InvalidURI", "Couldn't parse the specified URI.")
            return None
        return host, raw_path, raw_query, via_proxy

    def _simple_error(self, status: int, code: str, message: str) -> None:
        """Answer before the app runs (the body is unread, so the connection closes)."""
        self.close_connection = True
        body = _error_xml(status, code, message, self.request_headers.get("Host") or "")
        self._write(
            Response(status=status, headers=[("Content-Type", "application/xml")], body=body)
        )

    def _serve(self) -> None:
        located = self._target()
        if located is None:
            return
        host, raw_path, raw_query, via_proxy = located
        request = Request(
            method=self.command,
            raw_path=raw_path,
            raw_query=raw_query,
            headers=self.request_headers,
            body=b"",
            host=host,
            client_address=self.client_address[0],
            via_proxy=via_proxy,
        )
        app = self.server.app
        state = app.state
        info = app.classify(request)
        decision: FaultDecision | None = None
        if info.service != "control":
            decision = state.faults.decide(info, now=state.clock.now())
        transport = decision.transport if decision is not None else None
        if transport is not None and transport.action is TransportAction.RESET_BEFORE_BODY:
            app.record(request, info, None, decision)
            self._abort()
            return
        body = self._read_body()
        if body is None:
            return
        response = app.handle(replace(request, body=body), decision=decision, decided=True)
        self._write(response)

    # -- body ---------------------------------------------------------------------------

    def _too_large(self) -> None:
        limit = self.server.app.state.config.max_body_bytes
        body = xmlutil.render(
            "Error",
            [
                ("Code", "EntityTooLarge"),
                ("Message", "Your proposed upload exceeds the maximum allowed size."),
                ("RequestId", new_request_id()),
                ("HostId", self.request_headers.get("Host") or ""),
                ("MaxSizeAllowed", str(limit)),
            ],
        )
        self.close_connection = True
        self._write(Response(status=400, headers=[("Content-Type", "application/xml")], body=body))

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering an error (or losing the client)."""
        limit = self.server.app.state.config.max_body_bytes
        encoding = (self.request_headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding:
            if encoding != "chunked":
                self.send_error(501, "Unsupported Transfer-Encoding")
                return None
            return self._read_chunked(limit)
        raw_length = self.request_headers.get("Content-Length")
        if raw_length is None:
            return b""
        raw_length = raw_length.strip()
        if not raw_length.isdigit():
            self.send_error(400, "Invalid Content-Length")
            return None
        length = int(raw_length)
        if length > limit:
            self._too_large()
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise _ClientGone("body shorter than Content-Length")
        return body

    def _read_chunked(self, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE + 1)
            if not line.endswith(b"\n") or len(line) > _MAX_CHUNK_LINE:
                raise _ClientGone("bad chunk size line")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _ClientGone("bad chunk size") from None
            if size < 0:
                raise _ClientGone("negative chunk size")
            if size == 0:
                break
            total += size
            if total > limit:
                self._too_large()
                return None
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise _ClientGone("truncated chunk")
            chunks.append(chunk)
        for _ in range(100):  # trailers, ignored
            trailer = self.rfile.readline(65537)
            if trailer in (b"\r\n", b"\n", b""):
                break
        return b"".join(chunks)

    # -- response ------------------------------------------------------------------------

    def _abort(self) -> None:
        """Reset the connection: SO_LINGER 0 makes close() send RST, not FIN."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _drop(self) -> None:
        """Close without answering (FIN)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _wait(self, seconds: float) -> bool:
        """Sleep, cut short by server shutdown; True if the server is stopping."""
        return self.server.stopping.wait(max(seconds, 0.0))

    def _write(self, response: Response) -> None:
        effect = response.transport
        action = effect.action if effect is not None else None
        if effect is not None:
            if action is TransportAction.RESET_AFTER_BODY:
                self._abort()
                return
            if action is TransportAction.DROP_AFTER_COMMIT:
                self._drop()
                return
            if action is TransportAction.STALL:
                self._wait(effect.seconds)
                self._drop()
                return
            if action is TransportAction.DELAY and self._wait(effect.seconds):
                self._drop()
                return
        is_head = self.command == "HEAD"
        body = response.body
        if isinstance(body, bytes | bytearray | memoryview):
            length = len(body) if response.content_length is None else response.content_length
        else:
            length = response.content_length or 0
        no_body = is_head or response.status in (204, 304) or response.status < 200
        self.send_response_only(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if response.status not in (204, 304):
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if no_body:
            self.flush_headers()
            _close_iterable(body)
            return
        if action is None and isinstance(body, bytes) and len(body) <= _COALESCE_LIMIT:
            # One send for head and small body: fewer syscalls, and no Nagle wait for a
            # second small segment.
            self._headers_buffer.append(body)
            self.flush_headers()
            return
        self.flush_headers()
        chunks = _as_chunks(body)
        try:
            if action is TransportAction.TRUNCATE:
                assert effect is not None
                self._send_truncated(chunks, effect)
            elif action is TransportAction.THROTTLE:
                assert effect is not None
                self._send_throttled(chunks, effect)
            else:
                sent = 0
                for chunk in chunks:
                    if chunk:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                if sent != length:
                    # The body ended early (an object overwritten mid-read): the client
                    # must see a broken response, not a short one that looks complete.
                    self._drop()
        finally:
            _close_iterable(body)

    def _send_truncated(self, chunks: Iterable[bytes], effect: TransportEffect) -> None:
        remaining = max(effect.truncate_at, 0)
        for chunk in chunks:
            if remaining <= 0:
                break
            piece = chunk[:remaining]
            self.wfile.write(piece)
            remaining -= len(piece)
        self._drop()

    def _send_throttled(self, chunks: Iterable[bytes], effect: TransportEffect) -> None:
        rate = max(effect.bytes_per_second, 1)
        step = max(int(rate * _THROTTLE_TICK), 1)
        started = time.monotonic()
        sent = 0
        for chunk in chunks:
            view = memoryview(chunk)
            for offset in range(0, len(view), step):
                piece = view[offset : offset + step]
                self.wfile.write(piece)
                sent += len(piece)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0 and self._wait(ahead):
                    self._drop()
                    return


def _as_chunks(body: bytes | Iterable[bytes]) -> Iterable[bytes]:
    if isinstance(body, bytes | bytearray | memoryview):
        return (bytes(body),)
    return body


def _close_iterable(body: object) -> None:
    close = getattr(body, "close", None)
    if callable(close) and not isinstance(body, bytes | bytearray | memoryview):
        close()


class ThreadedServer:
    """The emulator on a background thread, for tests and embedding.

    ``start()`` binds ``host:port`` (port 0 = a free port), starts serving and returns once
    the server loop runs; ``url``/``port`` then tell where. ``stop()`` shuts it down,
    ending keep-alive and stalled connections. Usable as a context manager.
    """

    def __init__(
        self,
        state: EmulatorState,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        control: ControlHandler | None = None,
        app: App | None = None,
        read_timeout: float = 60.0,
        max_connections: int = 1024,
    ) -> None:
        self.state = state
        self.max_connections = max_connections
        self.host = host
        self.requested_port = port
        self.app = app or create_app(state, control=control)
        self.read_timeout = read_timeout
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ThreadedServer:
        if self._server is not None:
            raise RuntimeError("the server is already started")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("_Server", (EmulatorHTTPServer,), {"address_family": family})
        self._server = server_class(
            (self.host, self.requested_port),
            self.app,
            read_timeout=self.read_timeout,
            max_connections=self.max_connections,
        )
        self._thread = threading.Thread(
            target=self._run, name=f"vodref-emulator-{self.port}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        return self

    def _run(self) -> None:
        assert self._server is not None
        self._ready.set()
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        self._server = None
        self._thread = None
        self._ready.clear()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
