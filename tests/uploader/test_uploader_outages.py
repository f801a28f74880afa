"""Issue 14 over the emulator on loopback: no file waits forever for credentials, an outage is
ridden out as a whole, a resume adopts the parts the server already holds, and a skewed clock
is corrected from the server's Date.

Each test failed before the change it cites (see the docstrings).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from support.uploader import (
    MIN_PART,
    Tracer,
    file_crc,
    open_uploads,
    operations,
    stored_object,
    upload_part_requests,
    write_file,
)

from emulator.faults import Effect, Match
from vodref.core import Checkpoint, FileState, FileView, RetryPolicy
from vodref.errors import NoCredentialSourceError
from vodref.stores import FileCheckpointStore
from vodref.transport import OssHttpTransport

PARTS = 12


# ---------------------------------------------------------------------- UP-HANG


def test_start_upload_without_a_way_to_get_credentials_raises(
    make_vod: Any, sizes_dir: Path
) -> None:
    """UP-HANG-002: no auth_provider and no on_upload_started: start_upload raises a typed
    UsageError and nothing starts (before: the file stayed Uploading forever)."""
    vod = make_vod(auth_provider=None)
    vod.add_file(write_file(sizes_dir, "lonely.mp4", 2 * MIN_PART))
    with pytest.raises(NoCredentialSourceError):
        vod.start_upload()
    [view] = vod.list_files()
    assert view.state is FileState.READY


def test_a_raising_on_upload_started_fails_the_file_and_the_queue_moves_on(
    emu: Any, vod_api: Any, make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-HANG-003 UP-HANG-001: the app server is down (on_upload_started raises): the file
    fails with AuthCallbackFailed and on_upload_failed fires; the next file uploads."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        if info.name == "down.mp4":
            raise ConnectionError("app server is down")
        grant = vod_api.create_upload_video(
            title="t", file_name=info.name, file_size=info.size, extra={}
        )
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    vod = make_vod(auth_provider=None, **callbacks)
    holder["vod"] = vod
    down = write_file(sizes_dir, "down.mp4", 2 * MIN_PART)
    fine = write_file(sizes_dir, "fine.mp4", 2 * MIN_PART, seed=2)
    first, second = vod.upload(down, fine, timeout=30)
    assert first.state is FileState.FAILURE
    assert first.error is not None and first.error.code == "AuthCallbackFailed"
    assert "ConnectionError" in first.error.message
    assert ("failed", "down.mp4", "AuthCallbackFailed") in tracer.of("failed")
    assert second.state is FileState.SUCCESS, second.error


def test_an_expiry_nobody_answers_fails_at_the_credentials_timeout(
    emu: Any, make_vod: Any, vod_api: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-HANG-001 UP-DEV-038:
    the token expires and there is no on_upload_token_expired: the file fails
    with CredentialsTimeout once credentials_timeout passed, on_upload_failed fires and the
    queue ends (before: Uploading forever, the queue stuck in Expire)."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        grant = vod_api.create_upload_video(
            title="t", file_name=info.name, file_size=info.size, extra={}
        )
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    emu.control.add_fault(
        effect=Effect.error(403, "SecurityTokenExpired"),
        times=1,
        match=Match(operation="UploadPart"),
    )
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    vod = make_vod(auth_provider=None, credentials_timeout=0.5, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(write_file(sizes_dir, "expires.mp4", 4 * MIN_PART), timeout=30)
    assert view.state is FileState.FAILURE
    assert view.error is not None and view.error.code == "CredentialsTimeout"
    assert tracer.of("failed") == [("failed", "expires.mp4", "CredentialsTimeout")]
    assert tracer.of("end")


# ---------------------------------------------------------------------- UP-OUTAGE


def test_an_outage_of_every_oss_request_is_ridden_out(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-OUTAGE-001 UP-OUTAGE-003 UP-DEV-039:
    40 OSS requests in a row are reset (a total outage) with a
    per-file budget of 10 retries: the file still finishes, the outage sends one probe at a
    time, and progress restores the budget. Before: the budget ran out in a burst of parts
    and the file failed."""
    policy = RetryPolicy(max_retries=3, initial_delay=0.01, max_delay=0.05, budget=10)
    path = write_file(sizes_dir, "outage.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=4, retry_policy=policy)
    reached = threading.Event()
    emu.control.add_fault(effect=Effect.delay(0.02), match=Match(operation="UploadPart"))
    vod.add_file(path)
    vod.start_upload()
    deadline = time.monotonic() + 10
    while len(upload_part_requests(emu)) < 3 and time.monotonic() < deadline:
        reached.wait(0.01)
    outage = emu.control.add_fault(
        effect=Effect.reset_before_body(), match=Match(service="oss"), times=40
    )
    [view] = vod.wait(timeout=60)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert sum(r["fault_id"] == outage for r in emu.control.requests()) == 40
    assert open_uploads(emu) == []


# ---------------------------------------------------------------------- UP-RESUME adopt


def test_a_resume_adopts_acknowledged_parts_the_checkpoint_missed(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UP-RESUME-009 UP-RESUME-010 UP-DEV-040:
    the process dies after parts were acknowledged but before
    the checkpoint recorded them (here: the record is rolled back to two parts). The resume
    lists them, checks their bytes (MD5 = ETag) and adopts them: no acknowledged part is sent
    again. Before: every part past the record was uploaded a second time."""
    path = write_file(sizes_dir, "adopt.mp4", PARTS * MIN_PART)
    store_dir = tmp_path / "cp"
    store = FileCheckpointStore(store_dir)
    emu.control.add_fault(effect=Effect.delay(0.03), match=Match(operation="UploadPart"))
    tracer = Tracer()
    reached = threading.Event()
    tracer.hooks["bytes"] = lambda name, done, total: (
        reached.set() if done >= 7 * MIN_PART else None
    )
    first = make_vod(
        parallel=2, checkpoint_store=store, checkpoint_interval=0.0, **tracer.callbacks()
    )
    first.add_file(path)
    first.start_upload()
    assert reached.wait(20)
    [before] = first.list_files()
    first.close()
    emu.control.clear_faults()
    key = before.fingerprint  # the store's key for a video's checkpoint
    record = store.load(key)
    assert record is not None
    acknowledged = {r["part_number"] for r in upload_part_requests(emu) if r["status"] == 200}
    assert len(acknowledged) >= 7
    saved = Checkpoint.from_json(json.dumps(record))
    rolled_back = Checkpoint.from_json(json.dumps({**record, "parts": record["parts"][:2]}))
    assert len(saved.parts) > len(rolled_back.parts) == 2
    store.save(key, rolled_back)
    store.flush()
    sent_before = len(upload_part_requests(emu))
    second = make_vod(parallel=2, checkpoint_store=FileCheckpointStore(store_dir))
    second.add_file(path)
    second.start_upload()
    [view] = second.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert (view.video_id, view.upload_id) == (before.video_id, before.upload_id)
    resent = [r["part_number"] for r in upload_part_requests(emu)[sent_before:]]
    assert not set(resent) & acknowledged, (sorted(resent), sorted(acknowledged))
    assert sorted(resent) == sorted(set(range(1, PARTS + 1)) - acknowledged)
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert operations(emu).count("CreateUploadVideo") == 1


# ---------------------------------------------------------------------- UP-SKEW


@pytest.mark.parametrize("signature", ["v1", "v4"])
def test_a_skewed_clock_is_corrected_from_the_servers_date(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, signature: str
) -> None:
    """UP-SKEW-001 UPL-TRN-007: the driver's clock is 20 minutes behind the emulator's: the
    first OSS request gets RequestTimeTooSkewed, the transport adopts the server's Date and
    the upload goes on with no error reaching the core, V1- or V4-signed. Before: retried
    with the same clock, then the file failed."""
    skewed = OssHttpTransport(
        timeout=10.0,
        wall_clock=lambda: time.time() - 1200,
        region=emu.region if signature == "v4" else None,
    )
    try:
        vod = make_vod(transport=skewed, retry_policy=RetryPolicy(max_retries=0, budget=0))
        path = write_file(sizes_dir, "skew.mp4", 3 * MIN_PART)
        [view] = vod.upload(path, timeout=30)
        assert view.state is FileState.SUCCESS, view.error
        refused = [
            r for r in emu.control.requests() if r["service"] == "oss" and r["status"] == 403
        ]
        assert len(refused) == 1  # RequestTimeTooSkewed, once; then the corrected clock
        assert 1190 < skewed.clock_offset < 1210
        assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    finally:
        skewed.close()
