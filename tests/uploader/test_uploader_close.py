"""``Vod.close()`` with requests on the wire, against the emulator over loopback: what they
did is recorded (UPL-API-017), a video they finished is reported (UP-CANCEL-010), and the
next process neither hides nor redoes it (UP-RESUME-012)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from support.lazy_store import LazyStore
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
from vodref.core import Checkpoint, FileState, RetryPolicy
from vodref.stores import FileCheckpointStore

PARTS = 4


def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_close_lets_a_complete_on_the_wire_land_and_reports_it(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UPL-API-017 UP-CANCEL-010 UP-DEV-045: close() while CompleteMultipartUpload is on the
    wire: the answer is waited for, the file ends Success with on_upload_succeed, the
    checkpoint is deleted. Before, the answer was dropped: the file said Stopped over a
    finished video."""
    path = write_file(sizes_dir, "closing.mp4", PARTS * MIN_PART)
    store_dir = tmp_path / "checkpoints"
    emu.control.add_fault(
        effect=Effect.delay(0.5), match=Match(operation="CompleteMultipartUpload")
    )
    tracer = Tracer()
    store = FileCheckpointStore(store_dir)
    vod = make_vod(parallel=2, checkpoint_store=store, **tracer.callbacks())
    vod.add_file(path)
    vod.start_upload()
    _wait_for(lambda: "CompleteMultipartUpload" in operations(emu))
    vod.close()
    [view] = vod.list_files()
    assert view.state is FileState.SUCCESS, view
    assert tracer.of("succeeded") == [("succeeded", "closing.mp4")]
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert list(store_dir.glob("*.json")) == []
    assert open_uploads(emu) == []


def test_close_records_parts_that_land_while_it_waits(
    emu: Any, make_vod: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UPL-API-017 UP-DEV-025: parts acknowledged while close() waits are saved, so the next
    process sends only the parts that never landed."""
    path = write_file(sizes_dir, "parts.mp4", 8 * MIN_PART)
    store_dir = tmp_path / "checkpoints"
    emu.control.add_fault(effect=Effect.delay(0.4), match=Match(operation="UploadPart"))
    vod = make_vod(
        parallel=3, checkpoint_store=FileCheckpointStore(store_dir), checkpoint_interval=30.0
    )
    vod.add_file(path)
    vod.start_upload()
    _wait_for(lambda: len(upload_part_requests(emu)) >= 1)
    vod.close()
    emu.control.clear_faults()
    acknowledged = {r["part_number"] for r in upload_part_requests(emu) if r["status"] == 200}
    assert acknowledged
    again = make_vod(parallel=3, checkpoint_store=FileCheckpointStore(store_dir))
    saved = again.get_checkpoint(path)
    assert saved is not None
    assert {part[0] for part in saved["parts"]} == acknowledged  # [number, etag, crc, size]
    again.add_file(path)
    again.start_upload()
    [view] = again.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    sent = [r["part_number"] for r in upload_part_requests(emu)]
    assert all(sent.count(number) == 1 for number in acknowledged), sent


def test_a_resume_recognises_the_object_of_a_complete_whose_answer_was_lost(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UP-RESUME-012 UP-DEV-044: the Complete landed but its answer never came back, and the process
    ended before trying again. The next one meets NoSuchUpload at ListParts, finds the object
    it made (size and CRC-64 of the file), and ends Success sending no part and starting no
    upload. Before, it started a new upload and sent every byte again."""
    path = write_file(sizes_dir, "lost.mp4", PARTS * MIN_PART)
    store_dir = tmp_path / "checkpoints"
    emu.control.add_fault(
        effect=Effect.drop_after_commit(), match=Match(operation="CompleteMultipartUpload")
    )
    slow_retries = RetryPolicy(max_retries=5, initial_delay=5.0, max_delay=5.0, jitter=0.0)
    first = make_vod(
        parallel=2, checkpoint_store=FileCheckpointStore(store_dir), retry_policy=slow_retries
    )
    first.add_file(path)
    first.start_upload()
    _wait_for(lambda: "CompleteMultipartUpload" in operations(emu))
    first.close()  # while the Complete waits out its backoff
    [stopped] = first.list_files()
    assert stopped.state is FileState.STOPPED
    emu.control.clear_faults()
    before = len(operations(emu))

    second = make_vod(parallel=2, checkpoint_store=FileCheckpointStore(store_dir))
    added = second.add_file(path)
    assert added.video_id == stopped.video_id
    second.start_upload()
    [view] = second.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    later = operations(emu)[before:]
    assert "UploadPart" not in later and "InitiateMultipartUpload" not in later, later
    assert "HeadObject" in later
    assert view.video_id == stopped.video_id
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert open_uploads(emu) == []
    assert list(store_dir.glob("*.json")) == []


def test_close_while_the_video_is_being_created_keeps_one_video(
    emu: Any, make_vod: Any, sizes_dir: Path, tmp_path: Path
) -> None:
    """UPL-API-017 UP-DUR-001 UP-RESUME-003: close() while CreateUploadVideo is on the wire:
    its answer is waited for and the VideoId saved, so the next process refreshes that video
    instead of creating a second one. Before, the answer was dropped with close() and the
    next run made another video, leaving the first one "Uploading" for good."""
    path = write_file(sizes_dir, "creating.mp4", PARTS * MIN_PART)
    store_dir = tmp_path / "checkpoints"
    emu.control.add_fault(effect=Effect.delay(0.5), match=Match(operation="CreateUploadVideo"))
    first = make_vod(checkpoint_store=FileCheckpointStore(store_dir))
    first.add_file(path)
    first.start_upload()
    _wait_for(lambda: "CreateUploadVideo" in operations(emu))
    first.close()
    emu.control.clear_faults()
    second = make_vod(checkpoint_store=FileCheckpointStore(store_dir))
    added = second.add_file(path)
    assert added.video_id is not None
    second.start_upload()
    [view] = second.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert view.video_id == added.video_id
    ops = operations(emu)
    assert ops.count("CreateUploadVideo") == 1 and ops.count("RefreshUploadVideo") == 1, ops
    assert len(emu.control.state()["vod"]["videos"]) == 1


class _CoalescingLazyStore(LazyStore):
    """A LazyStore whose ``flush_barriers`` behaves as FileCheckpointStore's (UPL-CKPT-008):
    deletes and saves that change the names (VideoId, target, upload id) become durable,
    saves that only add parts stay pending."""

    def flush_barriers(self) -> None:
        with self._lock:
            kept = {
                key: record
                for key, record in self._pending.items()
                if record is not None
                and key in self._records
                and _names(record) == _names(self._records[key])
            }
            for key in kept:
                del self._pending[key]
        self.flush()
        with self._lock:
            for key, record in kept.items():
                self._pending.setdefault(key, record)


def _names(record: object) -> tuple[object, ...]:
    return tuple(getattr(record, name, None) for name in ("video_id", "target", "upload_id"))


def test_the_checkpoint_on_disk_names_every_part_before_complete_is_sent(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RESUME-012 UPL-DUR-001 UPL-CKPT-008: when CompleteMultipartUpload reaches the
    service, the checkpoint a kill would leave names every part, although a store's barrier
    flushes keep part-only saves coalesced; a process resuming from exactly that finds the
    object and sends nothing again."""
    path = write_file(sizes_dir, "durable.mp4", PARTS * MIN_PART)
    store = _CoalescingLazyStore()
    emu.control.add_fault(
        effect=Effect.delay(0.3), match=Match(operation="CompleteMultipartUpload")
    )
    vod = make_vod(parallel=2, checkpoint_store=store, checkpoint_interval=0.0)
    vod.add_file(path)
    vod.start_upload()
    _wait_for(lambda: "CompleteMultipartUpload" in operations(emu))
    on_disk = store.durable()  # what a SIGKILL now would leave
    [view] = vod.wait(timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    [record] = [r for r in on_disk.values() if isinstance(r, Checkpoint)]
    assert record.names_every_part, record
    emu.control.clear_faults()
    before = len(operations(emu))
    resumed = make_vod(parallel=2, checkpoint_store=LazyStore(durable=on_disk))
    resumed.add_file(path)
    resumed.start_upload()
    [again] = resumed.wait(timeout=30)
    assert again.state is FileState.SUCCESS, again.error
    later = operations(emu)[before:]
    assert "UploadPart" not in later and "InitiateMultipartUpload" not in later, later
    assert stored_object(emu, root_transport, again) == (path.stat().st_size, file_crc(path))
