"""Finding 5 (issue 9): an open control plane that leaked live tokens.

``/_emulator/state`` and ``/_emulator/requests`` showed SecurityTokens and presigned
signatures in raw query strings; the control plane accepted any ``Host`` (DNS rebinding)
and cross-origin ``text/plain`` POSTs (any web page could reset or poison it); ``--host
0.0.0.0`` bound without a word. Real socket, official SDKs for the signed traffic.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.rpc import REGION, RunningEmulator, core_call, core_client
from support.security import http_request, json_body

from emulator.cli import exposure_warning, is_loopback_host
from emulator.config import EmulatorConfig
from emulator.control import Client, ControlClientError, ControlHandler
from emulator.credentials import CredentialKind
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


def _secret_traffic(emulator: RunningEmulator) -> list[str]:
    """Signed traffic from the official clients; returns every secret it carried."""
    state = emulator.state
    secrets = [emulator.access_key_secret]
    request = CreateUploadVideoRequest()
    request.set_Title("t")
    request.set_FileName("a.mp4")
    answer = core_call(core_client(emulator), request)
    upload_auth = json.loads(base64.b64decode(answer["UploadAuth"]))
    address = json.loads(base64.b64decode(answer["UploadAddress"]))
    secrets += [upload_auth["SecurityToken"], upload_auth["AccessKeySecret"]]
    sts_auth = oss2.StsAuth(
        upload_auth["AccessKeyId"], upload_auth["AccessKeySecret"], upload_auth["SecurityToken"]
    )
    bucket = oss2.Bucket(
        sts_auth, address["Endpoint"], address["Bucket"], session=emulator.oss_session
    )
    bucket.put_object(address["FileName"], b"video bytes")
    # A presigned V1 URL with a security-token, fetched as a browser would.
    url = bucket.sign_url("GET", address["FileName"], 600)
    secrets.append(url.split("Signature=")[1].split("&")[0])
    with requests.Session() as session:
        session.trust_env = False
        assert session.get(url, timeout=10).status_code in (200, 403)
    # An STS credential signing an RPC call (SecurityToken in the query).
    sts = state.credentials.issue(now=state.clock.now(), ttl_seconds=900, kind=CredentialKind.STS)
    assert sts.security_token is not None
    secrets += [sts.security_token, sts.access_key_secret]
    client = AcsClient(
        region_id=REGION,
        credential=StsTokenCredential(sts.access_key_id, sts.access_key_secret, sts.security_token),
        auto_retry=False,
    )
    client.add_endpoint(REGION, "vod", emulator.host_port)
    emulator.closers.append(client.session.close)
    assert core_call(client, request)["VideoId"]
    # A V4 presigned URL from alibabacloud-oss-v2 (x-oss-credential, x-oss-signature).
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        emulator.access_key_id, emulator.access_key_secret
    )
    cfg.region, cfg.endpoint, cfg.use_path_style = REGION, emulator.url, True
    presigned = oss.Client(cfg).presign(
        oss.GetObjectRequest(bucket=address["Bucket"], key=address["FileName"])
    )
    secrets.append(presigned.url.split("x-oss-signature=")[1].split("&")[0])
    with requests.Session() as session:
        session.trust_env = False
        session.get(presigned.url, timeout=10)
    return secrets


def test_state_and_request_log_never_show_a_secret(
    served: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """EMU-SEC-005: after signed traffic from aliyunsdkcore, oss2 (StsAuth, presigned
    V1) and alibabacloud-oss-v2 (presigned V4), neither view contains a secret, a token
    or a signature; the queries are still there, with those values REDACTED. The
    emulator's own loggers, at DEBUG, write none either."""
    with caplog.at_level(logging.DEBUG, logger="emulator"):
        secrets = _secret_traffic(served)
    for record in caplog.records:
        if record.name.startswith("emulator"):
            for secret in secrets:
                assert secret not in record.getMessage()
    for path in ("/_emulator/state", "/_emulator/requests", "/_emulator/tokens"):
        status, _, body = http_request(served.url, "GET", path)
        assert status == 200
        text = body.decode()
        for secret in secrets:
            assert secret not in text, (path, secret[:8])
    log = json.loads(http_request(served.url, "GET", "/_emulator/requests")[2])
    queries = " ".join(record["query"] for record in log)
    assert "Signature=REDACTED" in queries and "SecurityToken=REDACTED" in queries
    assert "x-oss-signature=REDACTED" in queries and "Action=CreateUploadVideo" in queries


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:80", "attacker.test", "127.0.0.1.nip.io"]
)
def test_control_plane_refuses_foreign_host_names(served: RunningEmulator, host: str) -> None:
    """EMU-SEC-006: a DNS-rebound page sends its own Host: 403 HostNotAllowed, and a
    refused reset changes nothing."""
    served.state.oss.ensure_bucket("kept")
    for method, path in (("GET", "/_emulator/state"), ("POST", "/_emulator/reset")):
        status, _, body = http_request(served.url, method, path, headers={"Host": host})
        assert status == 403, body
        assert json_body(body)["error"]["code"] == "HostNotAllowed"
    assert [b["name"] for b in served.state.oss.dump()["buckets"]] == ["kept"]


def test_control_plane_answers_loopback_and_configured_names() -> None:
    """EMU-SEC-006: loopback names and ``control_hosts`` are served."""
    state = EmulatorState(EmulatorConfig(control_hosts=("emulator.internal",)))
    with ThreadedServer(state, control=ControlHandler(state)) as server:
        port = server.port
        for host in (
            f"127.0.0.1:{port}",
            "127.0.0.2",
            f"localhost:{port}",
            "app.localhost",
            "[::1]:1",
            "emulator.internal:8080",
        ):
            status, _, _ = http_request(
                server.url, "GET", "/_emulator/health", headers={"Host": host}
            )
            assert status == 200, host
    state.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"},
        {"Content-Type": "text/plain;charset=UTF-8"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "multipart/form-data; boundary=x"},
    ],
)
def test_cross_origin_and_simple_writes_are_refused(
    served: RunningEmulator, headers: dict[str, str]
) -> None:
    """EMU-SEC-007: what a web page can send to any origin (an Origin of another site,
    Sec-Fetch-Site cross-site, a text/plain or form body) cannot reset, move the clock or
    install a fault; each is 403 CrossOriginRefused and nothing changes."""
    served.state.oss.ensure_bucket("kept")
    before = http_request(served.url, "GET", "/_emulator/state")[2]
    for path, body in (
        ("/_emulator/reset", b"{}"),
        ("/_emulator/clock/advance", b'{"seconds": 3600}'),
        ("/_emulator/faults", b'{"effect": {"type": "error", "status": 500}}'),
    ):
        status, answer, text = http_request(served.url, "POST", path, headers=headers, body=body)
        assert status == 403, text
        assert json_body(text)["error"]["code"] == "CrossOriginRefused"
        assert "access-control-allow-origin" not in answer
    after = http_request(served.url, "GET", "/_emulator/state")[2]
    assert json.loads(after)["oss"] == json.loads(before)["oss"]
    assert json.loads(after)["faults"] == json.loads(before)["faults"]
    assert json.loads(after)["clock"]["offset"] == json.loads(before)["clock"]["offset"]


def test_same_origin_and_client_writes_still_work(served: RunningEmulator) -> None:
    """EMU-SEC-007: the typed client, a same-origin write and a read with an Origin work;
    no control answer carries CORS headers (a page cannot read them)."""
    host = served.url.removeprefix("http://")
    with Client(served.url) as control:
        control.advance(5)
        assert control.reset() == ["oss", "vod", "sts"]
    status, _, _ = http_request(
        served.url,
        "POST",
        "/_emulator/clock/advance",
        headers={"Origin": f"http://{host}", "Content-Type": "application/json"},
        body=b'{"seconds": 1}',
    )
    assert status == 200
    status, answer, _ = http_request(
        served.url, "GET", "/_emulator/state", headers={"Origin": "http://evil.example"}
    )
    assert status == 200 and "access-control-allow-origin" not in answer
    status, answer, _ = http_request(
        served.url,
        "OPTIONS",
        "/_emulator/reset",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert status != 200 and "access-control-allow-origin" not in answer


@pytest.fixture
def tokened() -> Iterator[tuple[ThreadedServer, str]]:
    token = "ctl-" + "7" * 24
    state = EmulatorState(EmulatorConfig(control_token=token))
    with ThreadedServer(state, control=ControlHandler(state)) as server:
        yield server, token
    state.close()


def test_control_token_is_required_when_configured(tokened: tuple[ThreadedServer, str]) -> None:
    """EMU-SEC-009: with a control token, a control request without it or with another is
    401 ControlTokenRequired; the typed client with ``token=`` works; the token is never
    shown (state, config repr)."""
    server, token = tokened
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        status, _, body = http_request(server.url, "GET", "/_emulator/state", headers=headers)
        assert (status, json_body(body)["error"]["code"]) == (401, "ControlTokenRequired")
    with Client(server.url) as anonymous, pytest.raises(ControlClientError) as raised:
        anonymous.reset()
    assert raised.value.status == 401
    with Client(server.url, token=token) as control:
        control.advance(1)
        assert token not in json.dumps(control.state())
    assert token not in repr(server.state.config)
    assert server.state.config.access_key_secret not in repr(server.state.config)


def test_binding_beyond_loopback_warns_loudly() -> None:
    """EMU-SEC-008: which hosts count as beyond loopback, and what the warning says. The
    CLI prints it on stderr once it listens there; tests never bind beyond loopback
    (the project's rule), so the CLI is checked on the two sides it can be: a loopback
    bind prints no warning, and a failed bind stays the one-line error it is."""
    assert is_loopback_host("127.0.0.1") and is_loopback_host("::1")
    assert is_loopback_host("127.8.9.10") and is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0") and not is_loopback_host("::")
    assert not is_loopback_host("192.168.1.5") and not is_loopback_host("example.com")
    warning = exposure_warning("0.0.0.0", has_token=False)
    assert "WARNING: listening on 0.0.0.0, BEYOND LOOPBACK." in " ".join(warning)
    assert any("--control-token" in line for line in warning)
    assert not any("--control-token" in line for line in exposure_warning("::", has_token=True))
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--host", "192.0.2.1", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot listen" in result.stderr
    quiet = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert quiet.stdout is not None
        assert "listening on" in quiet.stdout.readline()
    finally:
        quiet.terminate()
        _, err = quiet.communicate(timeout=15)
    assert "BEYOND LOOPBACK" not in err


def test_banner_hides_a_chosen_secret_and_the_control_token() -> None:
    """EMU-SEC-005: the CLI banner shows the documented default secret (it is public)
    but not one the user chose, and never the control token."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            "0",
            "--access-key-secret",
            "my-chosen-secret-123",
            "--control-token",
            "my-control-token-456",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(9)]
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    text = "".join(banner) + out + err
    assert "listening on http://127.0.0.1:" in banner[0]
    assert "my-chosen-secret-123" not in text and "my-control-token-456" not in text
