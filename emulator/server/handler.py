"""The socket server's HTTP layer: one stdlib handler per connection around an App.

:class:`EmulatorHTTPServer` is a ``ThreadingHTTPServer`` that knows its app, caps open
connections (``503 SlowDown`` beyond ``max_connections``) and can end them all at
shutdown. :class:`EmulatorRequestHandler` serves one request at a time on a keep-alive
connection, in the order described in :mod:`emulator.server`: head (read and checked by
:mod:`emulator.server.wire`), fault decision, body, ``app.handle``, response (transport
effects performed by :mod:`emulator.faults.effects`).
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import urlsplit

from emulator.app import App
from emulator.body_memory import (
    BodyBudget,
    BodyBuffers,
    ClientStoppedShort,
    Reservation,
    read_sized_body,
)
from emulator.connection_limits import EMFILE_BACKOFF_SECONDS, EXHAUSTION_ERRNOS
from emulator.faults.effects import (
    EffectType,
    FaultDecision,
    as_chunks,
    close_body,
    close_without_answer,
    reset_connection,
    send_throttled,
    send_truncated,
)
from emulator.framing import FramingError, body_framing, read_chunked_body
from emulator.http import Body, Headers, OperationInfo, Request, Response
from emulator.oss.responses import Admission, admit_oss
from emulator.redaction import redact_target
from emulator.server.wire import (
    BUSY_RESPONSE,
    MAX_LINE,
    HeadError,
    entity_too_large_xml,
    error_xml,
    parse_request_line,
    read_header_fields,
    socket_reader,
)

# The logger keeps the name it had before the server was split into modules.
log = logging.getLogger("emulator.server")

_COALESCE_LIMIT = 64 * 1024
# Set by the server from the body it sends, never copied from the app's response.
_FRAMING_HEADERS = frozenset(("content-length", "connection", "transfer-encoding"))
# RPC forms and control-plane JSON: small documents (the control plane's own cap).
SMALL_BODY_LIMIT = 1 << 20
# How much of a refused body is read and dropped, and how long each read may wait.
LINGER_BYTES = 64 * 1024 * 1024
LINGER_SECONDS = 2.0
_SCRATCH_BYTES = 64 * 1024
_SMALL_BODY_TOO_LARGE = "Request bodies here are 1 MiB at most."
_BUDGET_FULL = "Too many request bodies are in flight; retry later."


def _framing_code(error: FramingError) -> str:
    return "NotImplemented" if error.status == 501 else "InvalidRequest"


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
        body_budget: BodyBudget,
        body_buffers: BodyBuffers | None = None,
    ) -> None:
        self.app = app
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.body_budget = body_budget
        # Mappings for bodies written to disk and dropped, reused request after request.
        self.body_buffers = BodyBuffers() if body_buffers is None else body_buffers
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorRequestHandler)

    def get_request(self) -> tuple[Any, Any]:
        """Accept one connection. Out of descriptors (EMFILE and kin), wait a moment
        before the loop tries again rather than spin on a listening socket that stays
        readable (emulator.connection_limits, EMU-SEC-011)."""
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in EXHAUSTION_ERRNOS:
                self.stopping.wait(EMFILE_BACKOFF_SECONDS)
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        """One thread per connection, up to ``max_connections``; beyond that a connection
        gets ``503 SlowDown`` and is closed, so a flood cannot exhaust threads."""
        with self._connections_lock:
            full = len(self._connections) >= self.max_connections
            if not full:
                self._connections.add(request)
        if full:
            with contextlib.suppress(OSError):
                request.sendall(BUSY_RESPONSE)
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


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: a response is one or a few sends; never let Nagle hold the last one.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer
    _headers_buffer: list[bytes]  # created by send_response_only (stdlib internals)
    request_headers: Headers
    # What an early answer is logged with (set per request by _receive_body).
    _early: tuple[OperationInfo, FaultDecision | None]
    server_version = "AliyunOSS"
    sys_version = ""
    # Methods are all dispatched by handle_one_request; this silences the stdlib lookup.
    error_content_type = "application/xml"
    _ABSOLUTE_PREFIXES: ClassVar[tuple[str, ...]] = ("http://", "https://")

    def setup(self) -> None:
        # Every recv (request line, headers, body) must make progress within the read
        # timeout, which bounds slowloris; the kernel enforces it (wire.socket_reader).
        super().setup()
        self.rfile.close()
        self.rfile = socket_reader(self.connection, self.server.read_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line holds signatures and tokens in presigned and RPC queries.
        log.debug(
            '%s "%s" %s %s', self.address_string(), redact_target(self.requestline), code, size
        )

    # -- request line and errors --------------------------------------------------------

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if len(self.raw_requestline) > MAX_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():
                return
            self._serve()
        except (TimeoutError, ConnectionError, ClientStoppedShort):
            self.close_connection = True
        except OSError:
            self.close_connection = True

    def parse_request(self) -> bool:
        """Parse the request line and headers into ``request_headers``.

        Replaces the stdlib's version (see :func:`~emulator.server.wire.read_header_fields`
        for the limits). Unlike the stdlib it never rewrites a path starting with ``//``:
        keys are data.
        """
        self.command = ""
        self.request_version = "HTTP/1.1"
        self.close_connection = True
        self.request_headers = Headers()
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = requestline
        try:
            command, path, version = parse_request_line(requestline)
            self.command, self.path, self.request_version = command, path, version
            limit = self.server.app.state.config.max_header_bytes
            headers = read_header_fields(self.rfile, limit)
        except HeadError as error:
            self.send_error(error.status, error.message)
            return False
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
        body = error_xml(
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
            try:
                parts = urlsplit(target)
                host = parts.netloc
                hostname = (parts.hostname or "").lower()
            except ValueError:  # "http://[::1/x": an unbalanced or invalid IPv6 literal
                self._simple_error(400, "InvalidURI", "Couldn't parse the specified URI.")
                return None
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
        body = error_xml(status, code, message, self.request_headers.get("Host") or "")
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
        if transport is not None and transport.action is EffectType.RESET_BEFORE_BODY:
            app.record(request, info, None, decision)
            self._abort()
            return
        received = self._receive_body(request, info, decision)
        if received is None:
            return
        body, reservation, admission = received
        admitted = None if admission is None else (info, admission)
        if body:
            request = Request(
                method=request.method,
                raw_path=raw_path,
                raw_query=raw_query,
                headers=request.headers,
                body=body,
                host=host,
                client_address=request.client_address,
                via_proxy=via_proxy,
            )
        try:
            response = app.handle(request, decision=decision, decided=True, admitted=admitted)
            self._write(response)
        finally:
            reservation.release()
            if isinstance(body, mmap.mmap) and state.config.data_dir is not None:
                # Lent by body_buffers (read_sized_body, kept=False): the disk blob store
                # has written it and nothing refers to it any more.
                self.server.body_buffers.give_back(body)

    # -- body ---------------------------------------------------------------------------

    def _answer_early(self, request: Request, response: Response) -> None:
        """Answer before the body was read (or after it broke the framing), then close.
        Logged like every answered request (EMU-CTL-009), so a test sees the refusal."""
        info, decision = self._early
        if info.service != "control":
            self.server.app.record(request, info, response, decision)
        self.close_connection = True
        self._write(response)

    def _too_large(self, request: Request, limit: int) -> None:
        body = entity_too_large_xml(limit, self.request_headers.get("Host") or "")
        response = Response(status=400, headers=[("Content-Type", "application/xml")], body=body)
        self._answer_early(request, response)

    def _discard_body(self, announced: int | None) -> None:
        """After answering before the body was read: read and drop what the client still
        sends, up to ``LINGER_BYTES`` and with each read bounded by ``LINGER_SECONDS``,
        into one small scratch buffer (nothing is kept). Closing with unread input would
        reset the connection, and a client still sending its body would lose the answer
        (a token that expired mid-upload must reach it as SecurityTokenExpired)."""
        remaining = LINGER_BYTES if announced is None else min(announced, LINGER_BYTES)
        if remaining <= 0:
            return
        scratch = memoryview(bytearray(_SCRATCH_BYTES))
        try:
            self.connection.settimeout(LINGER_SECONDS)
            while remaining > 0:
                count = self.rfile.readinto(scratch[: min(_SCRATCH_BYTES, remaining)])
                if not count:
                    break
                remaining -= count
        except OSError:
            pass
        finally:
            scratch.release()

    def _edge_error(self, request: Request, status: int, code: str, message: str) -> None:
        """Answer before the app runs, in the addressed service's format, then close."""
        self._answer_early(request, self.server.app.edge_error(request, status, code, message))

    def _receive_body(
        self, request: Request, info: OperationInfo, decision: FaultDecision | None
    ) -> tuple[Body, Reservation, Admission | None] | None:
        """The body, its reservation in the body budget and what admitted it (an OSS
        request with a body), or None after answering an error (or losing the client).
        Order (EMU-SEC-001, EMU-SEC-010):

        1. the framing must be unambiguous (:func:`~emulator.framing.body_framing`);
        2. RPC and control bodies are small documents: over ``SMALL_BODY_LIMIT`` is 413;
        3. an OSS request with a body is admitted from its head first (target, bucket,
           signature, scope): a refusal is answered without reading the body;
        4. the announced length must fit the size limits (else ``EntityTooLarge``) and be
           reserved in the body budget (else ``503 SlowDown``);
        5. the body is read as it arrives (:mod:`emulator.body_memory`).
        """
        app = self.server.app
        budget = self.server.body_budget
        self._early = (info, decision)
        try:
            framing = body_framing(self.request_headers)
        except FramingError as error:
            self._edge_error(request, error.status, _framing_code(error), error.message)
            return None
        announced = framing.length
        admission: Admission | None = None
        # No OSS operation at "/" takes a body: a body there is an RPC form (voduploadsdk's
        # progress report names its Action only inside it).
        small = info.service != "oss" or request.raw_path in ("", "/")
        if small:
            limit = SMALL_BODY_LIMIT
            if announced is not None and announced > limit:
                self._edge_error(request, 413, "BodyTooLarge", _SMALL_BODY_TOO_LARGE)
                self._discard_body(announced)
                return None
        else:
            limit = min(app.state.config.max_body_bytes, budget.limit)
            has_body = announced is None or announced > 0
            if has_body and (decision is None or decision.error is None):
                admitted = admit_oss(app.state, request)
                if isinstance(admitted, Response):
                    self._answer_early(request, admitted)
                    self._discard_body(announced)
                    return None
                admission = admitted
            if announced is not None and announced > limit:
                self._too_large(request, limit)
                self._discard_body(announced)
                return None
        reservation = Reservation(budget)
        if announced is not None and not reservation.take(announced):
            self._edge_error(request, 503, "SlowDown", _BUDGET_FULL)
            self._discard_body(announced)
            return None
        try:
            if announced is not None:
                kept = app.state.config.data_dir is None
                body = read_sized_body(
                    self.rfile, announced, kept=kept, buffers=self.server.body_buffers
                )
                return body, reservation, admission
            refused: list[int] = []

            def take(size: int) -> bool:
                if reservation.take(size):
                    return True
                refused.append(size)
                return False

            chunked = read_chunked_body(self.rfile, limit, take)
        except FramingError as error:
            reservation.release()
            self._edge_error(request, error.status, _framing_code(error), error.message)
            return None
        except BaseException:
            reservation.release()
            raise
        if chunked is None:
            reservation.release()
            if refused:
                self._edge_error(request, 503, "SlowDown", _BUDGET_FULL)
            elif not small:
                self._too_large(request, limit)
            else:
                self._edge_error(request, 413, "BodyTooLarge", _SMALL_BODY_TOO_LARGE)
            return None
        return chunked, reservation, admission

    # -- response ------------------------------------------------------------------------

    def _abort(self) -> None:
        """Reset the connection (RST, not FIN)."""
        self.close_connection = True
        reset_connection(self.connection)

    def _drop(self) -> None:
        """Close without answering (FIN)."""
        self.close_connection = True
        close_without_answer(self.connection)

    def _wait(self, seconds: float) -> bool:
        """Sleep, cut short by server shutdown; True if the server is stopping."""
        return self.server.stopping.wait(max(seconds, 0.0))

    def _head(self, response: Response, length: int) -> bytes:
        """The status line and headers, as send_response_only and send_header would put
        them, built in one go (the framing headers are the server's own)."""
        status = response.status
        reason = self.responses[status][0] if status in self.responses else ""
        lines = [f"{self.protocol_version} {status} {reason}\r\n"]
        lines += [
            f"{name}: {value}\r\n"
            for name, value in response.headers
            if name.lower() not in _FRAMING_HEADERS
        ]
        if status not in (204, 304):
            lines.append(f"Content-Length: {length}\r\n")
        if self.close_connection:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        return "".join(lines).encode("latin-1")

    def _write(self, response: Response) -> None:
        effect = response.transport
        action = effect.action if effect is not None else None
        if effect is not None:
            if action is EffectType.RESET_AFTER_BODY:
                self._abort()
                return
            if action is EffectType.DROP_AFTER_COMMIT:
                self._drop()
                return
            if action is EffectType.STALL:
                self._wait(effect.seconds)
                self._drop()
                return
            if action is EffectType.DELAY and self._wait(effect.seconds):
                self._drop()
                return
        is_head = self.command == "HEAD"
        body = response.body
        if isinstance(body, bytes | bytearray | memoryview):
            length = len(body) if response.content_length is None else response.content_length
        else:
            length = response.content_length or 0
        no_body = is_head or response.status in (204, 304) or response.status < 200
        self._headers_buffer = [self._head(response, length)]
        if no_body:
            self.flush_headers()
            close_body(body)
            return
        if action is None and isinstance(body, bytes) and len(body) <= _COALESCE_LIMIT:
            # One send for head and small body: fewer syscalls, and no Nagle wait for a
            # second small segment.
            self._headers_buffer.append(body)
            self.flush_headers()
            return
        self.flush_headers()
        chunks = as_chunks(body)
        try:
            if action is EffectType.TRUNCATE:
                assert effect is not None
                send_truncated(self.wfile, chunks, effect.truncate_at)
                self._drop()
            elif action is EffectType.THROTTLE:
                assert effect is not None
                if not send_throttled(self.wfile, chunks, effect.bytes_per_second, self._wait):
                    self._drop()
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
            close_body(body)
