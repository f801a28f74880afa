"""Token expiry in the middle of an upload, in UploadAuth mode (callbacks and provider) and
STS mode: the same multipart upload continues with new credentials (UP-TOKEN-*)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from support.uploader import (
    MIN_PART,
    Tracer,
    assume_role,
    expire_upload_tokens,
    file_crc,
    open_uploads,
    operations,
    stored_object,
    upload_part_requests,
    write_file,
)

from emulator.faults import Effect, Match
from vodref.core import FileState, FileView

PARTS = 12


def _expire_once_after(emu: Any, tracer: Tracer, threshold: int) -> threading.Event:
    """Expire every UploadAuth once, when the file passes ``threshold`` bytes. Parts are
    slowed down (50 ms each) so the expiry lands in the middle of the upload."""

    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    fired = threading.Event()

    def on_bytes(name: str, done: int, total: int) -> None:
        if done >= threshold and not fired.is_set():
            fired.set()
            assert expire_upload_tokens(emu)

    tracer.hooks["bytes"] = on_bytes
    return fired


def _assert_one_upload_continued(emu: Any, view: FileView, path: Path, transport: Any) -> None:
    ops = operations(emu)
    assert ops.count("InitiateMultipartUpload") == 1, ops
    assert ops.count("CompleteMultipartUpload") >= 1
    assert stored_object(emu, transport, view) == (path.stat().st_size, file_crc(path))
    assert open_uploads(emu) == []
    # Parts acknowledged before the expiry are not sent again.
    successes = [r["part_number"] for r in upload_part_requests(emu) if r["status"] == 200]
    assert sorted(successes) == list(range(1, PARTS + 1))


def test_upload_auth_expiry_with_js_callbacks(
    emu: Any, vod_api: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-TOKEN-003 UP-CB-005 UP-API-011 UPL-API-005: onUploadTokenExpired ->
    RefreshUploadVideo -> resume_upload_with_auth; same upload id, no part sent twice."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        grant = vod_api.create_upload_video(
            title="t", file_name=info.name, file_size=info.size, extra={}
        )
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    def expired(info: FileView) -> None:
        tracer.events.append(("token_expired", info.name))
        assert info.video_id
        holder["vod"].resume_upload_with_auth(
            vod_api.refresh_upload_video(info.video_id).upload_auth
        )

    fired = _expire_once_after(emu, tracer, 3 * MIN_PART)
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    callbacks["on_upload_token_expired"] = expired
    path = write_file(sizes_dir, "long.mp4", PARTS * MIN_PART)
    vod = make_vod(auth_provider=None, parallel=2, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(path, timeout=60)
    assert fired.is_set()
    assert view.state is FileState.SUCCESS, view.error
    assert tracer.of("token_expired") == [("token_expired", "long.mp4")]
    assert operations(emu).count("RefreshUploadVideo") == 1
    _assert_one_upload_continued(emu, view, path, root_transport)


def test_upload_auth_expiry_with_provider(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-TOKEN-003 UP-RESUME-003 UPL-API-014: the provider is asked again with the VideoId and
    calls RefreshUploadVideo; no second video."""
    fired = _expire_once_after(emu, tracer, 4 * MIN_PART)
    path = write_file(sizes_dir, "prov.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=3, **tracer.callbacks())
    [view] = vod.upload(path, timeout=60)
    assert fired.is_set()
    assert view.state is FileState.SUCCESS, view.error
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("RefreshUploadVideo") >= 1
    _assert_one_upload_continued(emu, view, path, root_transport)


def test_sts_mode_with_expiry_mid_upload(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-010 UP-API-012 UP-TOKEN-005 UPL-API-006: set_sts_token makes the uploader call
    CreateUploadVideo itself; after expiry resume_upload_with_sts_token refreshes the same
    video (broken in JS 1.5.x) and the same multipart upload continues."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        sts = assume_role(emu)
        holder["vod"].set_sts_token(
            info, sts["AccessKeyId"], sts["AccessKeySecret"], sts["SecurityToken"]
        )

    def expired(info: FileView) -> None:
        tracer.events.append(("token_expired", info.name))
        sts = assume_role(emu, "refresh")
        holder["vod"].resume_upload_with_sts_token(
            sts["AccessKeyId"], sts["AccessKeySecret"], sts["SecurityToken"]
        )

    fired = _expire_once_after(emu, tracer, 3 * MIN_PART)
    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    callbacks["on_upload_token_expired"] = expired
    path = write_file(sizes_dir, "sts.mp4", PARTS * MIN_PART)
    vod = make_vod(auth_provider=None, parallel=2, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(path, timeout=60)
    assert fired.is_set()
    assert view.state is FileState.SUCCESS, view.error
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("RefreshUploadVideo") == 1
    assert tracer.of("token_expired") == [("token_expired", "sts.mp4")]
    _assert_one_upload_continued(emu, view, path, root_transport)


def test_proactive_refresh_before_expiry(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-TOKEN-006 UPL-API-015: with a provider, credentials that expire within
    refresh_margin are refreshed while parts keep flowing; no expiry is ever seen."""

    # UploadAuth valid 10 s, refreshed 8 s before expiry: about 2 s in (ExpireUTCTime has
    # whole seconds), while the upload (12 parts x 0.4 s, 2 at a time) still runs.
    emu.control.update_settings(upload_auth_ttl_seconds=10.0)
    emu.control.add_fault(effect=Effect.delay(0.4), match=Match(operation="UploadPart"))
    path = write_file(sizes_dir, "fresh.mp4", PARTS * MIN_PART)
    vod = make_vod(parallel=2, refresh_margin=8.0, **tracer.callbacks())
    [view] = vod.upload(path, timeout=60)
    assert view.state is FileState.SUCCESS, view.error
    assert tracer.of("token_expired") == []
    assert operations(emu).count("RefreshUploadVideo") >= 1
    _assert_one_upload_continued(emu, view, path, root_transport)
