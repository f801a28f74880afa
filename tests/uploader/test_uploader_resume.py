"""Resume across uploader instances through the file-system checkpoint store: same VideoId,
same multipart upload, only unacknowledged parts sent again; a changed source is detected;
what the uploader writes holds no secret."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

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
from vodref.core import FileState
from vodref.stores import FileCheckpointStore
from vodref.testing import MemoryCheckpointStore

PARTS = 12
PARALLEL = 2


def _interrupted_upload(
    emu: Any, make_vod: Any, path: Path, store: Any, after_parts: int
) -> tuple[str, str]:
    """Upload until ``after_parts`` parts are acknowledged, then close the uploader
    (as a process exit would: the checkpoint is flushed). Returns (video_id, upload_id)."""
    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    tracer = Tracer()
    reached = threading.Event()
    tracer.hooks["bytes"] = lambda name, done, total: (
        reached.set() if done >= after_parts * MIN_PART else None
    )
    vod = make_vod(
        parallel=PARALLEL, checkpoint_store=store, checkpoint_interval=0.0, **tracer.callbacks()
    )
    vod.add_file(path)
    vod.start_upload()
    assert reached.wait(10)
    [view] = vod.list_files()
    vod.close()
    assert view.video_id and view.upload_id
    emu.control.clear_faults()
    return view.video_id, view.upload_id


def test_resume_in_a_new_uploader_reuses_video_and_upload(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UP-RESUME-001 UP-RESUME-002 UP-RESUME-003 UP-CKPT-004 UPL-CKPT-001 UPL-API-010: a new
    Vod finds the checkpoint: same VideoId before start, RefreshUploadVideo (not Create),
    ListParts, same upload id, at most parallel parts sent again, object CRC equal."""
    path = write_file(sizes_dir, "resume.mp4", PARTS * MIN_PART)
    store_dir = tmp_path / "checkpoints"
    video_id, upload_id = _interrupted_upload(
        emu, make_vod, path, FileCheckpointStore(store_dir), after_parts=4
    )
    before = len(upload_part_requests(emu))
    vod = make_vod(parallel=PARALLEL, checkpoint_store=FileCheckpointStore(store_dir))
    added = vod.add_file(path)
    assert added.video_id == video_id
    vod.start_upload()
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert (view.video_id, view.upload_id) == (video_id, upload_id)
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1
    assert ops.count("RefreshUploadVideo") == 1
    assert ops.count("InitiateMultipartUpload") == 1
    assert "ListParts" in ops
    resent = len(upload_part_requests(emu)) - before - (PARTS - 4)
    assert resent <= PARALLEL + 1
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert open_uploads(emu) == []
    vod.wait(timeout=5)
    assert list(store_dir.glob("*.json")) == []  # deleted on success


def test_changed_bytes_inside_a_sent_part_are_sent_again(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-CKPT-002 UPL-CKPT-002 UPL-SRC-002: same name, size and mtime, one byte changed inside
    an acknowledged part that no fingerprint sample covers: the part's CRC-64 no longer
    matches, it is uploaded again, and the object equals the file as it is now."""
    path = write_file(sizes_dir, "edited.mp4", PARTS * MIN_PART)
    store = MemoryCheckpointStore()
    _interrupted_upload(emu, make_vod, path, store, after_parts=4)
    info = path.stat()
    with path.open("r+b") as handle:  # part 2, between two sampled blocks
        handle.seek(MIN_PART + 1000)
        handle.write(b"\xff\x00\xff")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    vod = make_vod(parallel=PARALLEL, checkpoint_store=store)
    vod.add_file(path)
    vod.start_upload()
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    part2 = [r for r in upload_part_requests(emu) if r["part_number"] == 2]
    assert len(part2) >= 2


def test_changed_sampled_content_keeps_the_video_and_starts_over(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-CKPT-002 UPL-CKPT-002: a change in a sampled block changes the fingerprint, so the
    old parts are not reused; the unfinished upload's VideoId is kept (no duplicate, no
    orphan video) and the new content is uploaded from byte 0 with a new multipart upload."""
    path = write_file(sizes_dir, "rewritten.mp4", PARTS * MIN_PART)
    store = MemoryCheckpointStore()
    old_video, old_upload = _interrupted_upload(emu, make_vod, path, store, after_parts=3)
    data = bytearray(path.read_bytes())
    data[0:16] = b"0123456789abcdef"
    info = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    vod = make_vod(parallel=PARALLEL, checkpoint_store=store)
    added = vod.add_file(path)
    assert added.video_id == old_video
    vod.start_upload()
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert view.video_id == old_video and view.upload_id != old_upload
    assert operations(emu).count("CreateUploadVideo") == 1
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_checkpoints_written_during_upload_hold_no_secret(
    emu: Any, make_vod: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UP-CKPT-001 UPL-CKPT-004: every record the uploader wrote is free of AccessKeySecret,
    SecurityToken and AccessKeyId values."""
    path = write_file(sizes_dir, "secretless.mp4", PARTS * MIN_PART)
    store = FileCheckpointStore(tmp_path / "cp")
    _interrupted_upload(emu, make_vod, path, store, after_parts=3)
    texts = [record.read_text() for record in (tmp_path / "cp").iterdir()]
    assert texts
    tokens = emu.control.tokens()
    assert tokens
    for text in texts:
        # The listing masks AccessKeyIds: no word of the record may be one of them.
        words = set(re.findall(r"[\w.]+", text))
        assert not [word for word in words for token in tokens if token.is_for(word)]
        assert "Secret" not in text and "Token" not in text
    assert any(json.loads(text).get("video_id") for text in texts if text.startswith("{"))


def test_get_checkpoint_by_path_and_by_file(emu: Any, make_vod: Any, sizes_dir: Path) -> None:
    """UP-API-014 UPL-API-010: get_checkpoint for a listed file or a path."""
    path = write_file(sizes_dir, "cp.mp4", PARTS * MIN_PART)
    store = MemoryCheckpointStore()
    video_id, upload_id = _interrupted_upload(emu, make_vod, path, store, after_parts=3)
    vod = make_vod(checkpoint_store=store)
    by_path = vod.get_checkpoint(path)
    assert by_path is not None and by_path["video_id"] == video_id
    vod.add_file(path)
    by_file = vod.get_checkpoint(0)
    assert by_file is not None and by_file["upload_id"] == upload_id
    assert vod.get_checkpoint(write_file(sizes_dir, "other.mp4", 10)) is None
