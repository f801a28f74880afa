"""Issue 14 through the library: checkpoint bytes that salvage can read, unreadable records,
upload locks, finished-file records and a failing store, against the emulator on a real
socket (the ``make_vod`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.uploader import MIN_PART, open_uploads, operations, sample_checkpoint, write_file

from vodref import Vod
from vodref.core import FileState, UsageError
from vodref.errors import CheckpointStoreError, FileBusyError, UnreadableCheckpointError
from vodref.resume import salvage_record
from vodref.stores import FileCheckpointStore
from vodref.testing import MemoryCheckpointStore


def test_checkpoints_name_the_upload_before_the_parts(tmp_path: Path) -> None:
    """UP-DUR-003 UPL-DUR-006: the stored bytes put VideoId, target and upload id before the
    parts, so a record cut inside its parts still names the upload to abort."""
    store = FileCheckpointStore(tmp_path)
    checkpoint = sample_checkpoint(150)
    store.save("k", checkpoint)
    store.flush()
    [path] = tmp_path.glob("*.json")
    raw = path.read_bytes()
    assert raw.index(b'"upload_id"') < raw.index(b'"parts"')
    cut = raw[: raw.index(b'"parts"') + 40]
    path.write_bytes(cut)
    with pytest.raises(UnreadableCheckpointError):
        store.load("k")
    found = salvage_record(cut)
    assert (found["video_id"], found["upload_id"]) == ("video", "u1")
    assert found["target"] == checkpoint.target
    store.close()


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00\x01", b"[1, 2]", b'{"a": ', b""])
def test_unreadable_records_raise_the_typed_error_with_their_bytes(
    tmp_path: Path, raw: bytes
) -> None:
    """UPL-DUR-005: never UnicodeDecodeError or ValueError: UnreadableCheckpointError, which
    is a CheckpointStoreError and keeps the bytes."""
    store = FileCheckpointStore(tmp_path)
    store.save("k", {"x": 1})
    store.flush()
    [path] = tmp_path.glob("*.json")
    path.write_bytes(raw)
    with pytest.raises(UnreadableCheckpointError) as caught:
        store.load("k")
    assert isinstance(caught.value, CheckpointStoreError) and caught.value.raw == raw
    store.close()


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_one_lock_holder_per_key(tmp_path: Path, kind: str) -> None:
    """UPL-DUR-007: a second holder is refused at once, naming the holder; release frees."""
    store: Any = FileCheckpointStore(tmp_path) if kind == "file" else MemoryCheckpointStore()
    lock = store.lock("k")
    with pytest.raises(FileBusyError) as caught:
        store.lock("k")
    assert caught.value.holder is not None
    other = store.lock("other")
    lock.release()
    lock.release()  # idempotent
    store.lock("k").release()
    other.release()
    store.close()


def test_the_same_file_in_two_uploaders_is_refused(
    make_vod: Callable[..., Vod], tmp_path: Path
) -> None:
    """UPL-DUR-007: two uploaders over one store cannot both add a file; closing frees it."""
    store = MemoryCheckpointStore()
    path = write_file(tmp_path, "locked.mp4", 3 * MIN_PART)
    first = make_vod(checkpoint_store=store)
    first.add_file(path)
    second = make_vod(checkpoint_store=store)
    with pytest.raises(FileBusyError, match=r"locked\.mp4"):
        second.add_file(path)
    first.close()
    [view] = second.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS


def test_finished_files_are_found_again_with_a_scope(
    make_vod: Callable[..., Vod], emu: Any, tmp_path: Path
) -> None:
    """UPL-DUR-004: with ``finished_scope`` a success is recorded and ``find_finished``
    reports it for the very same file and options only; without a scope it is a UsageError."""
    store = MemoryCheckpointStore()
    path = write_file(tmp_path, "done.mp4", 2 * MIN_PART)
    vod = make_vod(checkpoint_store=store, finished_scope="account-a")
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS
    again = make_vod(checkpoint_store=store, finished_scope="account-a")
    found = again.find_finished(path)
    assert found is not None and found.video_id == view.video_id
    assert again.find_finished(path, param_data={"Vod": {"Title": "other"}}) is None
    assert make_vod(checkpoint_store=store, finished_scope="b").find_finished(path) is None
    write_file(tmp_path, "done.mp4", 2 * MIN_PART, seed=9)  # edited: a new upload
    assert again.find_finished(path) is None
    with pytest.raises(UsageError):
        make_vod(checkpoint_store=store).find_finished(path)
    assert operations(emu).count("CreateUploadVideo") == 1


class _FullStore(MemoryCheckpointStore):
    """Every flush fails, as a full checkpoint directory does."""

    def flush(self) -> None:
        raise CheckpointStoreError("No space left on device")


def test_a_failing_store_never_hides_a_result(
    make_vod: Callable[..., Vod], emu: Any, tmp_path: Path
) -> None:
    """UPL-DUR-002: the upload finishes, wait() and close() do not raise, the VideoId is
    reported and ``store_failures`` says why it is not resumable."""
    path = write_file(tmp_path, "full.mp4", 3 * MIN_PART)
    vod = make_vod(checkpoint_store=_FullStore())
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS and view.video_id
    assert vod.store_failures and "No space" in vod.store_failures[0]
    vod.close()
    # Every flush failed the same way: the problem is listed once.
    assert vod.store_failures == ("No space left on device",)
    assert operations(emu).count("CreateUploadVideo") == 1
    assert open_uploads(emu) == []
