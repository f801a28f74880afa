"""Every control-plane operation, through emulator.control.Client, in both modes.

EMU-CTL-010: the typed client is what every test here drives the control plane with.
"""

from __future__ import annotations

import email.utils

import oss2
import pytest
import requests
from support.control import VodApi

from emulator.control import Client, ControlClientError
from emulator.control.recorder import RequestLog
from emulator.faults import SERVICE_UNAVAILABLE, Effect, Fault, Match
from emulator.http import Headers, OperationInfo, Request
from emulator.pytest_plugin import EmulatorEndpoint
from emulator.redaction import token_ref


@pytest.fixture
def bucket(vod_emulator_each_mode: EmulatorEndpoint, vod_oss2_session: oss2.Session) -> oss2.Bucket:
    emu = vod_emulator_each_mode
    auth = oss2.Auth(emu.access_key_id, emu.access_key_secret)
    made = oss2.Bucket(auth, emu.url, "ctl-media", is_path_style=True, session=vod_oss2_session)
    made.create_bucket()
    return made


def test_health_and_errors_are_json(vod_emulator_each_mode: EmulatorEndpoint) -> None:
    """EMU-CTL-001: JSON in and out; bad requests are typed JSON errors, never a 500."""
    control = vod_emulator_each_mode.control
    assert control.health()
    url = vod_emulator_each_mode.url
    session = requests.Session()
    session.trust_env = False
    with session:
        missing = session.get(f"{url}/_emulator/nothing-here")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NoSuchControlOperation"
        wrong_method = session.delete(f"{url}/_emulator/clock")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"]["code"] == "MethodNotAllowed"
        garbage = session.post(f"{url}/_emulator/faults", data=b"{not json")
        assert garbage.status_code == 400
        assert garbage.json()["error"]["code"] == "MalformedJSON"
    with pytest.raises(ControlClientError) as refused:
        control.advance(-1)
    assert (refused.value.status, refused.value.code) == (400, "InvalidArgument")


def test_client_ignores_http_proxy(
    vod_emulator: EmulatorEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EMU-CTL-010: the client talks to the emulator directly, even with HTTP_PROXY set
    (as it is for proxy-mode tests); refusals carry status, code and message."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    with Client(vod_emulator.url) as control:
        assert control.health()
        with pytest.raises(ControlClientError) as refused:
            control.remove_fault("nope")
    assert (refused.value.status, refused.value.code) == (404, "NoSuchFault")
    assert "NoSuchFault" in str(refused.value)


def test_control_plane_never_meets_faults(vod_emulator_each_mode: EmulatorEndpoint) -> None:
    """EMU-CTL-001: a fault matching everything leaves the control plane reachable."""
    control = vod_emulator_each_mode.control
    control.add_fault(effect=Effect.reset_before_body())
    assert control.health()
    assert control.requests() == []


def test_reset_all_restores_a_fresh_emulator(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket, vod_api: VodApi
) -> None:
    """EMU-CTL-002: reset drops data, tokens, faults, chaos, the request log, the frozen
    clock and changed settings."""
    control = vod_emulator_each_mode.control
    bucket.put_object("k", b"data")
    vod_api.create_upload_video()
    control.freeze()
    control.update_settings(upload_auth_ttl_seconds=5)
    control.add_fault(effect=SERVICE_UNAVAILABLE, match=Match(service="vod"))
    control.start_chaos(seed=1, rate=0.0)
    assert control.reset() == ["oss", "vod", "sts"]
    state = control.state()
    assert state["oss"]["buckets"] == [] and state["vod"]["videos"] == []
    assert state["tokens"] == [] and state["requests"] == []
    assert state["faults"] == {"installed": [], "hits": [], "chaos": None}
    assert state["clock"]["frozen"] is False and state["clock"]["offset"] == 0
    assert state["settings"]["upload_auth_ttl_seconds"] == 3000


def test_reset_one_service_keeps_the_others(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket, vod_api: VodApi
) -> None:
    """EMU-CTL-002: reset("oss") empties OSS only; reset("vod") and reset("sts") likewise."""
    control = vod_emulator_each_mode.control
    bucket.put_object("k", b"data")
    target = vod_api.create_upload_video()
    assert control.reset("oss") == ["oss"]
    state = control.state()
    assert state["oss"]["buckets"] == []
    assert [v["video_id"] for v in state["vod"]["videos"]] == [target.video_id]
    assert len(state["tokens"]) == 1
    control.reset("sts")
    assert control.tokens() == []
    control.reset("vod")
    assert control.state()["vod"]["videos"] == []
    with pytest.raises(ControlClientError) as refused:
        control.reset("s3")
    assert refused.value.code == "InvalidService"


def test_state_dump_shows_everything(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket, vod_api: VodApi
) -> None:
    """EMU-CTL-003: buckets, objects, open uploads with parts, videos with status, tokens
    with expiry, recorded requests and fault hits, in one JSON document."""
    control = vod_emulator_each_mode.control
    bucket.put_object("done.txt", b"hello")
    upload_id = bucket.init_multipart_upload("open.bin").upload_id
    bucket.upload_part("open.bin", upload_id, 1, b"x" * (100 * 1024))
    target = vod_api.create_upload_video()
    control.add_fault(effect=SERVICE_UNAVAILABLE, match=Match(key="never"), times=1)
    fault_id = control.add_fault(effect=SERVICE_UNAVAILABLE, match=Match(key="fails"), times=1)
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.put_object("fails", b"x")

    state = control.state()
    [media] = [b for b in state["oss"]["buckets"] if b["name"] == "ctl-media"]
    [stored] = media["objects"]
    assert (stored["key"], stored["size"]) == ("done.txt", 5)
    [upload] = state["oss"]["uploads"]
    assert upload["upload_id"] == upload_id
    assert [p["part_number"] for p in upload["parts"]] == [1]
    [video] = state["vod"]["videos"]
    assert (video["video_id"], video["status"]) == (target.video_id, "Uploading")
    [token] = state["tokens"]
    full = target.access_key_id
    assert token["access_key_id"] == f"{full[:4]}***{full[-4:]}"  # masked (EMU-SEC-005)
    assert token["token_id"] == token_ref(full)
    assert token["expires_at"] > token["issued_at"] and token["expired"] is False
    assert "access_key_secret" not in token and "security_token" not in token
    operations = [(r["service"], r["operation"], r["status"]) for r in state["requests"]]
    assert ("oss", "PutObject", 200) in operations
    assert ("oss", "UploadPart", 200) in operations
    assert ("vod", "CreateUploadVideo", 200) in operations
    assert ("oss", "PutObject", 503) in operations
    [hit] = state["faults"]["hits"]
    assert (hit["fault_id"], hit["key"]) == (fault_id, "fails")
    assert [f["fired"] for f in state["faults"]["installed"]] == [0, 1]


def test_clock_read_freeze_advance_unfreeze(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-CTL-004: the clock freezes (now or at an instant), advances, and follows wall
    time again without jumping back; Last-Modified reads it."""
    control = vod_emulator_each_mode.control
    before = control.clock()
    assert not before.frozen
    # Far from wall time, every SDK signature would be RequestTimeTooSkewed (15 min), so
    # the instants here stay within minutes of now.
    instant = float(int(before.now) + 60)
    frozen = control.freeze(instant)
    assert frozen.frozen and frozen.now == instant
    assert control.clock().now == instant
    assert control.advance(90).now == instant + 90
    bucket.put_object("k", b"data")
    modified = email.utils.parsedate_to_datetime(bucket.head_object("k").headers["Last-Modified"])
    assert modified.timestamp() == instant + 90
    released = control.unfreeze()
    assert not released.frozen and released.now >= instant + 90
    assert released.offset > 0
    later = control.advance(10)
    assert later.now >= released.now + 10
    assert control.freeze().now >= later.now  # freeze "now" keeps the emulated instant
    assert control.freeze(2_000_000_000).iso.startswith("2033-05-18T03:33:20")


def test_settings_read_and_update(vod_emulator_each_mode: EmulatorEndpoint) -> None:
    """EMU-CTL-005: token TTLs and other settings are read and changed, all or nothing."""
    control = vod_emulator_each_mode.control
    defaults = control.settings()
    assert defaults["upload_auth_ttl_seconds"] == 3000
    updated = control.update_settings(upload_auth_ttl_seconds=2, sts_default_ttl_seconds=900)
    assert (updated["upload_auth_ttl_seconds"], updated["sts_default_ttl_seconds"]) == (2, 900)
    with pytest.raises(ControlClientError) as unknown:
        control.update_settings(upload_auth_ttl_seconds=7, colour=3)
    assert unknown.value.code == "InvalidSetting"
    assert control.settings()["upload_auth_ttl_seconds"] == 2  # nothing changed


def test_unknown_token_is_404(vod_emulator_each_mode: EmulatorEndpoint) -> None:
    """EMU-CTL-006: expiring or revoking a token that was never issued is NoSuchToken."""
    control = vod_emulator_each_mode.control
    for operation in (control.expire_token, control.revoke_token):
        with pytest.raises(ControlClientError) as missing:
            operation("STS.nope")
        assert (missing.value.status, missing.value.code) == (404, "NoSuchToken")
    with pytest.raises(ControlClientError):
        control.expire_token(vod_emulator_each_mode.access_key_id)  # the root key


def test_faults_add_list_remove_clear(vod_emulator_each_mode: EmulatorEndpoint) -> None:
    """EMU-CTL-007: faults are added (one, many, as values or JSON), listed, removed,
    cleared; malformed or duplicate ones are refused."""
    control = vod_emulator_each_mode.control
    first = control.add_fault(Fault(effect=Effect.delay(0.01), id="slow"))
    more = control.add_faults(
        [{"effect": {"type": "reset_after_body"}, "times": 2}, Fault(effect=SERVICE_UNAVAILABLE)]
    )
    assert first == "slow" and len(more) == 2
    listed = control.faults()
    assert [f["id"] for f in listed] == ["slow", *more]
    assert listed[1]["effect"] == {"type": "reset_after_body"} and listed[1]["times"] == 2
    control.remove_fault("slow")
    assert [f["id"] for f in control.faults()] == more
    with pytest.raises(ControlClientError) as missing:
        control.remove_fault("slow")
    assert missing.value.code == "NoSuchFault"
    with pytest.raises(ControlClientError) as malformed:
        control.add_fault({"effect": {"type": "explode"}})
    assert (malformed.value.status, malformed.value.code) == (400, "InvalidFault")
    with pytest.raises(ControlClientError) as duplicate:
        control.add_fault(Fault(effect=SERVICE_UNAVAILABLE, id=more[0]))
    assert duplicate.value.code == "FaultExists"
    control.clear_faults()
    assert control.faults() == []


def test_chaos_start_read_stop(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-CTL-008: chaos starts with a seed, rate and effects, reports what it fired and
    stops; a chaos without a seed is refused."""
    control = vod_emulator_each_mode.control
    started = control.start_chaos(
        seed=5, rate=1.0, effects=[SERVICE_UNAVAILABLE], match=Match(operation="PutObject")
    )
    assert started["seed"] == 5 and started["fired"] == 0
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.put_object("k", b"x")
    current = control.chaos()
    assert current is not None and current["fired"] == 1
    stopped = control.stop_chaos()
    assert stopped is not None and stopped["fired"] == 1
    assert control.chaos() is None
    bucket.put_object("k", b"x")
    with pytest.raises(ControlClientError) as refused:
        control._call("POST", "/chaos", {"rate": 0.5})
    assert refused.value.code == "InvalidChaos"


def test_request_log_list_and_clear(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-CTL-009: requests are recorded with method, path, operation, status and time."""
    control = vod_emulator_each_mode.control
    instant = control.freeze().now
    control.clear_requests()
    bucket.put_object("a/b c.txt", b"x")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.get_object("missing")
    put, get = control.requests()
    assert (put["method"], put["operation"], put["status"]) == ("PUT", "PutObject", 200)
    assert put["key"] == "a/b c.txt" and put["at"] == instant
    assert put["path"].startswith("/ctl-media/")
    assert (get["method"], get["operation"], get["status"]) == ("GET", "GetObject", 404)
    assert get["seq"] == put["seq"] + 1
    control.clear_requests()
    assert control.requests() == []


def test_request_log_is_a_bounded_ring_buffer() -> None:
    """EMU-CTL-009: the oldest records drop first once the log is full."""
    log = RequestLog(capacity=3)
    request = Request(
        method="GET", raw_path="/", raw_query="", headers=Headers(), body=b"", host="h"
    )
    for number in range(5):
        log.record(request, OperationInfo(service="oss", operation=f"Op{number}"), status=200, at=0)
    assert [r.operation for r in log.records()] == ["Op2", "Op3", "Op4"]
    assert [r.seq for r in log.records()] == [3, 4, 5]


@pytest.mark.parametrize(
    ("effect", "status"),
    [
        (Effect.reset_before_body(), 0),
        (Effect.reset_after_body(), 0),
        (Effect.drop_after_commit(), 0),
        (Effect.error(500, "InternalError"), 500),
    ],
)
def test_request_log_marks_faulted_requests(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket, effect: Effect, status: int
) -> None:
    """EMU-CTL-009: a request that met a fault is logged with the fault's id, and with
    status 0 when no status line was sent (reset or dropped connection)."""
    control = vod_emulator_each_mode.control
    fault_id = control.add_fault(effect=effect, match=Match(operation="PutObject"), times=1)
    control.clear_requests()
    with pytest.raises((oss2.exceptions.RequestError, oss2.exceptions.ServerError)):
        bucket.put_object("k", b"x")
    [record] = control.requests()
    assert (record["operation"], record["status"], record["fault_id"]) == (
        "PutObject",
        status,
        fault_id,
    )
