"""Helpers for the real-browser tests (conftest.py and test_chromium.py).

- :func:`find_or_install_chromium`: ``/usr/bin/chromium``, installed by
  ``scripts/install-browser`` when missing and we are root.
- :class:`RecordingApp`: the emulator's app, plus a log of what arrived on the wire
  (headers included, which the control plane's request log leaves out).
- :class:`PageServer`: the static test page on its own loopback origin.
- :class:`ChromiumSession`: ``tests/node/chromium.js`` as a subprocess, one JSON line
  per command.
- :func:`xorshift_bytes`: the bytes the page generates for its File.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import oss2
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import (
    CreateUploadVideoRequest,
    GetVideoInfoRequest,
    RefreshUploadVideoRequest,
)

from emulator.app import App
from emulator.control import Client as ControlClient
from emulator.http import Request, Response
from emulator.state import EmulatorState
from support.npm import NODE_DIR, PROXY_VARIABLES

REPO = Path(__file__).resolve().parents[2]
PAGE_DIR = REPO / "tests" / "emulator" / "browser" / "page"
INSTALL_SCRIPT = REPO / "scripts" / "install-browser"
DEFAULT_CHROMIUM = "/usr/bin/chromium"


class BrowserUnavailable(Exception):
    """Chromium is missing and cannot be installed here (the reason is the message)."""


def _chromium_path() -> str:
    return os.environ.get("VODREF_CHROMIUM") or DEFAULT_CHROMIUM


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_or_install_chromium(install_timeout: float = 900.0) -> str:
    """The Chromium executable; runs scripts/install-browser first when it is missing.

    Raises :class:`BrowserUnavailable` when it is missing and we are not root (the
    install script cannot help), and ``RuntimeError`` when an install ran and failed.
    """
    path = _chromium_path()
    if _executable(path):
        return path
    if os.geteuid() != 0:
        raise BrowserUnavailable(
            f"{path} is missing and the tests do not run as root, so scripts/install-browser "
            "cannot apt-get it; install Debian's chromium package to run them"
        )
    proc = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=install_timeout,
        check=False,
    )
    if proc.returncode != 0 or not _executable(path):
        raise RuntimeError(
            f"scripts/install-browser exited {proc.returncode} and {path} is "
            f"{'there' if _executable(path) else 'still missing'}:\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return path


def xorshift_bytes(seed: int, size: int) -> bytes:
    """What ``generate(seed, size)`` in page/uploader.js builds: xorshift32 words,
    little-endian, cut to ``size``."""
    mask = 0xFFFFFFFF
    x = (seed & mask) or 1
    words = bytearray()
    for _ in range((size + 3) // 4):
        x ^= (x << 13) & mask
        x ^= x >> 17
        x ^= (x << 5) & mask
        words += x.to_bytes(4, "little")
    return bytes(words[:size])


@dataclass(frozen=True)
class WireRecord:
    """One request as the emulator received it, and the answer's status and CORS."""

    method: str
    path: str
    query: str
    host: str
    headers: dict[str, str]
    status: int
    response_headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def params_dict(self) -> dict[str, str]:
        pairs = (pair.split("=", 1) for pair in self.query.split("&") if pair)
        return {pair[0]: pair[1] if len(pair) > 1 else "" for pair in pairs}

    @property
    def params(self) -> set[str]:
        return set(self.params_dict)


class RecordingApp(App):
    """The emulator's app, logging every request's headers (lower-cased names, first
    value) and the answer's headers. Control-plane requests are not logged."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._wire: list[WireRecord] = []

    def record(self, request: Request, info: Any, response: Response | None, decision: Any) -> None:
        # record() sees every answered emulated request, including those the server
        # refuses from the head before the app runs (an expired token on UploadPart).
        super().record(request, info, response, decision)
        if response is not None and not request.raw_path.startswith("/_emulator/"):
            headers: dict[str, str] = {}
            for name, value in request.headers:
                headers.setdefault(name.lower(), value)
            answered: dict[str, str] = {}
            for name, value in response.headers:
                answered.setdefault(name.lower(), value)
            record = WireRecord(
                method=request.method,
                path=request.raw_path,
                query=request.raw_query,
                host=request.host,
                headers=headers,
                status=response.status,
                response_headers=answered,
            )
            with self._lock:
                self._wire.append(record)

    def wire(self, since: int = 0) -> list[WireRecord]:
        with self._lock:
            return list(self._wire[since:])

    def mark(self) -> int:
        with self._lock:
            return len(self._wire)


class PageServer:
    """Serves the test page, its script and ali-oss's browser build on 127.0.0.1:0."""

    def __init__(self, oss_sdk: Path) -> None:
        routes = {
            "/": (PAGE_DIR / "index.html", "text/html; charset=utf-8"),
            "/uploader.js": (PAGE_DIR / "uploader.js", "text/javascript; charset=utf-8"),
            "/aliyun-oss-sdk.js": (oss_sdk, "text/javascript; charset=utf-8"),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path not in routes:
                    self.send_error(404)
                    return
                file, content_type = routes[path]
                body = file.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="vodref-page-server", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> PageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class BrowserError(AssertionError):
    pass


class ChromiumSession:
    """``node tests/node/chromium.js --page URL``: a real Chromium with the page open.

    :meth:`call` runs ``window.vodrefPage[fn](args)`` and returns the whole answer
    (``result`` plus the drained ``console``/``network``/``pageErrors``); :meth:`reload`
    reloads the page. stderr goes to a file, shown in failure messages.
    """

    def __init__(
        self,
        node: str,
        modules: Path,
        page_url: str,
        chromium: str,
        stderr_path: Path,
        timeout: float = 45.0,
    ) -> None:
        self.timeout = timeout
        self._stderr_path = stderr_path
        self._stderr: IO[str] = stderr_path.open("w")
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
        env["NODE_PATH"] = str(modules)
        self._proc = subprocess.Popen(
            [
                node,
                str(NODE_DIR / "chromium.js"),
                "--page",
                page_url,
                "--chromium",
                chromium,
                "--timeout-ms",
                str(int(timeout * 1000)),
            ],
            cwd=NODE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="chromium-stdout", daemon=True)
        self._reader.start()
        self._next_id = 0
        self.ready = self._receive(timeout=timeout + 15)
        if not self.ready.get("ok"):
            self.close()
            raise BrowserError(f"Chromium did not start: {self.ready}\n{self.stderr()}")

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self._stderr_path.read_text()[-4000:]

    def _receive(self, timeout: float) -> dict[str, Any]:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise BrowserError(
                    f"no answer from chromium.js in {timeout} s\n{self.stderr()}"
                ) from None
            if line is None:
                raise BrowserError(f"chromium.js exited\n{self.stderr()}")
            if line.strip().startswith("{"):
                answer: dict[str, Any] = json.loads(line)
                return answer

    def _command(self, op: str, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        command = {"id": self._next_id, "op": op, **fields}
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        answer = self._receive(timeout=self.timeout + 15)
        assert answer.get("id") == command["id"], (command, answer)
        if not answer.get("ok"):
            raise BrowserError(f"{op} failed in the page: {answer}\n{self.stderr()}")
        return answer

    def call(self, fn: str, **args: Any) -> dict[str, Any]:
        return self._command("call", fn=fn, args=args)

    def reload(self) -> dict[str, Any]:
        return self._command("reload")

    def screenshot(self, path: Path) -> dict[str, Any]:
        return self._command("screenshot", path=str(path))

    def close(self) -> None:
        """Ask chromium.js to close the browser; kill it if it does not exit in time."""
        stdin = self._proc.stdin
        try:
            if stdin is not None and not stdin.closed:
                try:
                    if self._proc.poll() is None:
                        stdin.write(json.dumps({"id": 0, "op": "close"}) + "\n")
                    stdin.close()
                except OSError:  # it is gone already (BrokenPipeError)
                    pass
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
        finally:
            self._reader.join(timeout=10)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._stderr.close()


@dataclass(frozen=True)
class BrowserEmulator:
    """The running emulator as the tests see it; ``app.wire()`` is what arrived."""

    state: EmulatorState
    app: RecordingApp
    url: str
    port: int
    control: ControlClient
    access_key_id: str
    access_key_secret: str
    oss_session: oss2.Session

    def root_bucket(self, name: str) -> oss2.Bucket:
        """oss2 with the root key, path style through the IP (CRC checks on)."""
        auth = oss2.Auth(self.access_key_id, self.access_key_secret)
        return oss2.Bucket(auth, self.url, name, session=self.oss_session)

    def open_uploads(self, key: str) -> list[dict[str, Any]]:
        """Multipart uploads still open for ``key``, from the control plane's state."""
        uploads = self.control.state()["oss"]["uploads"]
        return [upload for upload in uploads if upload["key"] == key]


def decode(value: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(value)))


@dataclass(frozen=True)
class CreatedVideo:
    video_id: str
    upload_auth: str  # base64, as the app hands it to the SDK
    upload_address: str

    @property
    def auth(self) -> dict[str, Any]:
        return decode(self.upload_auth)

    @property
    def address(self) -> dict[str, Any]:
        return decode(self.upload_address)


class VodApp:
    """What the web app's server does with aliyunsdkcore: CreateUploadVideo,
    RefreshUploadVideo, GetVideoInfo, at the emulator under the host name it is given."""

    def __init__(self, client: AcsClient, port: int) -> None:
        self._client = client
        self._port = port

    def _call(self, request: Any, host: str) -> dict[str, Any]:
        request.set_endpoint(f"{host}:{self._port}")
        return dict(json.loads(self._client.do_action_with_exception(request)))

    def create(self, host: str, title: str, file_name: str) -> CreatedVideo:
        request = CreateUploadVideoRequest.CreateUploadVideoRequest()
        request.set_Title(title)
        request.set_FileName(file_name)
        answer = self._call(request, host)
        return CreatedVideo(answer["VideoId"], answer["UploadAuth"], answer["UploadAddress"])

    def refresh(self, video_id: str, host: str) -> CreatedVideo:
        request = RefreshUploadVideoRequest.RefreshUploadVideoRequest()
        request.set_VideoId(video_id)
        answer = self._call(request, host)
        return CreatedVideo(video_id, answer["UploadAuth"], answer["UploadAddress"])

    def status(self, video_id: str, host: str) -> str:
        request = GetVideoInfoRequest.GetVideoInfoRequest()
        request.set_VideoId(video_id)
        return str(self._call(request, host)["Video"]["Status"])
