"""The socket server: stdlib ``ThreadingHTTPServer`` (HTTP/1.1 keep-alive) around an App.

Why the stdlib server: it measured fastest here for 1 MiB bodies at the lowest server
CPU per byte of the servers tried. How bodies are read, into what memory and within which
bound, is :mod:`emulator.body_memory`'s business (fresh pages, not the copy, are what a
body costs most).

Per request:

1. parse the request line and headers (bounded sizes; a read timeout defeats slowloris);
   an absolute-URI request line (HTTP proxy form) is accepted for ``*.aliyuncs.com``
   hosts only and is answered locally, never forwarded;
2. build a :class:`Request` with an empty body, ``app.classify`` it and ask the fault hook
   once; ``RESET_BEFORE_BODY`` resets the connection (SO_LINGER 0, a real RST);
3. admit an OSS request from its head (target, bucket, signature, scope), read the body
   (``Content-Length`` or chunked), call ``app.handle(decided=True)`` with the admission,
   which is not decided again;
4. write the response, enacting ``Response.transport`` (DELAY, STALL, THROTTLE, TRUNCATE,
   RESET_AFTER_BODY, DROP_AFTER_COMMIT).

:class:`ThreadedServer` runs it in a background thread for tests: ``start()`` binds
(127.0.0.1, port 0 by default) and returns once serving, signalled by an Event.

Modules: :mod:`emulator.server.handler` (the HTTP server and its per-request handler,
steps 1-4), :mod:`emulator.server.wire` (reading the head and body, with their limits),
:mod:`emulator.faults.effects` (resets, drops, truncated and throttled sends); this
module holds :class:`ThreadedServer`.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING

from emulator.app import App, ControlHandler, create_app
from emulator.body_memory import BodyBudget, BodyBuffers, default_budget
from emulator.connection_limits import connection_limit
from emulator.server.handler import EmulatorHTTPServer

if TYPE_CHECKING:
    from emulator.state import EmulatorState

__all__ = ["EmulatorHTTPServer", "ThreadedServer"]


class ThreadedServer:
    """The emulator on a background thread, for tests and embedding.

    ``start()`` binds ``host:port`` (port 0 = a free port), starts serving and returns once
    the server loop runs; ``url``/``port`` then tell where. ``stop()`` shuts it down,
    ending keep-alive and stalled connections. Usable as a context manager.

    ``max_connections`` (default 1024) is lowered to what ``RLIMIT_NOFILE`` allows
    (:mod:`emulator.connection_limits`); the body budget is
    ``config.max_inflight_body_bytes`` or half of physical memory
    (:mod:`emulator.body_memory`), as is the pool of ``body_buffers``.
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
        max_connections: int | None = None,
    ) -> None:
        self.state = state
        self.max_connections = connection_limit(max_connections)
        self.body_budget = BodyBudget(state.config.max_inflight_body_bytes or default_budget())
        # Mappings lent to bodies that go to disk (--data-dir), reused by later bodies.
        self.body_buffers = BodyBuffers()
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
            body_budget=self.body_budget,
            body_buffers=self.body_buffers,
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
