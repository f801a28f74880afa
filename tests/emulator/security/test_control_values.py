"""Finding 2 (issue 9): control-plane values that broke the emulator.

``clock/advance {"seconds": 1e20}`` (also 1e12, freeze at +-1e12, a TTL of 1e20) was
accepted; afterwards OSS requests went unanswered and VOD/STS answered 500, and with
``--data-dir`` the broken clock survived a restart. Each value is now a 400 that changes
nothing, and an out-of-range value saved by an older version is ignored at start-up.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import oss2
import pytest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from support.rpc import RunningEmulator, core_call, core_client
from support.security import http_request, json_body

from emulator.config import EmulatorConfig, Settings
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

REFUSED = [
    ("POST", "/_emulator/clock/advance", b'{"seconds": 1e20}', "InvalidArgument"),
    ("POST", "/_emulator/clock/advance", b'{"seconds": 1e12}', "InvalidArgument"),
    ("POST", "/_emulator/clock/advance", b'{"seconds": 1e400}', "InvalidArgument"),
    ("POST", "/_emulator/clock/advance", b'{"seconds": NaN}', "MalformedJSON"),
    ("POST", "/_emulator/clock/advance", b'{"seconds": Infinity}', "MalformedJSON"),
    ("POST", "/_emulator/clock/advance", b'{"seconds": -1}', "InvalidArgument"),
    ("POST", "/_emulator/clock/freeze", b'{"at": 1e12}', "InvalidArgument"),
    ("POST", "/_emulator/clock/freeze", b'{"at": -1e12}', "InvalidArgument"),
    ("POST", "/_emulator/clock/freeze", b'{"at": -1}', "InvalidArgument"),
    ("PUT", "/_emulator/settings", b'{"upload_auth_ttl_seconds": 1e20}', "InvalidSetting"),
    ("PUT", "/_emulator/settings", b'{"sts_max_ttl_seconds": 1e12}', "InvalidSetting"),
    ("PUT", "/_emulator/settings", b'{"video_normal_after_seconds": -Infinity}', "MalformedJSON"),
    (
        "POST",
        "/_emulator/faults",
        b'{"effect": {"type": "delay", "seconds": 1e20}}',
        "InvalidFault",
    ),
    (
        "POST",
        "/_emulator/faults",
        b'{"effect": {"type": "stall", "seconds": 3601}}',
        "InvalidFault",
    ),
    ("POST", "/_emulator/chaos", b'{"seed": 1, "rate": 1e400}', "InvalidChaos"),
]


def _services_answer(emulator: RunningEmulator) -> None:
    """An OSS round trip with oss2 and a VOD call with aliyunsdkcore both succeed."""
    auth = oss2.Auth(emulator.access_key_id, emulator.access_key_secret)
    service_bucket = oss2.Bucket(auth, emulator.url, "sane-bucket", session=emulator.oss_session)
    service_bucket.create_bucket()
    service_bucket.put_object("k", b"v")
    assert service_bucket.get_object("k").read() == b"v"
    request = CreateUploadVideoRequest()
    request.set_Title("after")
    request.set_FileName("a.mp4")
    assert core_call(core_client(emulator), request)["VideoId"]


@pytest.mark.parametrize(("method", "path", "body", "code"), REFUSED)
def test_out_of_range_control_values_are_refused_and_change_nothing(
    served: RunningEmulator, method: str, path: str, body: bytes, code: str
) -> None:
    """EMU-SEC-002: a 400 in the control plane's format; clock and settings unchanged;
    OSS and VOD keep answering."""
    served.state.clock.freeze(1_800_000_000)
    before = http_request(served.url, "GET", "/_emulator/state")[2]
    status, _, answer = http_request(served.url, method, path, body=body)
    assert status == 400, answer
    assert json_body(answer)["error"]["code"] == code
    after = http_request(served.url, "GET", "/_emulator/state")[2]
    assert json.loads(after)["clock"] == json.loads(before)["clock"]
    assert json.loads(after)["settings"] == json.loads(before)["settings"]
    assert json.loads(after)["faults"] == json.loads(before)["faults"]
    served.state.clock.unfreeze()
    _services_answer(served)


def test_the_clock_reaches_the_limits_and_the_services_still_answer(
    served: RunningEmulator,
) -> None:
    """EMU-SEC-002: the largest accepted instant (the year 3000 less the longest TTL) and
    the largest TTL still give printable dates: nothing answers 500."""
    status, _, _ = http_request(
        served.url, "PUT", "/_emulator/settings", body=b'{"upload_auth_ttl_seconds": 3153600000}'
    )
    assert status == 200
    for at in (0, 32_503_680_000 - 3_153_600_000):
        status, _, _ = http_request(
            served.url, "POST", "/_emulator/clock/freeze", body=json.dumps({"at": at}).encode()
        )
        assert status == 200
        request = CreateUploadVideoRequest()
        request.set_Title("edge")
        request.set_FileName("a.mp4")
        # Signed with the real time, accepted by the wall clock (EMU-RPC-008).
        assert core_call(core_client(served), request)["VideoId"]


def test_an_out_of_range_saved_clock_and_setting_are_ignored_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """EMU-SEC-002: a data directory whose saved clock is 1e20 s ahead and whose TTL is
    1e20 (as an unchecked older version could leave it) starts with the wall clock and
    the default TTL, says so in a warning, and serves requests."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    first = EmulatorState(config)
    with first.db.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO emulator_knobs VALUES (?, ?)",
            [
                ("clock", json.dumps({"offset": 1e20, "frozen_at": None})),
                ("settings", json.dumps({"upload_auth_ttl_seconds": 1e20})),
            ],
        )
    first.close()
    with caplog.at_level(logging.WARNING, logger="emulator.persistence"):
        state = EmulatorState(config)
    assert state.clock.snapshot().offset == 0
    assert state.settings.upload_auth_ttl_seconds == Settings().upload_auth_ttl_seconds
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "saved emulator clock" in messages and "upload_auth_ttl_seconds" in messages
    with ThreadedServer(state) as server:
        emulator = RunningEmulator(state=state, url=server.url)
        try:
            _services_answer(emulator)
        finally:
            for close in emulator.closers:
                close()
    state.close()
