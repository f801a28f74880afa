"""Benchmark the emulator's hardening (issue 9): the adversarial figures, side by side.

Runs the emulator as a separate process (``python -m emulator --port 0``) and prints:

- **auth probes refused / tried**: replays (RPC and ACS3 calls without nonce or
  timestamp, a nonce reused after moving the emulator clock 1801 s), V4 signatures
  scoped to wrong regions, forged and expired signatures, UploadAuth scope escapes;
- **edge probes by status**: malformed framing, hostile numbers, header injection,
  out-of-range control values, foreign hosts and cross-origin control writes (``none``
  means no status line came back);
- **fuzz counts by status**: the security fuzz property's request mix
  (tests/support/fuzz.py), ``--fuzz`` requests;
- **RSS under the 1 GiB-header attack**: the server's RSS growth while 4 connections
  announce ``Content-Length: 1 GiB`` and send nothing (unsigned, then signed);
- **connections at the descriptor limit**: with ``RLIMIT_NOFILE`` lowered to ``--nofile``,
  ``--connections`` idle connections: how many are held, answered 503, or get nothing;
  the server's CPU while holding them (an accept loop spinning on EMFILE shows ~100 %);
  whether a new client is then served.

``--before-tree DIR`` also runs every probe against the emulator code in DIR (for example
``git archive <commit> | tar -x -C DIR``) and prints both columns.

    .venv/bin/python bench/bench_security.py
    .venv/bin/python bench/bench_security.py --before-tree /tmp/before --fuzz 20000
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import oss2
import psutil

REPO = Path(__file__).resolve().parents[1]
# The repository first, then tests/ (for support.fuzz): tests/emulator, a directory without
# __init__.py, must not become the "emulator" namespace package.
sys.path.insert(0, str(REPO))
sys.path.append(str(REPO / "tests"))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from support import fuzz as fuzz_support  # noqa: E402  (the test tree's request mix)

from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET  # noqa: E402
from emulator.http import Headers, Request  # noqa: E402
from emulator.oss.auth import v1_signature, v1_string_to_sign  # noqa: E402
from emulator.oss.urls import classify  # noqa: E402
from emulator.oss.xmlutil import http_date  # noqa: E402
from emulator.rpc.signing import (  # noqa: E402
    acs3_signature,
    acs3_string_to_sign,
    rpc_signature,
    rpc_string_to_sign,
)

BANNER = "vodref-emulator listening on "
GIB = 1024**3
MIB = 1024**2
KEY_ID, SECRET = DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET


@dataclass
class Figures:
    auth_refused: int = 0
    auth_tried: int = 0
    edge: collections.Counter[str] = field(default_factory=collections.Counter)
    fuzz: collections.Counter[str] = field(default_factory=collections.Counter)
    rss_unsigned_mib: float = 0.0
    rss_signed_mib: float = 0.0
    held: int = 0
    busy_503: int = 0
    no_answer: int = 0
    cpu_percent: float = 0.0
    served_after: bool = False


@contextlib.contextmanager
def emulator(tree: Path | None, nofile: int | None = None) -> Iterator[tuple[str, int]]:
    """(url, pid) of ``python -m emulator`` using the code in ``tree`` (None: this one)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree or REPO)
    # The descriptor limit is set in the child itself, before the emulator module runs.
    start = (
        "import resource, runpy, sys\n"
        f"limit = {nofile!r}\n"
        "if limit is not None:\n"
        "    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))\n"
        "sys.argv = ['emulator', '--port', '0', '--in-memory']\n"
        "runpy.run_module('emulator', run_name='__main__', alter_sys=True)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", start],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=str(tree or REPO),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        if not first.startswith(BANNER):
            raise RuntimeError(f"the emulator did not start: {first!r}")
        yield first[len(BANNER) :], process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def oss_session() -> Iterator[oss2.Session]:
    session = oss2.Session()
    try:
        yield session
    finally:
        session.session.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def send(port: int, payload: bytes, timeout: float = 10.0) -> int | None:
    """Status of the answer to ``payload`` (None: no status line)."""
    try:
        return fuzz_support.status_of(fuzz_support.exchange(port, payload, timeout))
    except OSError:
        return None


def request(
    port: int, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> int | None:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"Content-Length: {len(body)}")
    return send(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def rpc_query(
    action: str, *, timestamp: bool = True, nonce: str | None = "new", **extra: str
) -> str:
    params = {
        "Action": action,
        "Version": "2017-03-21",
        "Format": "JSON",
        "AccessKeyId": KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        **extra,
    }
    if timestamp:
        params["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if nonce is not None:
        params["SignatureNonce"] = uuid.uuid4().hex if nonce == "new" else nonce
    params["Signature"] = rpc_signature(rpc_string_to_sign("POST", params), SECRET)
    return "/?" + urlencode(params, quote_via=quote)


def control(port: int, method: str, path: str, body: object = None) -> int | None:
    payload = b"" if body is None else json.dumps(body).encode()
    return request(port, method, path, {"Content-Type": "application/json"}, payload)


# -- auth probes ---------------------------------------------------------------------------


def auth_probes(url: str) -> tuple[int, int]:
    port = port_of(url)
    outcomes: list[bool] = []  # True: refused

    def probe(status: int | None) -> None:
        outcomes.append(status is None or status >= 400)

    query = rpc_query("CreateUploadVideo", timestamp=False, nonce=None, Title="r", FileName="a.mp4")
    for _ in range(5):  # replays of a call with neither Timestamp nor nonce
        probe(request(port, "POST", query))
    for _ in range(3):  # ACS3 with the date and nonce left out of the signature
        probe(_acs3_without_nonce(port))
    query = rpc_query("GetVideoInfo", VideoId="x")
    request(port, "POST", query)
    control(port, "POST", "/_emulator/clock/advance", {"seconds": 1801})
    probe(request(port, "POST", query))  # the nonce after moving the clock 1801 s
    control(port, "POST", "/_emulator/reset")
    auth = oss2.Auth(KEY_ID, SECRET)
    with oss_session() as session:
        oss2.Bucket(auth, url, "probe-bucket", session=session).create_bucket()
        provider = oss2.credentials.StaticCredentialsProvider(KEY_ID, SECRET)
        for region in (
            "cn-hangzhou",
            "cn-beijing",
            "us-east-1",
            "oss-cn-shanghai",
            "CN-SHANGHAI",
            "eu-central-1",
            "ap-southeast-1",
        ):
            bucket = oss2.Bucket(
                oss2.ProviderAuthV4(provider), url, "probe-bucket", region=region, session=session
            )
            probe(_oss_status(lambda b=bucket: b.put_object("k", b"v")))
        wrong = oss2.Bucket(oss2.Auth(KEY_ID, "wrong"), url, "probe-bucket", session=session)
        probe(_oss_status(lambda: wrong.put_object("k", b"v")))
        upload = json.loads(
            _rpc_answer(port, rpc_query("CreateUploadVideo", Title="t", FileName="a.mp4"))
        )
        grant = json.loads(base64.b64decode(upload["UploadAuth"]))
        address = json.loads(base64.b64decode(upload["UploadAddress"]))
        sts = oss2.StsAuth(grant["AccessKeyId"], grant["AccessKeySecret"], grant["SecurityToken"])
        scoped = oss2.Bucket(sts, address["Endpoint"], address["Bucket"], session=session)
        for attempt in (
            lambda: scoped.put_object(address["FileName"] + "-other", b"x"),
            lambda: scoped.put_object(address["FileName"] + "/../x", b"x"),
            scoped.list_objects,
            lambda: scoped.get_object(address["FileName"]),
        ):
            probe(_oss_status(attempt))
    refused = sum(outcomes)
    return refused, len(outcomes)


def _acs3_without_nonce(port: int) -> int | None:
    headers = {
        "host": f"127.0.0.1:{port}",
        "x-acs-action": "CreateUploadVideo",
        "x-acs-version": "2017-03-21",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
    }
    query = [("Title", "r"), ("FileName", "a.mp4")]
    signed = sorted(headers)
    string_to_sign = acs3_string_to_sign(
        method="POST",
        path="/",
        query=query,
        headers=Headers(headers.items()),
        signed_headers=signed,
        body=b"",
    )
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={KEY_ID},SignedHeaders={';'.join(signed)},"
        f"Signature={acs3_signature(string_to_sign, SECRET)}"
    )
    del headers["host"]
    return request(port, "POST", "/?Title=r&FileName=a.mp4", headers)


def _oss_status(call: Callable[[], object]) -> int | None:
    try:
        call()
    except oss2.exceptions.OssError as error:
        return int(error.status) if error.status > 0 else None
    return 200


def _rpc_answer(port: int, target: str) -> bytes:
    payload = (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    return fuzz_support.exchange(port, payload).partition(b"\r\n\r\n")[2]


# -- edge probes -----------------------------------------------------------------------------


def edge_probes(url: str) -> collections.Counter[str]:
    port = port_of(url)
    statuses: collections.Counter[str] = collections.Counter()
    keys = fuzz_support.Keys(KEY_ID, SECRET, "0" * 32, port)
    for payload in fuzz_support.wire_payloads(keys):
        statuses[str(send(port, payload))] += 1
    auth = oss2.Auth(KEY_ID, SECRET)
    with oss_session() as session:
        bucket = oss2.Bucket(auth, url, "edge-bucket", session=session)
        bucket.create_bucket()
        bucket.put_object("k", b"payload")
        for param in (
            "response-content-type",
            "response-content-disposition",
            "response-cache-control",
        ):
            for value in ("a\r\nX-Injected: 1", "text/\u5e73"):
                statuses[
                    str(_oss_status(lambda p=param, v=value: bucket.get_object("k", params={p: v})))
                ] += 1
        for part in ("9" * 5000, "\u0663"):
            statuses[
                str(
                    _oss_status(
                        lambda p=part: bucket._do(
                            "PUT",
                            "edge-bucket",
                            "k",
                            params={"uploadId": "0" * 32, "partNumber": p},
                            data=b"x",
                        )
                    )
                )
            ] += 1
    for path, body in (
        ("/_emulator/clock/advance", {"seconds": 1e20}),
        ("/_emulator/clock/advance", {"seconds": 1e12}),
        ("/_emulator/clock/freeze", {"at": 1e12}),
        ("/_emulator/clock/freeze", {"at": -1e12}),
    ):
        statuses[str(control(port, "POST", path, body))] += 1
        # Does OSS still answer after it? (unanswered counts as "none")
        statuses["oss-after:" + str(request(port, "GET", "/edge-bucket/k"))] += 1
        control(port, "POST", "/_emulator/reset")
    for host in ("evil.example", "rebind.test"):
        payload = (
            f"POST /_emulator/reset HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            "Content-Length: 0\r\n\r\n"
        ).encode()
        statuses["foreign-host:" + str(send(port, payload))] += 1
    statuses[
        "text/plain-write:"
        + str(request(port, "POST", "/_emulator/reset", {"Content-Type": "text/plain"}, b"{}"))
    ] += 1
    statuses[
        "cross-origin-write:"
        + str(request(port, "POST", "/_emulator/reset", {"Origin": "http://evil.example"}))
    ] += 1
    return statuses


# -- fuzz ------------------------------------------------------------------------------------


def fuzz_counts(url: str, count: int) -> collections.Counter[str]:
    port = port_of(url)
    auth = oss2.Auth(KEY_ID, SECRET)
    with oss_session() as session:
        bucket = oss2.Bucket(auth, url, fuzz_support.BUCKET, session=session)
        bucket.create_bucket()
        upload_id = bucket.init_multipart_upload(fuzz_support.KEY).upload_id
    keys = fuzz_support.Keys(KEY_ID, SECRET, upload_id, port)
    statuses: collections.Counter[str] = collections.Counter()

    @settings(
        max_examples=max(count, 1),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=fuzz_support.all_cases(keys))
    def one(case: fuzz_support.Case) -> None:
        if sum(statuses.values()) < count:
            statuses[str(send(port, case.payload))] += 1

    while sum(statuses.values()) < count:
        one()
    return statuses


# -- memory and descriptors --------------------------------------------------------------------


def rss_under_attack(url: str, pid: int) -> tuple[float, float]:
    """RSS growth (MiB) with 4 connections announcing 1 GiB each and sending nothing."""
    port = port_of(url)
    server = psutil.Process(pid)
    auth = oss2.Auth(KEY_ID, SECRET)
    with oss_session() as session:
        oss2.Bucket(auth, url, "rss-bucket", session=session).create_bucket()
    results = []
    for signed in (False, True):
        base = server.memory_info().rss
        sockets = []
        for index in range(4):
            head = _big_put_head(port, f"big-{index}", signed)
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(head)
            sockets.append(sock)
        time.sleep(1.5)
        results.append((server.memory_info().rss - base) / MIB)
        for sock in sockets:
            sock.close()
        time.sleep(0.5)
    return results[0], results[1]


def _big_put_head(port: int, key: str, signed: bool) -> bytes:
    date = http_date(time.time())
    headers = [("Date", date), ("Content-Length", str(GIB)), ("Host", f"127.0.0.1:{port}")]
    if signed:
        request_ = Request(
            method="PUT",
            raw_path=f"/rss-bucket/{key}",
            raw_query="",
            headers=Headers(headers),
            body=b"",
            host=f"127.0.0.1:{port}",
        )
        signature = v1_signature(SECRET, v1_string_to_sign(request_, classify(request_), date))
        headers.append(("Authorization", f"OSS {KEY_ID}:{signature}"))
    lines = [f"PUT /rss-bucket/{key} HTTP/1.1", *[f"{k}: {v}" for k, v in headers]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def descriptor_limit(
    tree: Path | None, nofile: int, connections: int
) -> tuple[int, int, int, float, bool]:
    with emulator(tree, nofile=nofile) as (url, pid):
        port = port_of(url)
        server = psutil.Process(pid)
        sockets: list[socket.socket] = []
        held = busy = silent = 0
        for _ in range(connections):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=2)
            except OSError:
                silent += 1
                continue
            sockets.append(sock)
        time.sleep(1.0)
        for sock in sockets:
            sock.setblocking(False)
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                held += 1
                continue
            except OSError:
                silent += 1
                continue
            if data.startswith(b"HTTP/1.1 503"):
                busy += 1
            else:
                silent += 1
        server.cpu_percent(None)
        time.sleep(2.0)
        cpu = server.cpu_percent(None)
        for sock in sockets:
            sock.close()
        time.sleep(0.5)
        served = request(port, "GET", "/_emulator/health") == 200
    return held, busy, silent, cpu, served


def measure(tree: Path | None, args: argparse.Namespace) -> Figures:
    figures = Figures()
    with emulator(tree) as (url, pid):
        figures.auth_refused, figures.auth_tried = auth_probes(url)
    with emulator(tree) as (url, pid):
        figures.edge = edge_probes(url)
    with emulator(tree) as (url, pid):
        figures.fuzz = fuzz_counts(url, args.fuzz)
    with emulator(tree) as (url, pid):
        figures.rss_unsigned_mib, figures.rss_signed_mib = rss_under_attack(url, pid)
    (
        figures.held,
        figures.busy_503,
        figures.no_answer,
        figures.cpu_percent,
        figures.served_after,
    ) = descriptor_limit(tree, args.nofile, args.connections)
    return figures


def rows(figures: Figures) -> list[tuple[str, str]]:
    def counts(counter: collections.Counter[str]) -> str:
        return ", ".join(f"{k}:{v}" for k, v in sorted(counter.items()))

    return [
        ("auth probes refused/tried", f"{figures.auth_refused}/{figures.auth_tried}"),
        ("edge probes by status", counts(figures.edge)),
        ("fuzz counts by status", counts(figures.fuzz)),
        ("RSS +MiB, 4 x 1 GiB announced, unsigned", f"{figures.rss_unsigned_mib:.1f}"),
        ("RSS +MiB, 4 x 1 GiB announced, signed", f"{figures.rss_signed_mib:.1f}"),
        (
            "connections held / 503 / no answer",
            f"{figures.held} / {figures.busy_503} / {figures.no_answer}",
        ),
        ("server CPU % while holding them", f"{figures.cpu_percent:.0f}"),
        ("new client served afterwards", str(figures.served_after)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-tree", type=Path, help="emulator code to compare against")
    parser.add_argument("--fuzz", type=int, default=2000, help="fuzzed requests (default 2000)")
    parser.add_argument("--nofile", type=int, default=256, help="RLIMIT_NOFILE for the fd test")
    parser.add_argument("--connections", type=int, default=300, help="idle connections opened")
    args = parser.parse_args()
    after = measure(None, args)
    before = measure(args.before_tree, args) if args.before_tree else None
    print(f"# bench_security: fuzz={args.fuzz} nofile={args.nofile} connections={args.connections}")
    for index, (name, value) in enumerate(rows(after)):
        if before is None:
            print(f"{name:42} {value}")
        else:
            print(f"{name:42} before: {rows(before)[index][1]}")
            print(f"{'':42} after:  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
