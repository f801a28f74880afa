"""A real HTTP receiver for VOD event callbacks, on 127.0.0.1 and a free port.

It records every POST (path, headers, parsed JSON body) and answers with the next status
of a script (then 200), so tests can make deliveries fail and watch the retries. Waiting
is a condition wait for a number of deliveries, never a sleep.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.raw)
        return value


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """At least ``count`` requests have arrived (AssertionError after ``timeout``)."""
        with self.cond:
            arrived = self.cond.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            assert arrived, f"{len(self.received)} callbacks arrived, expected {count}"
            return list(self.received)

    def events(self) -> list[str]:
        with self.cond:
            return [item.body["EventType"] for item in self.received]


@contextmanager
def callback_receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            receiver = holder[0]
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            with receiver.cond:
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append(
                    Received(path=self.path, headers=dict(self.headers.items()), raw=raw)
                )
                receiver.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    holder.append(Receiver(url=f"http://{host}:{port}/vod/callback", statuses=list(statuses or [])))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
