"""``--uploader js:DIR``: the VOD upload SDK for the web, in headless Chromium.

DIR is the user's copy of the SDK as downloaded from Alibaba Cloud (the JavaScript upload
SDK page of the VOD documentation links the zip); it is searched recursively for
``aliyun-upload-sdk-*.min.js``, the ``aliyun-oss-sdk-*.min.js`` it ships with and
``es6-promise.min.js``, which the SDK's documentation includes with script tags. Nothing
of it is redistributed with vodref.

The suite serves, from 127.0.0.1 on a port of its own, a page with those scripts and the
driver of :mod:`vodref.conformance.js_page`; one headless Chromium per subject keeps it
open, and the page fetches each scenario as a job (a long-polled ``GET /job``), clears
localStorage, runs it and reloads itself for the next one. The suite plays the AppServer
for it (``POST /app``: CreateUploadVideo, RefreshUploadVideo, CreateUploadImage, AssumeRole
through :class:`~vodref.conformance.appserver.AppServer`). Chromium (``$VODREF_CHROMIUM``,
else ``chromium`` on PATH or ``/usr/bin/chromium``) opens the page headless, with no proxy
and, on the emulator, a resolver that refuses every name but loopback. The callbacks
arrive as ``POST /event``; ``POST /crash`` makes the suite act and reload the page;
``POST /done`` ends the scenario.

The subject declares every ``UP-DEV`` id of specs/deviations.md: where the 1.5.x SDK
behaves as documented there, the scenario is an expected deviation, not a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .js_page import DRIVER_JS, ROUTE_JS, page_html
from .model import Capability, FileOutcome, Job, SubjectRun, TraceEvent
from .subject import SubjectLoadError

__all__ = ["JS_DEVIATIONS", "JsSubject", "find_chromium", "find_sdk_scripts"]

# specs/deviations.md: how the JS SDK 1.5.x differs from vodref (not shipped with the
# package, so the ids are listed here; tests/conformance checks the list is complete).
JS_DEVIATIONS: Mapping[str, str] = {
    f"UP-DEV-{n:03d}": "JS SDK 1.5.x behaviour (specs/deviations.md)" for n in range(1, 46)
}
_PATTERNS = ("es6-promise.min.js", "aliyun-oss-sdk-*.min.js", "aliyun-upload-sdk-*.min.js")
_LAST_MODIFIED = 1_700_000_000_000  # a fixed File.lastModified: the SDK keys checkpoints on it


def find_sdk_scripts(directory: Path) -> list[Path]:
    """The three scripts, in script-tag order; :class:`SubjectLoadError` names what is
    missing."""
    if not directory.is_dir():
        raise SubjectLoadError(f"js:{directory}: not a directory")
    found: list[Path] = []
    for pattern in _PATTERNS:
        matches = sorted(p for p in directory.rglob(pattern) if p.is_file())
        if not matches:
            raise SubjectLoadError(
                f"js:{directory}: no {pattern} found (searched recursively); download the "
                "VOD upload SDK for JavaScript from the VOD documentation and point js: at it"
            )
        found.append(matches[-1])  # the highest version when several are present
    return found


def find_chromium() -> str:
    for candidate in (
        os.environ.get("VODREF_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
        "/usr/bin/chromium",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SubjectLoadError("js: subjects need Chromium (set VODREF_CHROMIUM to its path)")


class _PageRun:
    """The page server of one scenario, and what the page reported."""

    def __init__(self, job: Job, token: str) -> None:
        self.job = job
        self.token = token
        self.events: list[tuple[int, TraceEvent]] = []
        self.outcome: dict[str, Any] | None = None
        self.fatal: str | None = None
        self.phase = 0
        self.done = threading.Event()
        self.reload_requested = threading.Event()
        self.lock = threading.Lock()
        self.image_urls: dict[str, str] = {}

    def job_json(self) -> dict[str, Any]:
        job = self.job
        interrupt = job.interrupt
        return {
            "token": self.token,
            "phase": self.phase,
            "mode": job.mode.value,
            "region": job.app.region,
            "partSize": job.part_size,
            "parallel": job.parallel,
            "retryDelay": job.retry_delay,
            "lastModified": _LAST_MODIFIED,
            "vodEndpoint": job.app.vod_endpoint,
            "interrupt": None
            if interrupt is None
            else {
                "kind": interrupt.kind.value,
                "file": interrupt.file,
                "afterParts": interrupt.after_parts,
            },
            "files": [
                {
                    "label": f.label,
                    "name": f.name,
                    "size": f.size,
                    "isImage": f.is_image,
                    "title": f.title,
                }
                for f in job.files
            ],
        }

    def app_call(self, body: Mapping[str, Any]) -> dict[str, Any]:
        app, op = self.job.app, body.get("op")
        if op == "sts":
            sts = app.assume_role()
            return {
                "AccessKeyId": sts.access_key_id,
                "AccessKeySecret": sts.access_key_secret,
                "SecurityToken": sts.security_token,
                "Expiration": sts.expiration,
            }
        if op == "create":
            grant = app.create_upload_video(
                title=str(body["title"]),
                file_name=str(body["fileName"]),
                file_size=int(body["size"]),
            )
        elif op == "refresh":
            grant = app.refresh_upload_video(str(body["videoId"]))
        elif op == "image":
            grant = app.create_upload_image(title=str(body["title"]), image_ext=str(body["ext"]))
            label = next((f.label for f in self.job.files if f.is_image), None)
            if label and grant.image_url:
                self.image_urls[label] = grant.image_url
        else:
            raise ValueError(f"unknown app operation {op!r}")
        return {
            "UploadAuth": grant.upload_auth,
            "UploadAddress": grant.upload_address,
            "VideoId": grant.video_id,
            "ImageURL": grant.image_url,
        }


def _is_sparse(path: Path, size: int) -> bool:
    """A planning-only source (the suite writes it as a hole): the page builds it from
    zeros instead of fetching a gigabyte."""
    try:
        return size > 64 * 1024 * 1024 and path.stat().st_blocks * 512 < size // 2
    except OSError:
        return False


def _handler(browser: _Browser) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the page's requests are not the report's business

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, value: object, status: int = 200) -> None:
            self._send(status, json.dumps(value).encode(), "application/json")

        def do_GET(self) -> None:
            path = unquote(self.path.split("?", 1)[0])
            run = browser.current
            if path == "/":
                names = list(browser.scripts)
                self._send(200, page_html(names).encode(), "text/html; charset=utf-8")
            elif path == "/job":
                run = browser.next_run(timeout=2.0)
                self._json({"wait": True} if run is None else run.job_json())
            elif path == "/route.js":
                self._send(200, ROUTE_JS.encode(), "text/javascript")
            elif path == "/driver.js":
                self._send(200, DRIVER_JS.encode(), "text/javascript")
            elif path.startswith("/sdk/") and path[5:] in browser.scripts:
                self._send(200, browser.scripts[path[5:]].read_bytes(), "text/javascript")
            elif path.startswith("/file/") and run is not None:
                file = next((f for f in run.job.files if f.label == path[6:]), None)
                if file is None:
                    self._json({"error": "no such file"}, 404)
                else:
                    self._send(200, file.path.read_bytes(), "application/octet-stream")
            else:
                self._json({"error": "not found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            path = self.path.split("?", 1)[0]
            run = browser.current
            if run is None or body.get("token") != run.token or run.done.is_set():
                self._json({"stale": True})  # a late post of a finished scenario
                return
            try:
                if path == "/fatal":
                    run.fatal = str(body.get("error"))[:2000]
                    run.done.set()
                    self._json({})
                elif path == "/event":
                    with run.lock:
                        run.events.append(
                            (
                                int(body["seq"]),
                                TraceEvent(
                                    name=str(body["name"]),
                                    file=body.get("file"),
                                    detail=dict(body.get("detail") or {}),
                                ),
                            )
                        )
                    self._json({})
                elif path == "/app":
                    self._json(run.app_call(body))
                elif path == "/interrupt":
                    run.job.on_interrupt()
                    self._json({})
                elif path == "/crash":
                    run.phase += 1
                    run.job.on_interrupt()
                    self._json({})
                elif path == "/done":
                    run.outcome = body
                    run.done.set()
                    self._json({})
                else:
                    self._json({"error": "not found"}, 404)
            except Exception as error:
                self._json({"error": f"{type(error).__name__}: {error}"}, 500)

    return Handler


class _Browser:
    """One page server and one headless Chromium for all the scenarios of a subject: the
    page long-polls ``GET /job`` and reloads itself after each scenario, so Chromium starts
    once (about three seconds) instead of once per scenario."""

    def __init__(self, scripts: list[Path], chromium: str, *, loopback_only: bool) -> None:
        self.scripts = {p.name: p for p in scripts}
        self.current: _PageRun | None = None
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name="vodref-conformance-page", daemon=True
        ).start()
        self._profile = tempfile.mkdtemp(prefix="vodref-conformance-chromium-")
        args = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-proxy-server",
            f"--user-data-dir={self._profile}",
        ]
        if loopback_only:  # the emulator: nothing may leave loopback
            args.append(
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"
            )
        url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        # Its own process group: close() ends the browser and every helper process it forked.
        self._process = subprocess.Popen(
            [*args, url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self._process.poll() is None

    def next_run(self, timeout: float) -> _PageRun | None:
        with self._changed:
            self._changed.wait_for(
                lambda: self.current is not None and not self.current.done.is_set(), timeout
            )
            run = self.current
            return run if run is not None and not run.done.is_set() else None

    def run(self, page: _PageRun, timeout: float) -> None:
        with self._changed:
            self.current = page
            self._changed.notify_all()
        if not page.done.wait(timeout):
            page.done.set()  # later posts of this page are stale
            raise TimeoutError(f"the page did not finish within {timeout} s")

    def close(self) -> None:
        group = self._process.pid  # start_new_session: the group id is the browser's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self._process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # helpers that outlived the browser
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._profile, ignore_errors=True)


class JsSubject:
    capabilities = frozenset(Capability)
    deviations: Mapping[str, str] = JS_DEVIATIONS

    def __init__(self, scripts: list[Path], chromium: str) -> None:
        self.scripts = scripts
        self.chromium = chromium
        upload_sdk = scripts[-1].name
        self.name = "js:" + upload_sdk.removesuffix(".min.js")
        self._browser: _Browser | None = None
        self._browser_loopback = True
        self._runs = 0

    @classmethod
    def from_directory(cls, directory: Path) -> JsSubject:
        return cls(find_sdk_scripts(directory), find_chromium())

    def run(self, job: Job) -> SubjectRun:
        loopback_only = job.http_proxy is not None
        if self._browser is not None and (
            not self._browser.alive() or self._browser_loopback != loopback_only
        ):
            self._browser.close()
            self._browser = None
        if self._browser is None:
            self._browser = _Browser(self.scripts, self.chromium, loopback_only=loopback_only)
            self._browser_loopback = loopback_only
        self._runs += 1
        page = _PageRun(job, f"{job.scenario_id}-{self._runs}")
        self._browser.run(page, job.timeout)
        if page.fatal is not None:
            raise RuntimeError(f"the page failed: {page.fatal}")
        trace = tuple(event for _, event in sorted(page.events, key=lambda item: item[0]))
        outcome = (page.outcome or {}).get("files", {})
        files = {
            label: FileOutcome(
                state=str(value.get("state")),
                video_id=value.get("videoId"),
                image_url=page.image_urls.get(label),
            )
            for label, value in outcome.items()
        }
        return SubjectRun(trace=trace, files=files)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None
