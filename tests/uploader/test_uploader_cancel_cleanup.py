"""Issue 14, found by the driver machine: a canceled file leaves no upload open. Its abort
outlives an outage and close() lets it finish (UP-CANCEL-007); a file restored from a
checkpoint and canceled before it started gets credentials for its abort (UP-CANCEL-008)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from support.uploader import MIN_PART, open_uploads, operations, write_file

from emulator.faults import Effect, Match
from vodref.core import FileState
from vodref.testing import MemoryCheckpointStore


def test_an_abort_outlives_an_outage_and_close_lets_it_finish(
    emu: Any, make_vod: Any, sizes_dir: Path
) -> None:
    """UP-CANCEL-007 UP-CANCEL-001: the file is canceled while every OSS request is reset
    (more times than max_retries allows); the abort waits for the connection instead of
    being dropped after its retries, and close() waits for it (before: the upload stayed
    open)."""
    sending = threading.Event()
    vod = make_vod(on_upload_bytes=lambda view, done, total: sending.set(), parallel=1)
    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    view = vod.add_file(write_file(sizes_dir, "gone.mp4", 8 * MIN_PART))
    vod.start_upload()
    assert sending.wait(10)
    emu.control.add_fault(effect=Effect.reset_before_body(), match=Match(service="oss"), times=12)
    vod.cancel_file(view.file_id)
    [final] = vod.wait(timeout=20)
    assert final.state is FileState.CANCELED
    vod.close()
    emu.control.clear_faults()
    assert not open_uploads(emu)
    assert "AbortMultipartUpload" in operations(emu)


def test_a_restored_file_canceled_before_it_started_aborts_its_upload(
    emu: Any, make_vod: Any, sizes_dir: Path
) -> None:
    """UP-CANCEL-008: the first process stops mid-upload; the second restores the file from
    its checkpoint and cancels it without starting. The driver gets the video's credentials
    (RefreshUploadVideo) and aborts (before: no abort, the checkpoint deleted, the upload
    open for good)."""
    store = MemoryCheckpointStore()
    sending = threading.Event()
    path = write_file(sizes_dir, "kept.mp4", 8 * MIN_PART)
    emu.control.add_fault(effect=Effect.delay(0.05), match=Match(operation="UploadPart"))
    first = make_vod(
        checkpoint_store=store, parallel=1, on_upload_bytes=lambda v, d, t: sending.set()
    )
    first.add_file(path)
    first.start_upload()
    assert sending.wait(10)
    first.stop_upload()
    first.wait(timeout=20)
    first.close()
    emu.control.clear_faults()
    [upload] = open_uploads(emu)
    second = make_vod(checkpoint_store=store)
    view = second.add_file(path)
    assert view.upload_id == upload["upload_id"]
    second.cancel_file(view.file_id)
    second.close()
    assert not open_uploads(emu)
    assert "RefreshUploadVideo" in operations(emu)


def test_close_from_a_callback_returns_without_waiting_for_itself(
    emu: Any, make_vod: Any, sizes_dir: Path
) -> None:
    """UP-CANCEL-007: close() called by a user callback (on_upload_end) neither waits the
    abort grace for the callback it runs in to finish, nor joins its own thread (before:
    10 s of waiting, then RuntimeError: cannot join current thread)."""
    outcome: list[BaseException | None] = []
    ended = threading.Event()
    holder: dict[str, Any] = {}

    def close_on_end() -> None:
        try:
            holder["vod"].close()
            outcome.append(None)
        except BaseException as error:  # what close() raised is the finding
            outcome.append(error)
        ended.set()

    vod = make_vod(on_upload_end=close_on_end)
    holder["vod"] = vod
    vod.add_file(write_file(sizes_dir, "ends.mp4", 2 * MIN_PART))
    vod.start_upload()
    assert ended.wait(30)
    assert outcome == [None]
    assert not open_uploads(emu)
