"""Finding 3 (issue 9): signed RPC and ACS3 calls could be replayed.

Every call here goes over a real loopback socket to the real server. The official clients
(aliyunsdkcore, the tea clients) are covered by tests/emulator/vod and tests/emulator/sts;
the JS upload SDK's STS-mode request shape (no ``Timestamp``) is rebuilt by hand below
because it is signed in the browser.
"""

from __future__ import annotations

import time
import uuid

import pytest
from alibabacloud_vod20170321 import models as vod_models
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.rpc import RunningEmulator, core_call, core_client, running_emulator, tea_vod
from support.security import acs3_headers, http_request, iso, json_body, rpc_v1_query

from emulator.clock import ClockSnapshot
from emulator.config import EmulatorConfig
from emulator.credentials import CredentialKind
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


def _videos(emulator: RunningEmulator) -> int:
    return len(emulator.state.vod.dump()["videos"])


def _post(emulator: RunningEmulator, query: str, headers: dict[str, str] | None = None):
    status, _, body = http_request(emulator.url, "POST", "/?" + query, headers=headers)
    return status, json_body(body)


def test_rpc_call_without_timestamp_and_nonce_is_refused(rpc_emulator: RunningEmulator) -> None:
    """EMU-SEC-003: a signed RPC v1 call with neither Timestamp nor SignatureNonce is
    refused (it could be replayed for ever); sending it again creates nothing either."""
    query = rpc_v1_query(
        rpc_emulator.access_key_id,
        rpc_emulator.access_key_secret,
        "CreateUploadVideo",
        timestamp=None,
        nonce=None,
        Title="replay",
        FileName="a.mp4",
    )
    for _ in range(5):
        status, body = _post(rpc_emulator, query)
        assert (status, body["Code"]) == (400, "MissingParameter")
        assert "SignatureNonce" in body["Message"]
    assert _videos(rpc_emulator) == 0


@pytest.mark.parametrize(
    ("leave_out", "unsigned"),
    [
        (("x-acs-date", "x-acs-signature-nonce"), ()),
        (("x-acs-signature-nonce",), ()),
        (("x-acs-date",), ()),
        ((), ("x-acs-signature-nonce",)),
        ((), ("x-acs-date",)),
    ],
)
def test_acs3_call_needs_a_signed_date_and_nonce(
    rpc_emulator: RunningEmulator, leave_out: tuple[str, ...], unsigned: tuple[str, ...]
) -> None:
    """EMU-SEC-003: ACS3 without a signed x-acs-date and x-acs-signature-nonce is
    IncompleteSignature: an unsigned nonce could be swapped to replay the call."""
    query = [("Title", "replay"), ("FileName", "a.mp4")]
    headers = acs3_headers(
        rpc_emulator.host_port,
        rpc_emulator.access_key_id,
        rpc_emulator.access_key_secret,
        "CreateUploadVideo",
        query,
        leave_out=leave_out,
        unsigned=unsigned,
    )
    for _ in range(3):
        status, body = _post(rpc_emulator, "Title=replay&FileName=a.mp4", headers)
        assert (status, body["Code"]) == (400, "IncompleteSignature")
    assert _videos(rpc_emulator) == 0


def test_acs3_replay_is_refused(rpc_emulator: RunningEmulator) -> None:
    """EMU-SEC-003: the same ACS3 request twice: the second is SignatureNonceUsed."""
    query = [("Title", "once"), ("FileName", "a.mp4")]
    headers = acs3_headers(
        rpc_emulator.host_port,
        rpc_emulator.access_key_id,
        rpc_emulator.access_key_secret,
        "CreateUploadVideo",
        query,
    )
    assert _post(rpc_emulator, "Title=once&FileName=a.mp4", headers)[0] == 200
    status, body = _post(rpc_emulator, "Title=once&FileName=a.mp4", headers)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    assert _videos(rpc_emulator) == 1


@pytest.mark.parametrize("advance", [1801, 86400, 10 * 365 * 86400])
def test_moving_the_emulator_clock_does_not_free_a_nonce(
    rpc_emulator: RunningEmulator, advance: int
) -> None:
    """EMU-SEC-003: a nonce is kept while its timestamp is acceptable by either clock; a
    request signed with the real time stays acceptable by the wall clock however far the
    emulator clock moves, so its replay stays refused."""
    query = rpc_v1_query(
        rpc_emulator.access_key_id,
        rpc_emulator.access_key_secret,
        "CreateUploadVideo",
        Title="t",
        FileName="a.mp4",
    )
    assert _post(rpc_emulator, query)[0] == 200
    rpc_emulator.state.clock.advance(advance)
    status, body = _post(rpc_emulator, query)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")
    assert _videos(rpc_emulator) == 1


def _js_sdk_sts_query(emulator: RunningEmulator, nonce: str) -> str:
    """The JS upload SDK 1.5.x STS mode: GET, an STS credential, no Timestamp."""
    state = emulator.state
    sts = state.credentials.issue(
        now=state.clock.now(), ttl_seconds=3 * 86400, kind=CredentialKind.STS
    )
    assert sts.security_token is not None
    return rpc_v1_query(
        sts.access_key_id,
        sts.access_key_secret,
        "CreateUploadVideo",
        method="GET",
        timestamp=None,
        nonce=nonce,
        SecurityToken=sts.security_token,
        Title="browser",
        FileName="clip.mp4",
    )


def test_js_sdk_sts_mode_works_once_and_only_once(rpc_emulator: RunningEmulator) -> None:
    """EMU-SEC-003: the browser's timestamp-less STS-mode call is served, and its nonce is
    remembered for good: a replay a day (emulated) later is still refused."""
    query = _js_sdk_sts_query(rpc_emulator, uuid.uuid4().hex)
    status, _, body = http_request(rpc_emulator.url, "GET", "/?" + query)
    assert status == 200, body
    rpc_emulator.state.clock.advance(86400)
    status, _, body = http_request(rpc_emulator.url, "GET", "/?" + query)
    assert (status, json_body(body)["Code"]) == (400, "SignatureNonceUsed")
    assert _videos(rpc_emulator) == 1


def test_forgotten_nonces_cannot_be_replayed_whatever_the_clock_does() -> None:
    """EMU-SEC-003: when the nonce table is full, only nonces whose timestamps are outside
    both windows are forgotten, and every timestamp up to the newest forgotten one is
    refused from then on, even if the emulator clock is moved back to accept it."""
    state = EmulatorState(EmulatorConfig(max_remembered_nonces=4))
    key, secret = state.config.access_key_id, state.config.access_key_secret
    with ThreadedServer(state) as server:
        past = time.time() - 30 * 86400
        state.clock.freeze(past)
        old = [
            rpc_v1_query(key, secret, "GetVideoInfo", timestamp=iso(past), VideoId="x")
            for _ in range(4)
        ]
        for query in old:
            assert http_request(server.url, "POST", "/?" + query)[0] == 404
        state.clock.restore(ClockSnapshot(offset=0.0, frozen_at=None))
        for _ in range(8):  # pushes the table over capacity: the old nonces go
            query = rpc_v1_query(key, secret, "GetVideoInfo", VideoId="x")
            assert http_request(server.url, "POST", "/?" + query)[0] == 404
        state.clock.freeze(past)
        for query in old:
            status, _, body = http_request(server.url, "POST", "/?" + query)
            assert (status, json_body(body)["Code"]) == (400, "InvalidTimeStamp.Expired")
        # A timestamp in the window that was never forgotten is still served.
        fresh = rpc_v1_query(key, secret, "GetVideoInfo", timestamp=iso(past + 60), VideoId="x")
        assert http_request(server.url, "POST", "/?" + fresh)[0] == 404
    state.close()


def test_official_clients_still_work() -> None:
    """EMU-SEC-003: aliyunsdkcore (RPC v1) and the tea client (ACS3) create videos as
    before; each call carries its own nonce."""
    with running_emulator() as emulator:
        client = core_client(emulator)
        request = CreateUploadVideoRequest()
        request.set_Title("core")
        request.set_FileName("a.mp4")
        assert core_call(client, request)["VideoId"]
        answer = tea_vod(emulator).create_upload_video(
            vod_models.CreateUploadVideoRequest(title="tea", file_name="b.mp4")
        )
        assert answer.body.video_id
        assert _videos(emulator) == 2
