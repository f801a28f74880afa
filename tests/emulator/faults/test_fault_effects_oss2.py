"""Every fault effect against a real oss2 client, over a socket and in-process.

oss2 must raise what it would raise against the real service: ``ServerError`` (or its
mapped subclass) with the injected status and code for an error effect, ``RequestError``
for a reset, a dropped response or a timeout, an incomplete read for a truncated body.
Durations stay well under a second: stalls and delays meet short client timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import oss2
import pytest
import requests

from emulator.faults import Effect, Fault, Match
from emulator.pytest_plugin import EmulatorEndpoint

BUCKET = "fault-media"
PART = b"p" * (100 * 1024)


@pytest.fixture
def bucket_for(
    vod_emulator_each_mode: EmulatorEndpoint, vod_oss2_session: oss2.Session
) -> Callable[..., oss2.Bucket]:
    emu = vod_emulator_each_mode

    def make(*, timeout: float = 10.0) -> oss2.Bucket:
        auth = oss2.Auth(emu.access_key_id, emu.access_key_secret)
        return oss2.Bucket(
            auth,
            emu.url,
            BUCKET,
            is_path_style=True,
            connect_timeout=timeout,
            session=vod_oss2_session,
        )

    return make


@pytest.fixture
def bucket(bucket_for: Callable[..., oss2.Bucket]) -> oss2.Bucket:
    created = bucket_for()
    created.create_bucket()
    return created


def only(emu: EmulatorEndpoint, effect: Effect, operation: str) -> str:
    """Install a fault that fires once, on the next ``operation``."""
    return emu.control.add_fault(effect=effect, match=Match(operation=operation), times=1)


def test_error_effect_is_an_oss_error_and_the_operation_never_ran(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-004: an error effect is answered in OSS XML; the object was not written."""
    emu = vod_emulator_each_mode
    fault_id = only(emu, Effect.error(503, "ServiceUnavailable", "try later"), "PutObject")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.put_object("k", b"data")
    assert (raised.value.status, raised.value.code) == (503, "ServiceUnavailable")
    assert raised.value.message == "try later"
    assert not bucket.object_exists("k")
    bucket.put_object("k", b"data")  # times=1: the next one goes through
    [hit] = emu.control.fault_hits()
    assert (hit["fault_id"], hit["operation"], hit["key"]) == (fault_id, "PutObject", "k")


def test_head_errors_use_the_x_oss_err_header(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-004: a HEAD has no body, so the injected code travels in x-oss-err."""
    bucket.put_object("k", b"data")
    only(vod_emulator_each_mode, Effect.error(500, "InternalError", "boom"), "HeadObject")
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.head_object("k")
    assert (raised.value.status, raised.value.code) == (500, "InternalError")


def test_nth_upload_part_meets_security_token_expired(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-002, EMU-FLT-004: the second UploadPart of one key fails with 403."""
    emu = vod_emulator_each_mode
    emu.control.add_fault(
        effect=Effect.error(403, "SecurityTokenExpired", "expired"),
        match=Match(service="oss", operation="UploadPart", key="videos/*", nth=2),
        times=1,
    )
    upload_id = bucket.init_multipart_upload("videos/a.mp4").upload_id
    bucket.upload_part("videos/a.mp4", upload_id, 1, PART)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.upload_part("videos/a.mp4", upload_id, 2, PART)
    assert (raised.value.status, raised.value.code) == (403, "SecurityTokenExpired")
    parts = bucket.list_parts("videos/a.mp4", upload_id).parts
    assert [p.part_number for p in parts] == [1]


def test_no_such_upload_maps_to_the_oss2_exception(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-004: oss2 maps the injected code to its own exception class."""
    upload_id = bucket.init_multipart_upload("k").upload_id
    result = bucket.upload_part("k", upload_id, 1, PART)
    only(
        vod_emulator_each_mode, Effect.error(404, "NoSuchUpload", "gone"), "CompleteMultipartUpload"
    )
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.complete_multipart_upload("k", upload_id, [oss2.models.PartInfo(1, result.etag)])
    # The upload is untouched: the fault answered instead of the service.
    assert [p.part_number for p in bucket.list_parts("k", upload_id).parts] == [1]


@pytest.mark.parametrize("effect", [Effect.reset_before_body(), Effect.reset_after_body()])
def test_reset_is_a_request_error_and_nothing_is_stored(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket, effect: Effect
) -> None:
    """EMU-FLT-005: a reset before or after the body is a connection error; no part."""
    upload_id = bucket.init_multipart_upload("k").upload_id
    only(vod_emulator_each_mode, effect, "UploadPart")
    with pytest.raises(oss2.exceptions.RequestError):
        bucket.upload_part("k", upload_id, 1, PART)
    assert bucket.list_parts("k", upload_id).parts == []
    bucket.upload_part("k", upload_id, 1, PART)  # the retry works


def test_delay_answers_late_and_a_short_timeout_gives_up_after_the_commit(
    vod_emulator_each_mode: EmulatorEndpoint,
    bucket: oss2.Bucket,
    bucket_for: Callable[..., oss2.Bucket],
) -> None:
    """EMU-FLT-006: a delay slows the answer; a client timing out meets an applied write."""
    emu = vod_emulator_each_mode
    only(emu, Effect.delay(0.2), "PutObject")
    started = time.monotonic()
    bucket.put_object("slow", b"data")
    assert time.monotonic() - started >= 0.2
    only(emu, Effect.delay(2.0), "PutObject")
    impatient = bucket_for(timeout=0.3)
    with pytest.raises(oss2.exceptions.RequestError):
        impatient.put_object("late", b"data")
    # The write happened before the delay: an indeterminate outcome, resolved by HEAD.
    assert bucket.get_object("late").read() == b"data"


def test_stall_times_out_or_closes_unanswered(
    vod_emulator_each_mode: EmulatorEndpoint,
    bucket: oss2.Bucket,
    bucket_for: Callable[..., oss2.Bucket],
) -> None:
    """EMU-FLT-006: a stalled response trips the read timeout, or ends with a close."""
    emu = vod_emulator_each_mode
    only(emu, Effect.stall(2.0), "GetObject")
    bucket.put_object("k", b"data")
    started = time.monotonic()
    with pytest.raises(oss2.exceptions.RequestError, match="timed out"):
        bucket_for(timeout=0.3).get_object("k")
    assert time.monotonic() - started < 1.5
    only(emu, Effect.stall(0.2), "GetObject")
    with pytest.raises(oss2.exceptions.RequestError, match="closed connection"):
        bucket.get_object("k")


def test_throttle_slows_the_body_but_delivers_it_whole(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-007: a throttled body arrives at the given rate, intact (CRC checked)."""
    data = bytes(range(256)) * 80  # 20 KiB
    bucket.put_object("k", data)
    only(vod_emulator_each_mode, Effect.throttle(80_000), "GetObject")
    started = time.monotonic()
    assert bucket.get_object("k").read() == data
    assert time.monotonic() - started >= 0.2


def test_truncate_breaks_the_read(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-008: headers promise the whole body; the client's read comes up short."""
    bucket.put_object("k", b"x" * 20_000)
    only(vod_emulator_each_mode, Effect.truncate(100), "GetObject")
    result = bucket.get_object("k")
    assert result.content_length == 20_000
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        result.read()


def test_drop_after_commit_is_the_ambiguous_complete(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-FLT-009: Complete commits, the answer is lost; HEAD shows the object whole and
    a retried Complete meets NoSuchUpload, as on OSS."""
    emu = vod_emulator_each_mode
    upload_id = bucket.init_multipart_upload("k").upload_id
    first = bucket.upload_part("k", upload_id, 1, PART)
    last = bucket.upload_part("k", upload_id, 2, b"tail")
    parts = [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, last.etag)]
    only(emu, Effect.drop_after_commit(), "CompleteMultipartUpload")
    with pytest.raises(oss2.exceptions.RequestError):
        bucket.complete_multipart_upload("k", upload_id, parts)
    assert bucket.get_object("k").read() == PART + b"tail"
    with pytest.raises(oss2.exceptions.NoSuchUpload):
        bucket.complete_multipart_upload("k", upload_id, parts)


@pytest.mark.vod_faults(
    Fault(match=Match(operation="PutObject", key="marked/*"), effect=Effect.reset_after_body())
)
def test_marker_installs_faults_declaratively(
    vod_emulator_each_mode: EmulatorEndpoint, bucket: oss2.Bucket
) -> None:
    """EMU-PLG-002: @pytest.mark.vod_faults installs faults before the test body."""
    with pytest.raises(oss2.exceptions.RequestError):
        bucket.put_object("marked/a", b"x")
    bucket.put_object("unmarked/a", b"x")
    [installed] = vod_emulator_each_mode.control.faults()
    assert (installed["seen"], installed["fired"]) == (1, 1)
