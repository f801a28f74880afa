"""The socket server and the app router: framing, limits, proxy form, fault enactment."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import oss2
import pytest

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.faults.effects import EffectType, ErrorEffect, FaultDecision, TransportEffect
from emulator.http import Headers, OperationInfo, Request, Response
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


@dataclass
class ScriptedFaults:
    """A fault hook that applies one decision to operations named in ``operations``."""

    decision: FaultDecision | None = None
    operations: set[str] = field(default_factory=set)
    seen: list[OperationInfo] = field(default_factory=list)

    def decide(self, info: OperationInfo, *, now: float) -> FaultDecision | None:
        self.seen.append(info)
        if info.operation in self.operations:
            return self.decision
        return None


@dataclass
class Served:
    server: ThreadedServer
    state: EmulatorState
    faults: ScriptedFaults
    bucket: oss2.Bucket

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture
def served(oss2_clients: list[object]) -> Iterator[Served]:
    state = EmulatorState(EmulatorConfig(max_header_bytes=8 * 1024))
    faults = ScriptedFaults()
    state.faults = faults
    state.oss.ensure_bucket("srv-bucket")
    with ThreadedServer(state, read_timeout=1.0) as server:
        bucket = oss2.Bucket(
            oss2.Auth(state.config.access_key_id, state.config.access_key_secret),
            server.url,
            "srv-bucket",
            connect_timeout=5,
        )
        oss2_clients.append(bucket)
        yield Served(server=server, state=state, faults=faults, bucket=bucket)
    state.db.close()


def raw_exchange(port: int, payload: bytes, *, read_timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def test_threaded_server_lifecycle() -> None:
    """EMU-SRV-001: binds 127.0.0.1 on a free port, ready when start() returns, stops
    cleanly (the port is released and keep-alive connections end)."""
    state = EmulatorState()
    server = ThreadedServer(state)
    server.start()
    try:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        connection.request("GET", "/")
        assert connection.getresponse().read()
    finally:
        server.stop()
    with pytest.raises(OSError):
        connection.request("GET", "/")
        connection.getresponse()
    connection.close()
    with pytest.raises(RuntimeError):
        _ = server.port
    state.db.close()


def test_keep_alive_and_chunked(served: Served) -> None:
    """EMU-SRV-002 EMU-OSS-017: several requests on one connection; a chunked body with
    chunk extensions and trailers is de-chunked."""
    url = served.bucket.sign_url("PUT", "chunked.bin", 60)
    path = url.split(str(served.port), 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    for _ in range(2):
        connection.putrequest("PUT", path, skip_accept_encoding=True)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        connection.send(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n")
        response = connection.getresponse()
        response.read()
        assert response.status == 200
    connection.close()
    assert served.bucket.get_object("chunked.bin").read() == b"hello world"


@pytest.mark.parametrize(
    "payload",
    [
        b"PUT /srv-bucket/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"PUT /srv-bucket/x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
        b"PUT /srv-bucket/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
        b"FOO /srv-bucket/x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        b"GET srv-bucket HTTP/1.1\r\nHost: a\r\n\r\n",
    ],
    ids=[
        "bad-chunk",
        "negative-length",
        "gzip-te",
        "garbage",
        "long-line",
        "big-header",
        "unknown-method",
        "relative-path",
    ],
)
def test_malformed_requests_never_500(served: Served, payload: bytes) -> None:
    """EMU-SRV-002 EMU-OSS-042: malformed framing gets a 4xx/501 (or a closed connection),
    never a 500 or a hang; the server keeps serving."""
    reply = raw_exchange(served.port, payload)
    if reply:
        status = int(reply.split(b" ", 2)[1])
        assert 400 <= status < 500 or status == 501, reply[:200]
    assert served.bucket.put_object("alive", b"yes").status == 200


def test_slow_client_times_out(served: Served) -> None:
    """EMU-SRV-002: a client that stops sending headers is disconnected after the read
    timeout (slowloris)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        started = time.monotonic()
        assert sock.recv(1024) == b""
        assert time.monotonic() - started < 5


def _signed_put_head(served: Served, key: str, length: int) -> bytes:
    target = served.bucket.sign_url("PUT", key, 60).split(str(served.port), 1)[1]
    return (
        f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def test_trickled_body_is_read_whole(served: Served) -> None:
    """EMU-SRV-002: a large body arriving in small pieces, each within the read timeout,
    is read whole (the server asks the kernel for the whole body in one read)."""
    body = bytes(range(256)) * 2400  # 600 KiB: read into a mapping
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(_signed_put_head(served, "trickled.bin", len(body)))
        for offset in range(0, len(body), 100_000):
            time.sleep(0.05)
            sock.sendall(body[offset : offset + 100_000])
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    assert served.bucket.get_object("trickled.bin").read() == body


def test_client_stalled_mid_body_is_disconnected(served: Served) -> None:
    """EMU-SRV-002 EMU-SEC-001: a client that stops sending half-way through a body is
    disconnected after the read timeout, nothing is stored and its reservation in the
    body budget is released."""
    body = b"x" * (600 * 1024)
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(_signed_put_head(served, "stalled.bin", len(body)) + body[:300_000])
        assert sock.recv(65536) == b""  # closed without an answer, not left waiting
    assert not served.bucket.object_exists("stalled.bin")
    assert served.server.body_budget.used == 0


def test_proxy_form(served: Served) -> None:
    """EMU-SRV-003: absolute-URI requests for *.aliyuncs.com are served locally
    (virtual-hosted OSS here); any other host is refused and nothing is forwarded."""
    served.bucket.put_object("p.txt", b"proxied")
    proxied = oss2.Bucket(
        served.bucket.auth,
        "http://oss-cn-shanghai.aliyuncs.com",
        "srv-bucket",
        proxies={"http": served.server.url},
    )
    try:
        assert proxied.get_object("p.txt").read() == b"proxied"
    finally:
        proxied.session.session.close()
    form = b"Action=GetVideoInfo&Version=2017-03-21&VideoId=1"
    rpc = raw_exchange(
        served.port,
        b"POST http://vod.cn-shanghai.aliyuncs.com/ HTTP/1.1\r\n"
        b"Host: vod.cn-shanghai.aliyuncs.com\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(form)}\r\n\r\n".encode()
        + form,
    )
    assert b'"Code"' in rpc  # answered by the RPC side in its JSON format
    reply = raw_exchange(
        served.port, b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n"
    )
    assert reply.startswith(b"HTTP/1.1 403")
    assert b"never forwards" in reply


def test_fault_hook_sees_operation_before_body(served: Served) -> None:
    """EMU-OSS-061 EMU-OSS-060: the server classifies each request (bucket, key, part
    number) and asks the hook once, before reading the body."""
    upload_id = served.bucket.init_multipart_upload("f.bin").upload_id
    served.bucket.upload_part("f.bin", upload_id, 7, b"x")
    infos = [i for i in served.faults.seen if i.operation == "UploadPart"]
    assert infos == [
        OperationInfo(
            service="oss", operation="UploadPart", bucket="srv-bucket", key="f.bin", part_number=7
        )
    ]


def test_error_effect_answers_in_oss_format(served: Served) -> None:
    """EMU-OSS-061: an ErrorEffect answers with that OSS error and does not run the
    operation."""
    served.faults.decision = FaultDecision(
        fault_id="f1", error=ErrorEffect(status=503, code="ServiceUnavailable", message="busy")
    )
    served.faults.operations = {"PutObject"}
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        served.bucket.put_object("never", b"x")
    assert (excinfo.value.status, excinfo.value.code) == (503, "ServiceUnavailable")
    assert served.state.oss.head_object("srv-bucket", "never") is None


@pytest.mark.parametrize(
    ("action", "committed"),
    [
        (EffectType.RESET_BEFORE_BODY, False),
        (EffectType.RESET_AFTER_BODY, False),
        (EffectType.DROP_AFTER_COMMIT, True),
    ],
)
def test_connection_faults(served: Served, action: EffectType, committed: bool) -> None:
    """EMU-SRV-004: resets before/after the body never run the operation; a drop after
    commit runs it and then closes the connection unanswered."""
    served.faults.decision = FaultDecision(fault_id="t", transport=TransportEffect(action=action))
    served.faults.operations = {"PutObject"}
    with pytest.raises(oss2.exceptions.RequestError):
        served.bucket.put_object("t.bin", b"z" * 1000)
    assert (served.state.oss.head_object("srv-bucket", "t.bin") is not None) is committed


def test_delay_stall_throttle_truncate(served: Served) -> None:
    """EMU-SRV-004: DELAY answers late, THROTTLE paces the body, TRUNCATE cuts it and
    closes, STALL sends nothing."""
    data = bytes(range(256)) * 80  # 20 KiB
    served.bucket.put_object("d.bin", data)
    served.faults.operations = {"GetObject"}

    served.faults.decision = FaultDecision(
        fault_id="d", transport=TransportEffect(action=EffectType.DELAY, seconds=0.3)
    )
    started = time.monotonic()
    assert served.bucket.get_object("d.bin").read() == data
    assert time.monotonic() - started >= 0.3

    served.faults.decision = FaultDecision(
        fault_id="t",
        transport=TransportEffect(action=EffectType.THROTTLE, bytes_per_second=80_000),
    )
    started = time.monotonic()
    assert served.bucket.get_object("d.bin").read() == data
    assert time.monotonic() - started >= 0.2

    served.faults.decision = FaultDecision(
        fault_id="c", transport=TransportEffect(action=EffectType.TRUNCATE, truncate_at=100)
    )
    url = served.bucket.sign_url("GET", "d.bin", 60)
    path = url.split(str(served.port), 1)[1]
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead) as excinfo:
        response.read()
    assert len(excinfo.value.partial) == 100
    connection.close()

    served.faults.decision = FaultDecision(
        fault_id="s", transport=TransportEffect(action=EffectType.STALL, seconds=0.3)
    )
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=5)
    connection.request("GET", path)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.getresponse()
    connection.close()


def test_stop_ends_a_stalled_connection() -> None:
    """EMU-SRV-001 EMU-SRV-004: stop() does not wait for a long STALL to finish."""
    state = EmulatorState()
    state.faults = ScriptedFaults(
        decision=FaultDecision(
            fault_id="s", transport=TransportEffect(action=EffectType.STALL, seconds=60)
        ),
        operations={"ListBuckets"},
    )
    server = ThreadedServer(state).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/")
    waiter = threading.Thread(target=lambda: time.sleep(0.2) or server.stop())
    started = time.monotonic()
    waiter.start()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        connection.getresponse()
    waiter.join()
    assert time.monotonic() - started < 10
    connection.close()
    state.db.close()


def make_request(method: str, path: str, **kwargs: object) -> Request:
    return Request(
        method=method,
        raw_path=path,
        raw_query=str(kwargs.get("query", "")),
        headers=Headers(list(kwargs.get("headers", []))),  # type: ignore[arg-type]
        body=bytes(kwargs.get("body", b"")),  # type: ignore[arg-type]
        host=str(kwargs.get("host", "127.0.0.1:1")),
    )


def test_app_routing_and_control_plane() -> None:
    """EMU-OSS-060: /_emulator/ goes to the control handler (a JSON 404 when none is
    installed), RPC traffic to emulator.rpc, the rest to OSS."""
    state = EmulatorState()
    bare = create_app(state)
    response = bare.handle(make_request("GET", "/_emulator/state"))
    assert response.status == 404 and b"control plane" in response.body_bytes()
    calls: list[str] = []

    def control(request: Request) -> Response:
        calls.append(request.raw_path)
        return Response(status=200, body=b"{}")

    app = create_app(state, control=control)
    assert app.handle(make_request("POST", "/_emulator/reset")).status == 200
    assert calls == ["/_emulator/reset"]
    assert app.classify(make_request("POST", "/_emulator/reset")).service == "control"
    rpc = make_request("POST", "/", query="Action=GetVideoInfo&Version=2017-03-21&VideoId=x")
    assert app.classify(rpc).service == "vod"
    assert b"Code" in app.handle(rpc).body_bytes()
    oss = make_request("PUT", "/b-bucket/k", query="partNumber=3&uploadId=AB")
    assert app.classify(oss) == OperationInfo(
        service="oss", operation="UploadPart", bucket="b-bucket", key="k", part_number=3
    )
    vhost = make_request("GET", "/dir/k", host="b-bucket.oss-cn-shanghai.aliyuncs.com")
    assert app.classify(vhost) == OperationInfo(
        service="oss", operation="GetObject", bucket="b-bucket", key="dir/k"
    )
    state.db.close()


def test_expect_continue_and_http10(served: Served) -> None:
    """EMU-SRV-002: Expect: 100-continue gets an interim 100 before the body is read;
    an HTTP/1.0 request is answered and the connection closed."""
    url = served.bucket.sign_url("PUT", "continue.txt", 60)
    target = url.split(str(served.port), 1)[1]
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as sock:
        sock.sendall(
            f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
            "Expect: 100-continue\r\n\r\n".encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"body")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    assert served.bucket.get_object("continue.txt").read() == b"body"
    get_target = served.bucket.sign_url("GET", "continue.txt", 60).split(str(served.port), 1)[1]
    reply = raw_exchange(served.port, f"GET {get_target} HTTP/1.0\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"body")


def test_connection_limit() -> None:
    """EMU-SRV-002: beyond max_connections a new connection gets 503 SlowDown and is
    closed; once a connection ends, new ones are served again."""
    state = EmulatorState()
    with ThreadedServer(state, max_connections=2) as server:
        held = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=5) for _ in range(2)]
        for connection in held:
            connection.request("GET", "/")
            connection.getresponse().read()
        reply = raw_exchange(server.port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 503") and b"<Code>SlowDown</Code>" in reply
        held.pop().close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close asynchronously
            reply = raw_exchange(
                server.port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
            )
            if not reply.startswith(b"HTTP/1.1 503") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply.startswith(b"HTTP/1.1 403")  # served (anonymous ListBuckets)
        for connection in held:
            connection.close()
    state.db.close()
