"""A stand-in socket server for these tests until ``emulator.server`` lands.

Same interface as ``emulator.server.ThreadedServer`` (``start``/``url``/``stop``), serving
``create_app(state)`` over http.server on 127.0.0.1; it handles absolute-URI (proxy)
request lines so voduploadsdk can be routed through it.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from emulator.app import create_app
from emulator.http import Headers, Request


class ThreadedServer:
    def __init__(self, state: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        app = create_app(state)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.path
                via_proxy = target.startswith("http://")
                host = self.headers.get("Host") or ""
                if via_proxy:
                    parts = urlsplit(target)
                    host = parts.netloc
                    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                raw_path, _, raw_query = target.partition("?")
                request = Request(
                    method=self.command,
                    raw_path=raw_path,
                    raw_query=raw_query,
                    headers=Headers(self.headers.items()),
                    body=body,
                    host=host,
                    via_proxy=via_proxy,
                )
                response = app.handle(request)
                data = response.body_bytes()
                self.send_response(response.status)
                for name, value in response.headers:
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                length_out = len(data) if self.command != "HEAD" else (response.content_length or 0)
                self.send_header("Content-Length", str(length_out))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = _serve

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
