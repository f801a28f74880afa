"""Finding 1 (issue 9): memory before authentication.

In in-memory mode a request announcing ``Content-Length: 1 GiB`` and sending nothing made
the server commit ~1 GiB at once (a pre-faulted mapping), before any check; four such
connections took the process to 4.1 GiB. Now an OSS request is authenticated from its head
before its body is read, memory for a body follows the bytes that arrive, and the total
announced by bodies in flight is bounded by a budget (``503 SlowDown`` beyond it). These
are properties of the design, asserted without timing: the refusals come before any body
byte is sent, and the budget's accounting is read from the server.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import oss2
import psutil
import pytest
from support.rpc import RunningEmulator
from support.security import host_port

from emulator.config import EmulatorConfig
from emulator.control import ControlHandler
from emulator.http import Headers, Request
from emulator.oss.auth import v1_signature, v1_string_to_sign
from emulator.oss.urls import classify
from emulator.oss.xmlutil import http_date
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

GIB = 1024**3
MIB = 1024**2
RSS_BOUND = 64 * MIB


def _head(port: int, key: str, length: int, *, signed: bool, config: EmulatorConfig) -> bytes:
    date = http_date(time.time())
    headers = [("Host", f"127.0.0.1:{port}"), ("Date", date), ("Content-Length", str(length))]
    if signed:
        request = Request(
            method="PUT",
            raw_path=f"/big/{key}",
            raw_query="",
            headers=Headers(headers),
            body=b"",
            host=f"127.0.0.1:{port}",
        )
        string_to_sign = v1_string_to_sign(request, classify(request), date)
        signature = v1_signature(config.access_key_secret, string_to_sign)
        headers.append(("Authorization", f"OSS {config.access_key_id}:{signature}"))
    lines = [f"PUT /big/{key} HTTP/1.1", *[f"{k}: {v}" for k, v in headers]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _first_answer(sock: socket.socket) -> bytes:
    """Read one whole answer (the head, then Content-Length bytes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def big() -> Iterator[tuple[ThreadedServer, EmulatorState]]:
    state = EmulatorState(EmulatorConfig(max_inflight_body_bytes=6 * GIB))
    state.oss.ensure_bucket("big")
    with ThreadedServer(state, control=ControlHandler(state)) as server:
        yield server, state
    state.close()


def _wait_for(condition: object, what: str) -> None:
    """Wait (not assert) for the server to reach a state; fails only if it never does."""
    deadline = time.monotonic() + 30
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"the server never reached: {what}")
        time.sleep(0.01)


def test_unauthenticated_announcements_are_refused_from_the_head(
    big: tuple[ThreadedServer, EmulatorState],
) -> None:
    """EMU-SEC-001: four unsigned requests announcing 1 GiB each get 403 AccessDenied
    before a single body byte is sent; nothing is reserved and RSS stays within 64 MiB."""
    server, state = big
    process = psutil.Process()
    before = process.memory_info().rss
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(4)]
    try:
        for index, sock in enumerate(sockets):
            sock.sendall(_head(server.port, f"k{index}", GIB, signed=False, config=state.config))
        for sock in sockets:
            answer = _first_answer(sock)
            assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]
            assert b"<Code>AccessDenied</Code>" in answer
        assert server.body_budget.peak == 0
        assert process.memory_info().rss - before < RSS_BOUND
    finally:
        for sock in sockets:
            sock.close()


def test_authenticated_announcements_reserve_but_do_not_allocate(
    big: tuple[ThreadedServer, EmulatorState],
) -> None:
    """EMU-SEC-001: four signed requests announcing 1 GiB and sending nothing are held
    (their 4 GiB reserved in the budget) while RSS grows by less than 64 MiB; when they
    go away the reservation is released and nothing was stored."""
    server, state = big
    process = psutil.Process()
    before = process.memory_info().rss
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(4)]
    try:
        for index, sock in enumerate(sockets):
            sock.sendall(_head(server.port, f"k{index}", GIB, signed=True, config=state.config))
        _wait_for(lambda: server.body_budget.used == 4 * GIB, "4 GiB reserved")
        assert process.memory_info().rss - before < RSS_BOUND
        sockets[0].sendall(b"x" * MIB)  # bytes arrive: memory follows them, no more
        assert process.memory_info().rss - before < RSS_BOUND + 2 * MIB
    finally:
        for sock in sockets:
            sock.close()
    _wait_for(lambda: server.body_budget.used == 0, "the reservations released")
    assert state.oss.dump()["buckets"][0]["objects"] == []


def test_a_full_budget_answers_503_slowdown_and_a_body_beyond_it_is_too_large(
    big: tuple[ThreadedServer, EmulatorState],
) -> None:
    """EMU-SEC-001: with a 6 GiB budget, six signed 1 GiB announcements are held, the
    seventh is answered 503 SlowDown at once; a single 7 GiB announcement can never fit
    and is 400 EntityTooLarge. Neither reads a body byte."""
    server, state = big
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(7)]
    try:
        for index, sock in enumerate(sockets[:6]):
            sock.sendall(_head(server.port, f"k{index}", GIB, signed=True, config=state.config))
        _wait_for(lambda: server.body_budget.used == 6 * GIB, "6 GiB reserved")
        sockets[6].sendall(_head(server.port, "k6", GIB, signed=True, config=state.config))
        answer = _first_answer(sockets[6])
        assert answer.startswith(b"HTTP/1.1 503 "), answer[:200]
        assert b"<Code>SlowDown</Code>" in answer
    finally:
        for sock in sockets:
            sock.close()
    _wait_for(lambda: server.body_budget.used == 0, "the reservations released")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(_head(server.port, "huge", 7 * GIB, signed=True, config=state.config))
        answer = _first_answer(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"<Code>EntityTooLarge</Code>" in answer


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/?Action=CreateUploadVideo&Version=2017-03-21", b'"Code"'),
        ("/_emulator/faults", b'"error"'),
    ],
)
def test_rpc_and_control_bodies_are_capped_before_reading(
    served: RunningEmulator, target: str, expected: bytes
) -> None:
    """EMU-SEC-001: RPC and control-plane bodies are small JSON or forms: announcing
    1 GiB is refused at once, in the service's format, without reading the body."""
    host, port = host_port(served.url)
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(
            f"POST {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {GIB}\r\n\r\n".encode()
        )
        answer = _first_answer(sock)
    assert answer.startswith(b"HTTP/1.1 4"), answer[:200]
    assert expected in answer


@pytest.mark.parametrize("data_dir", [False, True])
def test_uploads_still_work_in_both_storage_modes(tmp_path: object, data_dir: bool) -> None:
    """EMU-SEC-001: oss2 PutObject and a multipart upload of several MiB, in memory and
    with --data-dir, store exactly what was sent, and the budget is released."""
    config = EmulatorConfig(data_dir=tmp_path if data_dir else None, fsync=False)  # type: ignore[arg-type]
    state = EmulatorState(config)
    with ThreadedServer(state) as server:
        session = oss2.Session()
        try:
            bucket = oss2.Bucket(
                oss2.Auth(config.access_key_id, config.access_key_secret),
                server.url,
                "modes",
                session=session,
            )
            bucket.create_bucket()
            payload = bytes(range(256)) * (12 * 4096)  # 12 MiB
            bucket.put_object("whole", payload)
            assert bucket.get_object("whole").read() == payload
            upload_id = bucket.init_multipart_upload("parts").upload_id
            parts = [
                oss2.models.PartInfo(
                    number, bucket.upload_part("parts", upload_id, number, chunk).etag
                )
                for number, chunk in enumerate((payload[: 9 * MIB], payload[9 * MIB :]), 1)
            ]
            bucket.complete_multipart_upload("parts", upload_id, parts)
            assert bucket.get_object("parts").read() == payload
        finally:
            session.session.close()
        _wait_for(lambda: server.body_budget.used == 0, "the reservations released")
    state.close()
