"""Callback order traced end to end, and the JS-style credential flow (no provider: the
application answers ``on_upload_started`` with ``set_upload_auth_and_address``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oss2
from support.uploader import (
    MIN_PART,
    Tracer,
    assume_role,
    file_crc,
    operations,
    stored_object,
    write_file,
)

from emulator.faults import Effect, Match
from vodref.core import FileState, FileView


def test_callback_order_for_one_multipart_file(
    make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-CB-008 UP-CB-001 UP-CB-002 UP-CB-003 UP-CB-007 UP-PROG-001 UP-PROG-002 UPL-API-003:
    added, started, progress from 0 (non-decreasing, absolute bytes), succeeded, end."""
    size = 5 * MIN_PART + 3
    path = write_file(sizes_dir, "order.mp4", size)
    vod = make_vod(**tracer.callbacks())
    vod.upload(path, timeout=30)
    assert tracer.names() == [
        ("added", "order.mp4"),
        ("started", "order.mp4"),
        ("succeeded", "order.mp4"),
        ("end",),
    ]
    ratios = [e[2] for e in tracer.of("progress")]
    assert ratios[0] == 0.0 and ratios[-1] == 1.0
    assert ratios == sorted(ratios)
    done = [e[2] for e in tracer.of("bytes")]
    assert done == sorted(done) and done[-1] == size
    assert all(e[3] == size for e in tracer.of("bytes"))
    # Progress events come between started and succeeded.
    kinds = [e[0] for e in tracer.events]
    assert kinds.index("started") < kinds.index("progress")
    assert max(i for i, k in enumerate(kinds) if k == "progress") < kinds.index("succeeded")


def test_single_put_reports_progress_once(make_vod: Any, sizes_dir: Path, tracer: Tracer) -> None:
    """UP-CB-002: a file under 100 KiB reports one progress event, after the PUT."""
    path = write_file(sizes_dir, "small.mp4", 1000)
    make_vod(**tracer.callbacks()).upload(path, timeout=30)
    assert [e[2] for e in tracer.of("progress")] == [1.0]


def test_js_style_set_upload_auth_and_address_from_started(
    emu: Any, vod_api: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-009 UP-CB-001 UPL-API-004: with no provider, on_upload_started gets the file,
    the application calls CreateUploadVideo and hands the answer back."""
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        assert info.video_id is None
        grant = vod_api.create_upload_video(
            title="js-style", file_name=info.name, file_size=info.size, extra={}
        )
        holder["vod"].set_upload_auth_and_address(
            info, grant.upload_auth, grant.upload_address, grant.video_id
        )

    callbacks = tracer.callbacks()
    tracer.hooks["started"] = lambda name: None
    callbacks["on_upload_started"] = started
    path = write_file(sizes_dir, "js.mp4", 3 * MIN_PART)
    vod = make_vod(auth_provider=None, **callbacks)
    holder["vod"] = vod
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert operations(emu).count("CreateUploadVideo") == 1


def test_exception_in_user_callback_does_not_break_the_upload(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UPL-DRV-005: callbacks that raise are logged and ignored."""
    seen: list[str] = []

    def boom(*args: Any) -> None:
        seen.append("called")
        raise RuntimeError("user bug")

    path = write_file(sizes_dir, "boom.mp4", 4 * MIN_PART)
    vod = make_vod(
        on_upload_started=boom,
        on_upload_progress=boom,
        on_upload_succeed=boom,
        on_upload_end=boom,
        add_file_success=boom,
    )
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS
    assert len(seen) >= 5
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_failed_callback_carries_service_code(
    emu: Any, make_vod: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-CB-004 UP-RETRY-002 UPL-DRV-004: a 4xx is not retried; on_upload_failed gets the
    code and message; the queue still ends."""

    emu.control.add_fault(
        effect=Effect.error(403, "AccessDenied", "denied by test"),
        match=Match(operation="InitiateMultipartUpload"),
    )
    path = write_file(sizes_dir, "denied.mp4", 2 * MIN_PART)
    vod = make_vod(**tracer.callbacks())
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.FAILURE
    assert tracer.of("failed") == [("failed", "denied.mp4", "AccessDenied")]
    assert tracer.of("end") == [("end",)]
    assert operations(emu).count("InitiateMultipartUpload") == 1


def test_sts_token_directly_upload_to_the_add_file_target(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tracer: Tracer
) -> None:
    """UP-API-013 UPL-API-006: set_sts_token_directly_upload signs OSS requests with the STS
    token and uploads to the add_file endpoint/bucket/object; no VOD call."""
    root = oss2.Bucket(oss2.Auth(emu.access_key_id, emu.access_key_secret), emu.url, "direct")
    root.create_bucket()
    holder: dict[str, Any] = {}

    def started(info: FileView) -> None:
        sts = assume_role(emu)
        holder["vod"].set_sts_token_directly_upload(
            info, sts["AccessKeyId"], sts["AccessKeySecret"], sts["SecurityToken"]
        )

    callbacks = tracer.callbacks()
    callbacks["on_upload_started"] = started
    path = write_file(sizes_dir, "direct.mp4", 3 * MIN_PART + 1)
    vod = make_vod(auth_provider=None, **callbacks)
    holder["vod"] = vod
    vod.add_file(path, emu.url, "direct", "uploads/direct.mp4")
    vod.start_upload()
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    head = root.head_object("uploads/direct.mp4")
    assert (head.content_length, head.server_crc) == (path.stat().st_size, file_crc(path))
    assert not {"CreateUploadVideo", "RefreshUploadVideo"} & set(operations(emu))
