"""Faults from the emulator's fault engine, over real sockets: 5xx and connection resets are
retried with backoff, an ambiguous Complete is resolved with HeadObject, an exhausted budget
fails the file; cancel aborts on the server; stop/start and per-file pause continue the same
multipart upload."""

from __future__ import annotations

import contextlib
import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
from support.uploader import (
    MIN_PART,
    Tracer,
    expire_upload_tokens,
    file_crc,
    open_uploads,
    operations,
    stored_object,
    upload_part_requests,
    write_file,
)

from emulator.faults import Effect, Match
from vodref.core import FileState, InvalidStateError, RetryPolicy

PARTS = 10


def _slow_parts(emu: Any, seconds: float = 0.05) -> None:
    emu.control.add_fault(effect=Effect.delay(seconds), match=Match(operation="UploadPart"))


def test_5xx_on_parts_and_initiate_are_retried_with_backoff(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RETRY-001 UP-RETRY-003 UPL-DRV-006: 503 and 500 are retried after a delay; the
    object is intact."""
    emu.control.add_fault(
        effect=Effect.error(503, "ServiceUnavailable"),
        match=Match(operation="UploadPart", part_number=3),
        times=2,
    )
    emu.control.add_fault(
        effect=Effect.error(500, "InternalError"),
        match=Match(operation="InitiateMultipartUpload"),
        times=1,
    )
    path = write_file(sizes_dir, "retry.mp4", PARTS * MIN_PART)
    [view] = make_vod().upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    part3 = [r for r in upload_part_requests(emu) if r["part_number"] == 3]
    assert [r["status"] for r in part3] == [503, 503, 200]
    # Backoff: each retry waited (FAST_RETRIES: >= 10 ms, jitter included).
    assert all(b["at"] - a["at"] >= 0.009 for a, b in itertools.pairwise(part3))
    assert operations(emu).count("InitiateMultipartUpload") == 2


def test_connection_resets_are_retried(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RETRY-001 UPL-DRV-006: a reset before the body and after it (the part may or may
    not have landed) are both retried; a reset PutObject too."""
    emu.control.add_fault(
        effect=Effect.reset_before_body(),
        match=Match(operation="UploadPart", part_number=2),
        times=1,
    )
    emu.control.add_fault(
        effect=Effect.reset_after_body(),
        match=Match(operation="UploadPart", part_number=5),
        times=2,
    )
    emu.control.add_fault(
        effect=Effect.reset_before_body(), match=Match(operation="PutObject"), times=1
    )
    big = write_file(sizes_dir, "reset.mp4", PARTS * MIN_PART)
    small = write_file(sizes_dir, "reset-small.mp4", 5000)
    views = make_vod().upload(big, small, timeout=30)
    for view, path in zip(views, (big, small), strict=True):
        assert view.state is FileState.SUCCESS, view.error
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    hits = emu.control.fault_hits()
    assert len(hits) == 4


def test_ambiguous_complete_is_checked_with_head_object(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RESUME-006 UPL-DRV-007: Complete commits but the answer is lost; the retry meets
    NoSuchUpload and the object is checked (size, CRC-64): success, nothing re-sent."""
    emu.control.add_fault(
        effect=Effect.drop_after_commit(), match=Match(operation="CompleteMultipartUpload"), times=1
    )
    path = write_file(sizes_dir, "ambiguous.mp4", 3 * MIN_PART)
    [view] = make_vod().upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert len(upload_part_requests(emu)) == 3
    assert "HeadObject" in operations(emu)


def test_exhausted_retries_fail_the_file_with_the_last_error(
    emu: Any, make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-RETRY-004 UP-CB-004: a part that keeps failing fails the file after max_retries.
    (A request-level error: 5xx in a row are an outage, bounded by time, UP-OUTAGE-002.)"""
    emu.control.add_fault(
        effect=Effect.error(400, "RequestTimeout"),
        match=Match(operation="UploadPart", part_number=1),
    )
    policy = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02, jitter=0.0)
    path = write_file(sizes_dir, "doomed.mp4", MIN_PART)  # one part: no progress between
    [view] = make_vod(retry_policy=policy, **tracer.callbacks()).upload(path, timeout=30)
    assert view.state is FileState.FAILURE
    assert tracer.of("failed") == [("failed", "doomed.mp4", "RequestTimeout")]
    part1 = [r for r in upload_part_requests(emu) if r["part_number"] == 1]
    assert len(part1) == 3  # the first try and two retries


def _run_until(tracer: Tracer, threshold: int) -> threading.Event:
    reached = threading.Event()

    def on_bytes(name: str, done: int, total: int) -> None:
        if done >= threshold:
            reached.set()

    tracer.hooks["bytes"] = on_bytes
    return reached


def test_cancel_aborts_the_multipart_upload(
    emu: Any, make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-CANCEL-001 UP-CB-006 UP-API-003 UPL-API-007: cancel mid-upload; the emulator has no
    open upload left; on_upload_canceled says why."""
    _slow_parts(emu)
    reached = _run_until(tracer, 2 * MIN_PART)
    path = write_file(sizes_dir, "cancel.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=2, **tracer.callbacks())
    vod.add_file(path)
    vod.start_upload()
    assert reached.wait(10)
    vod.cancel_file(0)
    [view] = vod.wait(timeout=10)
    assert view.state is FileState.CANCELED
    assert open_uploads(emu) == []
    aborts = [
        r["status"] for r in emu.control.requests() if r["operation"] == "AbortMultipartUpload"
    ]
    assert aborts[-1] == 204  # the first abort met the expired token, the second succeeded
    assert "AbortMultipartUpload" in operations(emu)
    assert tracer.of("canceled") == [("canceled", "cancel.mp4", "cancel")]
    assert vod.get_checkpoint(0) is None


def test_stop_then_start_continues_the_same_upload(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-008 UP-DEV-025 UPL-DRV-003 UPL-API-008: stop mid-upload keeps the upload id;
    start continues it; acknowledged parts are not sent again."""
    _slow_parts(emu)
    reached = _run_until(tracer, 3 * MIN_PART)
    path = write_file(sizes_dir, "stop.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=2, **tracer.callbacks())
    vod.add_file(path)
    vod.start_upload()
    assert reached.wait(10)
    vod.stop_upload()
    [stopped] = vod.wait(timeout=10)
    assert stopped.state is FileState.STOPPED
    assert len(open_uploads(emu)) == 1
    vod.start_upload()
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert view.upload_id == stopped.upload_id
    assert operations(emu).count("InitiateMultipartUpload") == 1
    successes = [r["part_number"] for r in upload_part_requests(emu) if r["status"] == 200]
    assert sorted(successes) == list(range(1, PARTS + 1))
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_pause_one_file_while_another_uploads(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-015 UP-API-004 UPL-API-009: pause_file stops one file; resume_file and
    start_upload continue it with the same upload."""
    _slow_parts(emu)
    reached = _run_until(tracer, 2 * MIN_PART)
    first = write_file(sizes_dir, "first.mp4", PARTS * MIN_PART, seed=1)
    second = write_file(sizes_dir, "second.mp4", 3 * MIN_PART, seed=2)
    vod = make_vod(parallel=2, max_concurrent_files=2, **tracer.callbacks())
    vod.add_file(first)
    vod.add_file(second)
    vod.start_upload()
    assert reached.wait(10)
    vod.pause_file(0)
    views = vod.wait(timeout=30)
    assert [v.state for v in views] == [FileState.STOPPED, FileState.SUCCESS]
    paused_upload = views[0].upload_id
    vod.resume_file(0)
    with pytest.raises(InvalidStateError):
        vod.resume_file(1)  # a finished file cannot be resumed
    with contextlib.suppress(InvalidStateError):
        vod.start_upload()  # raises while still running: the file is then picked by itself
    views = vod.wait(timeout=30)
    assert [v.state for v in views] == [FileState.SUCCESS, FileState.SUCCESS]
    assert views[0].upload_id == paused_upload
    for view, path in zip(views, (first, second), strict=True):
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_cancel_after_token_expiry_still_aborts(
    emu: Any, make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-CANCEL-001 UPL-API-007 UPL-DRV-001: the credentials expire, then the file is
    canceled: the abort is refreshed through the provider and no upload is left open."""
    _slow_parts(emu, 0.1)
    reached = _run_until(tracer, MIN_PART)
    path = write_file(sizes_dir, "expired-cancel.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=2, **tracer.callbacks())
    vod.add_file(path)
    vod.start_upload()
    assert reached.wait(10)
    assert expire_upload_tokens(emu)
    vod.cancel_file(0)
    [view] = vod.wait(timeout=20)
    assert view.state is FileState.CANCELED
    assert open_uploads(emu) == []
    aborts = [
        r["status"] for r in emu.control.requests() if r["operation"] == "AbortMultipartUpload"
    ]
    assert aborts[-1] == 204  # the first abort met the expired token, the second succeeded
