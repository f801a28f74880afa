"""Transport-level faults and a lost upload, over real sockets, each once: the uploader
must neither hang nor lose nor duplicate anything.

- a stalled UploadPart (the server reads the body and says nothing): the request times out
  and the part is sent again;
- a throttled answer and a truncated CompleteMultipartUpload answer (the object may or may
  not be committed): Complete is resolved by the service's state, never by guessing;
- NoSuchUpload from an UploadPart (the multipart upload was aborted behind our back, e.g.
  by a lifecycle rule): a new multipart upload for the same video (UP-RESUME-005), where JS
  1.5.x fails the file.

No assertion is about time: the emulator's faults make each case happen, and the
assertions are about what the service ends up holding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.uploader import (
    MIN_PART,
    file_crc,
    open_uploads,
    operations,
    stored_object,
    upload_part_requests,
)
from support.uploader import write_file as write_source

from emulator.faults import Effect, Match
from vodref.core import FileState

PARTS = 8


def _source(directory: Path, name: str) -> Path:
    return write_source(directory, name, PARTS * MIN_PART - 777, seed=len(name))


def test_stalled_part_times_out_and_is_sent_again(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RETRY-001 UPL-DRV-006: a timeout is retried; the stalled request's part lands once."""
    emu.control.add_fault(
        effect=Effect.stall(5.0), match=Match(operation="UploadPart", part_number=2), times=1
    )
    path = _source(sizes_dir, "stall.mp4")
    [view] = make_vod(timeout=0.5).upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert len(emu.control.fault_hits()) == 1
    part_two = [r for r in upload_part_requests(emu) if "partNumber=2&" in r["query"] + "&"]
    assert len(part_two) >= 2, "the stalled part must have been sent again"
    assert open_uploads(emu) == []


def test_throttled_and_truncated_answers(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RESUME-006 UPL-DRV-007: a slow answer is just slow; a Complete whose answer is cut
    off is settled from the service (retried Complete or HeadObject), and the object is
    exactly the file."""
    emu.control.add_fault(
        effect=Effect.throttle(20_000), match=Match(operation="InitiateMultipartUpload"), times=1
    )
    emu.control.add_fault(
        effect=Effect.truncate(10), match=Match(operation="CompleteMultipartUpload"), times=1
    )
    path = _source(sizes_dir, "truncated.mp4")
    [view] = make_vod().upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert len(emu.control.fault_hits()) == 2
    assert operations(emu).count("InitiateMultipartUpload") == 1
    assert open_uploads(emu) == []


def test_upload_lost_mid_way_restarts_for_the_same_video(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UP-RESUME-005: NoSuchUpload on a part starts a new multipart upload for the same
    VideoId; the file succeeds, one video, nothing left open."""
    emu.control.add_fault(
        effect=Effect.error(404, "NoSuchUpload", "The specified upload does not exist."),
        match=Match(operation="UploadPart", part_number=4),
        times=1,
    )
    path = _source(sizes_dir, "lost.mp4")
    [view] = make_vod().upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert view.attempt == 2
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert operations(emu).count("InitiateMultipartUpload") == 2
    assert operations(emu).count("CreateUploadVideo") == 1
    assert [v["video_id"] for v in emu.control.state()["vod"]["videos"]] == [view.video_id]
    # The injected NoSuchUpload was a lie, so the first upload is still open here (on OSS it
    # would be gone); the object was completed from the second one.
    [left] = open_uploads(emu)
    assert left["upload_id"] != view.upload_id


def test_a_lost_create_upload_video_answer_is_the_stated_residual(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, caplog: Any
) -> None:
    """UPL-DUR-012: CreateUploadVideo made the video but its answer never came back. VOD has
    no idempotency token and no lookup by anything the uploader chose, so the retry makes a
    second video: the file ends Success in that one with its bytes, the first stays without
    a file, and a warning says so. This pins the residual down: it is never silent, and
    never more than one extra video per lost answer."""
    path = _source(sizes_dir, "lost-create.mp4")
    emu.control.add_fault(
        effect=Effect.drop_after_commit(), match=Match(operation="CreateUploadVideo"), times=1
    )
    with caplog.at_level("WARNING", logger="vodref"):
        vod = make_vod()
        [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert operations(emu).count("CreateUploadVideo") == 2
    videos = emu.control.state()["vod"]["videos"]
    assert len(videos) == 2
    assert "UPL-DUR-012" in caplog.text


def test_a_lost_initiate_answer_is_the_stated_residual(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path, caplog: Any
) -> None:
    """UPL-DUR-010: InitiateMultipartUpload opened an upload but its answer never came back.
    The upload id exists only in the lost answer and the upload credentials cannot list
    uploads, so the retry opens another: the file ends Success with its bytes, one empty
    upload stays open for the bucket's lifecycle rule, and a warning says so."""
    path = _source(sizes_dir, "lost-initiate.mp4")
    emu.control.add_fault(
        effect=Effect.drop_after_commit(),
        match=Match(operation="InitiateMultipartUpload"),
        times=1,
    )
    with caplog.at_level("WARNING", logger="vodref"):
        vod = make_vod()
        [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    [orphan] = open_uploads(emu)
    assert orphan["parts"] == [] and orphan["upload_id"] != view.upload_id
    assert "UPL-DUR-010" in caplog.text


def test_a_put_whose_answer_was_lost_is_not_sent_again(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UPL-DRV-012: PutObject landed but its answer never came back. The object is checked
    (HeadObject: size and CRC-64 of the bytes sent) and the file succeeds without sending
    them again, as an ambiguous Complete does (UPL-DRV-007). Before, the Put was retried:
    the finished video's object was written twice."""
    path = write_source(sizes_dir, "lost-put.mp4", 50_000, seed=5)
    emu.control.add_fault(
        effect=Effect.drop_after_commit(), match=Match(operation="PutObject"), times=1
    )
    vod = make_vod()
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    ops = operations(emu)
    assert ops.count("PutObject") == 1 and ops[-1] == "HeadObject", ops
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))


def test_a_put_that_never_landed_is_sent_again(
    emu: Any, make_vod: Any, root_transport: Any, sizes_dir: Path
) -> None:
    """UPL-DRV-012: the connection broke before the service stored anything: the check
    finds no object and the Put is sent again, as before."""
    path = write_source(sizes_dir, "reset-put.mp4", 50_000, seed=6)
    emu.control.add_fault(
        effect=Effect.reset_after_body(), match=Match(operation="PutObject"), times=1
    )
    vod = make_vod()
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    assert operations(emu).count("PutObject") == 2
