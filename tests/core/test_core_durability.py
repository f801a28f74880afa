"""Issue 14 on the pure core: barrier saves before the requests that depend on them, and
aborting what a fresh start abandons. The model is tests/support/core.py's in-memory OSS."""

from __future__ import annotations

import pytest
from support.core import ScriptedDriver, make_data, service_error

from vodref.core import (
    AbortMultipart,
    AddFile,
    CancelFile,
    Checkpoint,
    CompleteMultipart,
    FileState,
    HeadObject,
    InitiateMultipart,
    InvalidEventError,
    MediaKind,
    NotifyProgress,
    ObjectTarget,
    PutObject,
    RequestAuth,
    ResumeFile,
    SaveCheckpoint,
    StartUpload,
    UploaderOptions,
    UploadPart,
)

PART = 102_400


def _driver(interval: float = 0.0) -> ScriptedDriver:
    return ScriptedDriver(UploaderOptions(part_size=PART, parallel=2, checkpoint_interval=interval))


def _index(commands: list[object], kind: type) -> int:
    return next(i for i, c in enumerate(commands) if isinstance(c, kind))


@pytest.mark.parametrize("interval", [0.0, 5.0])
def test_new_names_are_saved_as_barriers_before_the_requests_that_use_them(
    interval: float,
) -> None:
    """UP-DUR-001 UP-DUR-002: the VideoId's save is a barrier emitted before Initiate; the
    upload id's save is a barrier emitted before its progress and its first part, whatever
    the checkpoint interval; saves that only add parts are not barriers."""
    d = _driver(interval)
    d.add("f", make_data(4 * PART))
    d.send(StartUpload())
    granted = d.complete(d.take(RequestAuth))
    save = granted[_index(granted, SaveCheckpoint)]
    assert isinstance(save, SaveCheckpoint) and save.barrier
    assert save.checkpoint.video_id is not None and save.checkpoint.upload_id is None
    assert _index(granted, SaveCheckpoint) < _index(granted, InitiateMultipart)
    initiated = d.complete(d.take(InitiateMultipart))
    save = initiated[_index(initiated, SaveCheckpoint)]
    assert isinstance(save, SaveCheckpoint) and save.barrier and save.checkpoint.upload_id
    assert _index(initiated, SaveCheckpoint) < _index(initiated, NotifyProgress)
    assert _index(initiated, SaveCheckpoint) < _index(initiated, UploadPart)
    part_saves = [c for c in d.complete(d.take(UploadPart)) if isinstance(c, SaveCheckpoint)]
    assert all(not c.barrier for c in part_saves)


def test_small_files_save_the_video_before_the_put() -> None:
    """UP-DUR-001: a single PUT depends on the VideoId too."""
    d = _driver()
    d.add("f", make_data(1000))
    d.send(StartUpload())
    granted = d.complete(d.take(RequestAuth))
    assert _index(granted, SaveCheckpoint) < _index(granted, PutObject)
    assert granted[_index(granted, SaveCheckpoint)].barrier  # type: ignore[attr-defined]


def test_after_a_cancel_the_video_is_saved_again_as_a_barrier() -> None:
    """UP-DUR-001: a cancel deletes the checkpoint; the next save names the video again."""
    d = _driver()
    d.add("f", make_data(4 * PART))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    d.send(CancelFile(file_id="f"))
    d.send(ResumeFile(file_id="f"))
    d.checkpoints.clear()
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    assert d.checkpoints and d.checkpoints[-1].barrier


def _checkpoint(data: bytes, fingerprint: str, target: ObjectTarget) -> Checkpoint:
    return Checkpoint(
        file_name="f.mp4",
        file_size=len(data),
        fingerprint=fingerprint,
        media_kind=MediaKind.VIDEO,
        video_id="vid-old",
        target=target,
        upload_id=None,
        part_size=PART,
    )


def test_a_stale_upload_is_aborted_with_the_first_credentials() -> None:
    """UP-DUR-004: the upload a fresh start abandons is aborted once the file has
    credentials for its target; the video is reused."""
    d = _driver()
    data = make_data(3 * PART)
    target = d.model.address("vid-old")
    stale = d.model.initiate(target.key)
    fingerprint = "fp-stale"
    d.feed(
        d.core.handle(
            AddFile(
                file_id="f",
                name="f.mp4",
                size=len(data),
                fingerprint=fingerprint,
                checkpoint=_checkpoint(data, fingerprint, target),
                stale_upload_id=stale,
            ),
            now=d.now,
        )
    )
    d.sources["f"] = data
    d.send(StartUpload())
    auth = d.take(RequestAuth)
    assert isinstance(auth, RequestAuth) and auth.video_id == "vid-old"
    d.complete(auth)
    abort = d.take(AbortMultipart)
    assert isinstance(abort, AbortMultipart) and abort.upload_id == stale
    d.complete(abort)
    d.run()
    assert d.state("f") == "Success"
    assert d.model.uploads == {}


def test_a_stale_upload_needs_a_checkpoint_with_a_target() -> None:
    """UP-DUR-004: misuse raises before anything changes."""
    with pytest.raises(InvalidEventError):
        AddFile(file_id="f", name="f.mp4", size=5, fingerprint="x", stale_upload_id="u")


def test_head_after_a_lost_complete_aborts_the_current_upload() -> None:
    """UP-DUR-004: when HeadObject finds the object after an ambiguous Complete, the
    current upload is aborted (NoSuchUpload if it had completed), so nothing stays open."""
    d = _driver()
    d.add("f", make_data(2 * PART))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    d.complete(d.take(UploadPart))
    d.complete(d.take(UploadPart))
    complete = d.take(CompleteMultipart)
    assert isinstance(complete, CompleteMultipart)
    d.apply_then_fail(complete)
    d.fail(d.until(CompleteMultipart), service_error("NoSuchUpload", 404))
    d.complete(d.take(HeadObject))
    assert d.state("f") == "Success"
    abort = d.take(AbortMultipart)
    assert isinstance(abort, AbortMultipart) and abort.upload_id == complete.upload_id


def test_a_video_made_for_a_file_canceled_meanwhile_is_kept_for_its_resume() -> None:
    """UP-CANCEL-009: the driver state machine found it under load. The CreateUploadVideo
    is on the wire when the file is canceled; it makes a video. The answer used to be
    dropped, so a resume asked for a new video: two videos for one file in one process,
    the first left Uploading. The resume now refreshes the one already made."""
    d = _driver()
    d.add("f", make_data(1000))
    d.send(StartUpload())
    on_the_wire = d.take(RequestAuth)
    d.send(CancelFile(file_id="f"))
    d.complete(on_the_wire)  # the video exists now
    [made] = d.model.videos
    [view] = d.core.files()
    assert view.video_id == made
    d.send(ResumeFile(file_id="f"))
    d.send(StartUpload())
    again = d.take(RequestAuth)
    assert isinstance(again, RequestAuth) and again.video_id == made
    d.complete(again)
    d.complete(d.take(PutObject))
    [view] = d.core.files()
    assert view.state is FileState.SUCCESS and view.video_id == made
    assert list(d.model.videos) == [made]
