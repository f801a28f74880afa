"""Resume across uploader instances through the file-system checkpoint store: same VideoId,
same multipart upload, only unacknowledged parts sent again; a changed source is detected;
the store itself is atomic, private and secret-free."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from uploader_support import (
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
from vodref.checkpoints import (
    FileCheckpointStore,
    MemoryCheckpointStore,
    assert_no_secrets,
)
from vodref.core.checkpoint import Checkpoint, CheckpointPart
from vodref.core.states import FileState
from vodref.core.values import MediaKind, ObjectTarget
from vodref.errors import CheckpointStoreError

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


def test_file_store_is_private_atomic_and_secret_free(tmp_path: Path) -> None:
    """UPL-CKPT-003 UPL-CKPT-004: 0700 directory, 0600 files, no temp file left, secrets
    refused, a torn record is reported as a typed error."""
    store = FileCheckpointStore(tmp_path / "cp")
    for number in range(50):
        store.save("v1:abc", {"n": number})
    store.flush()
    assert store.load("v1:abc") == {"n": 49}
    assert store.writes <= 50
    directory = tmp_path / "cp"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    [record] = list(directory.iterdir())
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert json.loads(record.read_text()) == {"n": 49}
    with pytest.raises(CheckpointStoreError):
        store.save("v1:abc", {"credentials": {"AccessKeySecret": "x"}})
    with pytest.raises(CheckpointStoreError):
        assert_no_secrets([{"security_token": "x"}])
    record.write_text('{"n": 1')  # torn
    with pytest.raises(CheckpointStoreError):
        store.load("v1:abc")
    store.delete("v1:abc")
    store.flush()
    assert list(directory.iterdir()) == []
    store.close()
    with pytest.raises(CheckpointStoreError):
        store.save("v1:abc", {})


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
    for text in texts:
        for token in emu.control.tokens():
            assert token.access_key_id not in text
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


def _checkpoint(parts: int, upload_id: str = "u1") -> Checkpoint:
    return Checkpoint(
        file_name="a.mp4",
        file_size=200 * MIN_PART,
        fingerprint="v1:journal",
        media_kind=MediaKind.VIDEO,
        video_id="video",
        target=ObjectTarget(endpoint="http://e", bucket="b", key="k"),
        upload_id=upload_id,
        part_size=MIN_PART,
        parts=tuple(
            CheckpointPart(number=n, etag=f"E{n}", crc64=n * 7, size=MIN_PART)
            for n in range(1, parts + 1)
        ),
    )


def test_file_store_journals_new_parts(tmp_path: Path) -> None:
    """UPL-CKPT-003: saves that only add parts are appended to a journal (constant cost per
    part); the record loads back whole; a torn journal line is ignored; another upload id
    makes a new snapshot whose stale journal is never applied."""
    store = FileCheckpointStore(tmp_path / "cp")
    for count in range(1, 121):
        store.save("v1:journal", _checkpoint(count))
        store.flush()
    assert store.appends > 60 and store.writes < 20
    loaded = store.load("v1:journal")
    assert loaded is not None
    assert Checkpoint.from_dict(loaded) == _checkpoint(120)
    [journal] = list((tmp_path / "cp").glob("*.log"))
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    with journal.open("a") as handle:
        handle.write('[[121,"E121","00000000000003')  # torn by a crash
    fresh = FileCheckpointStore(tmp_path / "cp")
    reloaded = fresh.load("v1:journal")
    assert reloaded is not None and Checkpoint.from_dict(reloaded) == _checkpoint(120)
    fresh.save("v1:journal", _checkpoint(3, upload_id="u2"))
    fresh.flush()
    other = fresh.load("v1:journal")
    assert other is not None and Checkpoint.from_dict(other) == _checkpoint(3, upload_id="u2")
    assert list((tmp_path / "cp").glob("*.log")) == []
    fresh.delete("v1:journal")
    fresh.flush()
    assert list((tmp_path / "cp").iterdir()) == []
    store.close()
    fresh.close()
