"""A result that happened is never hidden or redone: a Complete or Put that lands after its
file was stopped, and a Complete whose answer died with the process (UP-CANCEL-010,
UP-RESUME-012). The model is tests/support/core.py's in-memory OSS."""

from __future__ import annotations

from support.core import ScriptedDriver, crc_of, make_data, service_error

from vodref.core import (
    AbortMultipart,
    CompleteMultipart,
    DeleteCheckpoint,
    FileState,
    HeadObject,
    InitiateMultipart,
    ListParts,
    MultipartCompleted,
    ObjectHeaded,
    PauseFile,
    PutObject,
    RequestAuth,
    SaveCheckpoint,
    StartUpload,
    StopUpload,
    UploaderOptions,
    UploadPart,
)

PART = 102_400


def options(**kwargs: object) -> UploaderOptions:
    kwargs.setdefault("part_size", PART)
    return UploaderOptions(**kwargs)  # type: ignore[arg-type]


def completing(size: int = 3 * PART, **kwargs: object) -> tuple[ScriptedDriver, CompleteMultipart]:
    """A driver whose file 'f' has every part acknowledged and its Complete on the wire."""
    d = ScriptedDriver(options(**kwargs))
    d.add("f", make_data(size))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    while d.has(UploadPart):
        d.complete(d.take(UploadPart))
    complete = d.take(CompleteMultipart)
    assert isinstance(complete, CompleteMultipart)
    return d, complete


def test_a_complete_that_lands_after_a_stop_ends_the_file_in_success() -> None:
    """UP-CANCEL-010 UP-API-008 UP-DEV-025 UP-DEV-045"""
    d, complete = completing()
    d.send(StopUpload())
    assert d.state("f") == "Stopped"
    out = d.complete(complete)
    assert d.state("f") == "Success"
    assert "NotifySucceeded" in d.note_names()
    assert any(isinstance(c, DeleteCheckpoint) for c in out)
    view = d.core.file("f")
    assert view.bytes_done == view.size and view.crc64 == crc_of(d.sources["f"])
    assert len(d.model.videos) == 1


def test_a_put_that_lands_after_a_pause_ends_the_file_in_success() -> None:
    """UP-CANCEL-010 UP-API-015"""
    d = ScriptedDriver(options())
    d.add("s", make_data(1000))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    put = d.take(PutObject)
    d.send(PauseFile(file_id="s"))
    assert d.state("s") == "Stopped"
    d.complete(put)
    assert d.state("s") == "Success"
    assert d.note_names().count("NotifySucceeded") == 1


def test_a_part_that_lands_after_a_stop_is_saved_at_once() -> None:
    """UP-CANCEL-010 UP-CKPT-004: no flush timer runs for a stopped file, so a late part is
    not held back by checkpoint_interval."""
    d = ScriptedDriver(options(parallel=2, checkpoint_interval=60.0))
    d.add("f", make_data(4 * PART))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    first, second = d.take(UploadPart), d.take(UploadPart)
    d.complete(first)
    d.send(StopUpload())
    out = d.complete(second)
    saves = [c for c in out if isinstance(c, SaveCheckpoint)]
    assert saves and len(saves[-1].checkpoint.parts) == 2


def test_complete_goes_out_behind_a_barrier_save_naming_every_part() -> None:
    """UP-RESUME-012 UP-DUR-001"""
    d = ScriptedDriver(options(checkpoint_interval=60.0))
    d.add("f", make_data(3 * PART))
    d.send(StartUpload())
    d.complete(d.take(RequestAuth))
    d.complete(d.take(InitiateMultipart))
    while d.has(UploadPart):
        out = d.complete(d.take(UploadPart))
    kinds = [type(c) for c in out]
    assert CompleteMultipart in kinds
    save = out[kinds.index(CompleteMultipart) - 1]
    assert isinstance(save, SaveCheckpoint) and save.barrier
    assert [p.number for p in save.checkpoint.parts] == [1, 2, 3]


def _resumed_after_a_lost_complete(d: ScriptedDriver) -> tuple[ScriptedDriver, int]:
    """A new process resuming from the barrier save made before ``d``'s Complete."""
    barrier = [s for s in d.checkpoints if s.barrier][-1]
    resumed = ScriptedDriver(options(), model=d.model)
    resumed.add("f", d.sources["f"], checkpoint=barrier.checkpoint)
    resumed.send(StartUpload())
    resumed.complete(resumed.take(RequestAuth))
    parts_before = sum(isinstance(c, UploadPart) for c in resumed.log)
    return resumed, parts_before


def test_a_resume_after_a_complete_whose_answer_died_finds_the_object() -> None:
    """UP-RESUME-012 UP-RESUME-004 UP-DEV-044: the process died with the Complete's answer;
    the next one meets NoSuchUpload at ListParts, looks at the object, and ends Success
    sending nothing again (the upload is aborted for good measure; NoSuchUpload counts as
    done)."""
    d, complete = completing()
    d.success_of(complete)  # it landed on the server; the answer never reached the core
    resumed, parts_before = _resumed_after_a_lost_complete(d)
    resumed.fail(resumed.take(ListParts), service_error("NoSuchUpload", 404))
    head = resumed.take(HeadObject)
    resumed.complete(head)
    assert resumed.state("f") == "Success"
    resumed.run()
    assert sum(isinstance(c, UploadPart) for c in resumed.log) == parts_before == 0
    assert not any(isinstance(c, InitiateMultipart) for c in resumed.log)
    assert any(isinstance(c, AbortMultipart) for c in resumed.log)
    assert len(d.model.videos) == 1


def test_a_resume_whose_upload_vanished_without_a_complete_starts_over() -> None:
    """UP-RESUME-012 UP-RESUME-004: the object is not there (a lifecycle rule took the upload),
    so a new upload starts for the same video."""
    d, _complete = completing()
    d.model.uploads.clear()
    resumed, _ = _resumed_after_a_lost_complete(d)
    resumed.fail(resumed.take(ListParts), service_error("NoSuchUpload", 404))
    resumed.complete(resumed.take(HeadObject))  # NoSuchKey
    assert resumed.has(InitiateMultipart)
    resumed.run()
    assert resumed.state("f") == "Success" and len(d.model.videos) == 1


def test_a_resume_that_finds_other_bytes_at_the_key_starts_over() -> None:
    """UP-RESUME-012 UP-RESUME-006: an object of the right size but another CRC-64 is not ours."""
    d, _complete = completing()
    d.model.uploads.clear()
    resumed, _ = _resumed_after_a_lost_complete(d)
    resumed.fail(resumed.take(ListParts), service_error("NoSuchUpload", 404))
    head = resumed.take(HeadObject)
    resumed.send(ObjectHeaded(command_id=head.command_id, size=3 * PART, server_crc64=1))
    assert resumed.core.file("f").state is FileState.UPLOADING
    assert resumed.has(InitiateMultipart)
    resumed.run()
    assert resumed.state("f") == "Success"


def test_a_stop_while_the_object_is_checked_keeps_the_claimed_parts() -> None:
    """UP-RESUME-012: the check runs before the listing's parts are believed, so a save made
    meanwhile still names them, and the next run can check again."""
    d, complete = completing()
    d.success_of(complete)
    resumed, _ = _resumed_after_a_lost_complete(d)
    resumed.fail(resumed.take(ListParts), service_error("NoSuchUpload", 404))
    assert resumed.has(HeadObject)
    resumed.send(StopUpload())
    saved = resumed.core.checkpoint("f")
    assert saved is not None and [p.number for p in saved.parts] == [1, 2, 3]


def test_a_stopped_file_keeps_a_complete_with_a_bad_crc_unbelieved() -> None:
    """UP-CANCEL-010 UP-CRC-002: only an object with the expected CRC-64 ends the file."""
    d, complete = completing()
    d.send(StopUpload())
    d.send(
        MultipartCompleted(command_id=complete.command_id, server_crc64=complete.expected_crc64 ^ 1)
    )
    assert d.state("f") == "Stopped"
